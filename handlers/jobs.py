"""Long jobs (CSV preview, import apply, export, broadcast report CSV) run on their own small pool.

Bolt runs every lazy listener on one pool; with a few CSV previews running there, a click that only opens a modal
or redraws a list waited seconds behind them, and the modal came after its trigger_id had expired (Slack's trigger
lives 3 s). A lazy listener marked `@long_job` goes to the job pool instead (few workers: these jobs are CPU- and
database-heavy, and more of them at once only slow each other down); everything else stays on the interactive pool.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from logging import Logger
from typing import Any, TypeVar

from slack_bolt.lazy_listener.internals import build_runnable_function
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_bolt.request import BoltRequest

F = TypeVar("F", bound=Callable[..., Any])
JOB_WORKERS = 2


def long_job(function: F) -> F:
    """Mark a lazy listener as a long job: it runs on the job pool, never in front of interactive work."""
    function.long_job = True  # type: ignore[attr-defined]
    return function


class JobAwareLazyRunner(ThreadLazyListenerRunner):
    """Bolt's thread runner with a second pool (`jobs`) for listeners marked `@long_job`."""

    def __init__(self, logger: Logger, executor: Executor, jobs: Executor) -> None:
        super().__init__(logger=logger, executor=executor)
        self.jobs = jobs

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        pool = self.jobs if getattr(function, "long_job", False) else self.executor
        pool.submit(build_runnable_function(func=function, logger=self.logger, request=request))
