"""The sending process: `contactbot worker`, or threads inside `contactbot serve` (unless --no-scheduler).

Wiring only: it builds the runner, the Slack progress reporter and the scheduler. A long-running worker
also consumes the WhatsApp webhook inbox, like every web process (on PostgreSQL consumers skip each
other's rows), so the inbox drains while the web processes spend their time answering.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.base import BaseScheduler

from bot.config.settings import Settings
from bot.services import webhook_inbox
from bot.services.broadcasts.scheduler import start_scheduler
from bot.services.broadcasts.sender import Progress, Runner
from handlers.clients.live_report import SlackReporter
from handlers.clients.web_api import web_client
from storage.db import Engine

log = logging.getLogger(__name__)


def progress_reporter(settings: Settings, engine: Engine) -> Progress | None:
    """Live report messages in Slack, when the app has a bot token."""
    if not settings.slack_bot_token:
        return None
    return SlackReporter(web_client(settings), engine, settings)


@dataclass
class Sending:
    runner: Runner
    scheduler: BaseScheduler

    def stop(self) -> None:
        """Sends in flight finish and are recorded; the lease is released for the next process."""
        self.runner.stopping.set()
        self.scheduler.shutdown(wait=True)


def start_sending(settings: Settings, engine: Engine) -> Sending:
    runner = Runner(settings, engine, progress_reporter(settings, engine))
    return Sending(runner, start_scheduler(settings, engine, runner))


def run_worker(settings: Settings, engine: Engine, once: bool = False, scheduler: bool = True) -> int:
    if once:
        reporter = progress_reporter(settings, engine)
        Runner(settings, engine, reporter).run_forever(poll=0.2, until_idle=True)
        if isinstance(reporter, SlackReporter):
            reporter.flush()  # the report's last redraw runs on the reporter's thread: let it go out
        return 0
    stop = threading.Event()

    def on_signal(*_: Any) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    consumer = webhook_inbox.Consumer(engine, settings)
    consumer.start()
    try:
        return _run(settings, engine, stop, scheduler)
    finally:
        consumer.stop()


def _run(settings: Settings, engine: Engine, stop: threading.Event, scheduler: bool) -> int:
    if scheduler:
        sending = start_sending(settings, engine)
        log.info("worker: scheduler running")
        stop.wait()
        sending.stop()
        return 0
    runner = Runner(settings, engine, progress_reporter(settings, engine))
    log.info("worker: polling the database")

    def relay_stop() -> None:
        stop.wait()
        runner.stopping.set()

    threading.Thread(target=relay_stop, daemon=True).start()
    runner.run_forever(poll=2.0)
    return 0
