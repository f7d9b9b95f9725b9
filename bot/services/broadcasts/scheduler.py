"""APScheduler 3 in the app's own database: scheduled broadcasts survive restarts.

Two kinds of jobs: a `pump` every few seconds (in memory: each process runs its own) that starts
due broadcasts and resumes running ones after a crash; and one date job per scheduled broadcast
in the SQLAlchemy job store, which wakes the pump at the exact time. The broadcast row stays the
truth: the pump also starts a due `scheduled` row whose job was lost, and the guarded start in
storage makes a job that fires in two processes harmless.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from datetime import datetime
from typing import Any, Protocol

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler

from bot.config.settings import Settings
from storage.db import Engine


class Pump(Protocol):
    """What the scheduler drives: the sender's `Runner` (named by its shape, so the service that
    stores wake-up jobs does not import the sender, which imports the service)."""

    def pump(self) -> int: ...


log = logging.getLogger(__name__)
PUMP_SECONDS = 2.0
_current: Pump | None = None  # the process's runner, for jobs loaded from the database
_pump_lock = threading.Lock()


def job_id(broadcast_id: int) -> str:
    return f"broadcast-start-{broadcast_id}"


def pump() -> None:
    """Start due broadcasts and send running ones; one pass at a time per process."""
    if _current is None or not _pump_lock.acquire(blocking=False):
        return
    try:
        _current.pump()
    except Exception:  # keep the scheduler alive; the next pass tries again
        log.exception("broadcast pump failed")
    finally:
        _pump_lock.release()


def wake(broadcast_id: int) -> None:
    """The date job of a scheduled broadcast: the pump starts it (a module-level function, so it pickles)."""
    log.info("scheduled broadcast %s is due", broadcast_id)
    pump()


class SharedJobStore(SQLAlchemyJobStore):
    """The job table shared by several processes: a job another scheduler already ran and removed is
    no error. (APScheduler raises JobLookupError from its main loop then, and that kills the scheduler
    thread: the process would never pump again. Both processes fire a date job at the same moment.)"""

    def remove_job(self, job_id: str) -> None:
        with contextlib.suppress(JobLookupError):
            super().remove_job(job_id)

    def update_job(self, job: Any) -> None:
        with contextlib.suppress(JobLookupError):
            super().update_job(job)


def _scheduler(engine: Engine) -> BackgroundScheduler:
    return BackgroundScheduler(
        jobstores={"default": SharedJobStore(engine=engine), "memory": MemoryJobStore()},
        executors={"default": ThreadPoolExecutor(2)},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
        timezone="UTC",
    )


def start_scheduler(settings: Settings, engine: Engine, runner: Pump) -> BackgroundScheduler:
    global _current
    _current = runner
    sched = _scheduler(engine)
    sched.start()
    sched.add_job(
        pump,
        "interval",
        seconds=PUMP_SECONDS,
        id="broadcast-pump",
        jobstore="memory",
        replace_existing=True,
        next_run_time=datetime.now().astimezone(),
    )
    return sched


def schedule(engine: Engine, broadcast_id: int, when: datetime) -> None:
    """Persist the wake-up job from any process (CLI, web) without running a scheduler there."""
    sched = _scheduler(engine)
    sched.start(paused=True)
    try:
        sched.add_job(wake, "date", run_date=when, args=[broadcast_id], id=job_id(broadcast_id), replace_existing=True)
    finally:
        sched.shutdown(wait=False)


def unschedule(engine: Engine, broadcast_id: int) -> None:
    sched = _scheduler(engine)
    sched.start(paused=True)
    try:
        sched.remove_job(job_id(broadcast_id))
    except JobLookupError:
        pass
    finally:
        sched.shutdown(wait=False)
