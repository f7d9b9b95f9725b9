"""Start and stop of the web process: SIGTERM stops new work, lets work in flight finish, exits in bounded time.

Order on SIGTERM (or Ctrl-C): Socket Mode disconnects and uvicorn closes its listening socket at
once (no new work); HTTP requests in flight get up to half the grace period; then Bolt's listener
threads (lazy listeners answering earlier clicks) get the rest. Whatever is still running at the
deadline is abandoned with a log line naming how much, and the process exits anyway, so an
orchestrator's SIGKILL never has to.
"""

from __future__ import annotations

import contextvars
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, wait
from typing import TYPE_CHECKING, Any

import uvicorn

from bot.web import http_limits

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger("contactbot.lifecycle")


class TrackedExecutor(Executor):
    """Wraps one of Bolt's listener pools: runs each task in the submitter's context (so its log
    lines keep the request id) and knows which tasks are unfinished, so shutdown can wait for them
    with a timeout (a plain pool can only wait forever or not at all)."""

    def __init__(self, inner: Executor) -> None:
        self.inner = inner
        self._pending: set[Future[Any]] = set()
        self._lock = threading.Lock()

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        context = contextvars.copy_context()
        future = self.inner.submit(context.run, fn, *args, **kwargs)
        with self._lock:
            self._pending.add(future)
        future.add_done_callback(self._forget)
        return future

    def _forget(self, future: Future[Any]) -> None:
        with self._lock:
            self._pending.discard(future)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self.inner.shutdown(wait=wait, cancel_futures=cancel_futures)

    def unfinished(self) -> set[Future[Any]]:
        with self._lock:
            return set(self._pending)


def instrument(bolt: App) -> list[TrackedExecutor]:
    """Wrap the pools Bolt runs acks and lazy listeners on (one pool or two, whatever app.py chose)."""
    runner = bolt.listener_runner
    wrapped: dict[int, TrackedExecutor] = {}

    def wrap(executor: Executor) -> TrackedExecutor:
        if isinstance(executor, TrackedExecutor):
            return executor
        return wrapped.setdefault(id(executor), TrackedExecutor(executor))

    runner.listener_executor = wrap(runner.listener_executor)
    lazy = runner.lazy_listener_runner
    if hasattr(lazy, "executor"):
        lazy.executor = wrap(lazy.executor)
    if hasattr(lazy, "jobs"):  # long jobs' own pool (handlers/jobs.py): drained last, after the lazy listeners
        lazy.jobs = wrap(lazy.jobs)
    return list(
        {
            id(e): e
            for e in (runner.listener_executor, getattr(lazy, "executor", None), getattr(lazy, "jobs", None))
            if isinstance(e, TrackedExecutor)
        }.values()
    )


def drain(executors: list[TrackedExecutor], timeout: float) -> int:
    """Refuse new tasks, wait up to `timeout` s for those queued or running; returns how many did not finish.

    Acks are drained first: an ack may still hand a lazy listener to the other pool."""
    deadline = time.monotonic() + max(timeout, 0)
    not_done: set[Future[Any]] = set()
    for executor in executors:
        while pending := executor.unfinished():  # a running ack may still add a lazy task: look again
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                not_done |= pending
                break
            wait(pending, timeout=remaining)
        executor.shutdown(wait=False)
    return len(not_done)


class _Server(uvicorn.Server):
    """uvicorn, plus a hook that runs the moment a stop signal arrives."""

    def __init__(self, config: uvicorn.Config, on_stop: Callable[[], None]) -> None:
        super().__init__(config)
        self.on_stop = on_stop
        self.stop_requested_at: float | None = None

    def handle_exit(self, sig: int, frame: Any) -> None:
        if self.stop_requested_at is None:
            self.stop_requested_at = time.monotonic()
            log.info("stopping: %s received, no new work is taken", signal.Signals(sig).name)
            self.on_stop()
        super().handle_exit(sig, frame)

    async def startup(self, sockets: list[Any] | None = None) -> None:
        """Log the address really bound: with `--port 0` the kernel picks a free port, and whoever started us
        (a supervisor, the test suite) reads it from this line; no port can be taken between choosing and binding."""
        await super().startup(sockets)
        for server in getattr(self, "servers", []):
            for sock in server.sockets:
                host, port = sock.getsockname()[:2]
                log.info("listening on http://%s:%d", host, port)


def serve(
    asgi: Any,
    host: str,
    port: int,
    *,
    grace: float,
    executors: list[TrackedExecutor],
    socket_handler: Any = None,
    on_stop: Sequence[Callable[[], None]] = (),
    header_timeout: float = 10.0,
) -> int:
    """Run the HTTP server until SIGTERM/SIGINT, then shut down within `grace` seconds; returns the exit code.

    `on_stop` callbacks (e.g. telling an in-process sender to stop claiming work) run on a thread
    the moment the signal arrives."""

    def stop_new_work() -> None:
        # closing a websocket may block briefly: not in the signal handler
        stoppers = [*on_stop, *([lambda: _close_quietly(socket_handler)] if socket_handler is not None else [])]
        for stopper in stoppers:
            threading.Thread(target=stopper, daemon=True).start()

    config = uvicorn.Config(
        asgi,
        host=host,
        port=port,
        log_config=None,
        log_level="warning",
        timeout_graceful_shutdown=max(1, int(grace / 2)),
        # Slow or never-finished headers are cut off; open connections are bounded (bot/web/http_limits.py).
        http=http_limits.protocol(header_timeout),
        timeout_keep_alive=http_limits.TIMEOUT_KEEP_ALIVE,
        limit_concurrency=http_limits.LIMIT_CONCURRENCY,
    )
    server = _Server(config, stop_new_work)
    # uvicorn re-raises the stop signal after it returns; with the default handlers that would kill
    # the process before the listener threads are drained, so the re-raised signal is ignored here.
    previous = {sig: signal.signal(sig, lambda *_: None) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        server.run()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        if socket_handler is not None:
            _close_quietly(socket_handler)
    deadline = (server.stop_requested_at or time.monotonic()) + grace
    unfinished = drain(executors, deadline - time.monotonic())
    if unfinished:
        log.warning("stopped with %d listener task(s) unfinished after %.0f s", unfinished, grace)
        logging.shutdown()
        os._exit(1)  # their threads cannot be interrupted; waiting for them would break the bound
    log.info("stopped cleanly")
    return 0


def _close_quietly(socket_handler: Any) -> None:
    try:
        socket_handler.close()
    except Exception as exc:  # already closed, or the connection is gone: nothing left to stop
        log.debug("socket mode close: %s", type(exc).__name__)
