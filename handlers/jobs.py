"""Long jobs (CSV preview, import apply, export, broadcast report CSV) run on their own small, bounded queue.

Bolt runs every lazy listener on one pool; with a few CSV previews running there, a click that only opens a modal
or redraws a list waited seconds behind them, and the modal came after its trigger_id had expired (Slack's trigger
lives 3 s). A lazy listener marked `@long_job` goes to the job queue instead (few workers: these jobs are CPU- and
database-heavy, and more of them at once only slow each other down); everything else stays on the interactive pool.

The queue is bounded (JOB_WORKERS running + JOB_WAITING waiting): an unbounded one turned a burst of uploads into
jobs that started half an hour later, long after their user had given up, each still holding its memory. When it
is full, the job is not started and its user is told so, specifically (which file, import or export; that nothing
changed; what to do), by the job's `busy` answer, run on the interactive pool. Nothing is claimed before a job
starts (a preview claims its file id inside the job), so a refused one can simply be asked for again.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from logging import Logger
from typing import Any, TypeVar

from slack_bolt import BoltContext
from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient

from bot.i18n import t
from handlers.context import ephemeral, lang

F = TypeVar("F", bound=Callable[..., Any])
JOB_WORKERS = 2
JOB_WAITING = 6  # queued behind the running ones; one more is refused with a clear answer
log = logging.getLogger(__name__)


class JobQueueFull(RuntimeError):
    """Every worker is busy and the waiting line is full."""


class JobQueue(Executor):
    """A thread pool with a bounded waiting line: `submit` raises JobQueueFull instead of queueing without end."""

    def __init__(self, workers: int = JOB_WORKERS, waiting: int = JOB_WAITING) -> None:
        self.workers, self.waiting = workers, waiting
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="job")
        self._slots = threading.BoundedSemaphore(workers + waiting)
        self._lock = threading.Lock()
        self._taken = 0

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if not self._slots.acquire(blocking=False):
            raise JobQueueFull
        with self._lock:
            self._taken += 1
        try:
            future = self._pool.submit(fn, *args, **kwargs)
        except BaseException:
            self._free(None)
            raise
        future.add_done_callback(self._free)
        return future

    def _free(self, _: object) -> None:
        with self._lock:
            self._taken -= 1
        self._slots.release()

    def load(self) -> tuple[int, int]:
        """(running, waiting) right now."""
        with self._lock:
            taken = self._taken
        return min(taken, self.workers), max(taken - self.workers, 0)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def long_job(kind: str, busy: Callable[..., None] | None = None) -> Callable[[F], F]:
    """Mark a lazy listener as a long job of `kind` (preview, import, export, report): it runs on the job queue,
    never in front of interactive work. `busy` (a Bolt-style listener, like the job) answers when the queue is
    full; without one, the user hears `jobs.busy.<kind>` at the interaction's response_url."""

    def mark(function: F) -> F:
        function.long_job = kind  # type: ignore[attr-defined]
        function.when_busy = busy  # type: ignore[attr-defined]
        return function

    return mark


def busy_text(kind: str, language: str, load: tuple[int, int], **values: Any) -> str:
    running, waiting = load
    return t(f"jobs.busy.{kind}", language, running=running, waiting=waiting, **values)


def tell_busy(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Any) -> None:
    """The default answer when the queue is full: ephemerally, where the click came from."""
    kind, load = context["busy_job"]
    text = busy_text(kind, lang(context, client), load)
    if respond is not None:
        respond(**ephemeral(text))
    elif context.user_id:  # no response_url: the user's DM
        client.chat_postMessage(channel=str(context.user_id), text=text)


class JobAwareLazyRunner(ThreadLazyListenerRunner):
    """Bolt's thread runner with a second, bounded queue (`jobs`) for listeners marked `@long_job`."""

    def __init__(self, logger: Logger, executor: Executor, jobs: Executor) -> None:
        super().__init__(logger=logger, executor=executor)
        self.jobs = jobs

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        kind = getattr(function, "long_job", None)
        if not kind:
            self.executor.submit(build_runnable_function(func=function, logger=self.logger, request=request))
            return
        try:
            self.jobs.submit(build_runnable_function(func=function, logger=self.logger, request=request))
        except JobQueueFull:
            load = self.load()
            log.warning("job queue full (%d running, %d waiting): %s refused", *load, kind)
            request.context["busy_job"] = (kind, load)
            answer = getattr(function, "when_busy", None) or tell_busy
            self.executor.submit(build_runnable_function(func=answer, logger=self.logger, request=request))

    def load(self) -> tuple[int, int]:
        jobs = getattr(self.jobs, "inner", self.jobs)  # bot/web/lifecycle.py wraps the queue to track it
        return jobs.load() if isinstance(jobs, JobQueue) else (0, 0)
