"""Connection limits for uvicorn: a client must send its request headers within a deadline.

uvicorn (h11) waits forever for the headers of a new request: 1,500 connections trickling a
header byte now and then stayed open indefinitely and each held a socket and memory. This
protocol starts a timer when a connection opens (and again when it waits for the next request
on a kept-alive connection) and closes the connection when the headers have not all arrived in
time. The app belongs behind a proxy all the same (docs/deploy.md); this is the floor.
"""

from __future__ import annotations

import asyncio
import logging

from uvicorn.protocols.http.h11_impl import H11Protocol

log = logging.getLogger("contactbot.http")

# Connections open at once (beyond it uvicorn answers 503 at once instead of queueing).
LIMIT_CONCURRENCY = 1000
TIMEOUT_KEEP_ALIVE = 5


class HeaderTimeoutProtocol(H11Protocol):
    """h11 with a deadline for the request line and headers (`header_timeout` seconds)."""

    header_timeout: float = 10.0

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._header_timer: asyncio.TimerHandle | None = None
        self._start_header_timer()

    def _start_header_timer(self) -> None:
        self._cancel_header_timer()
        self._header_timer = self.loop.call_later(self.header_timeout, self._headers_too_slow)

    def _cancel_header_timer(self) -> None:
        if getattr(self, "_header_timer", None) is not None:
            self._header_timer.cancel()  # type: ignore[union-attr]
            self._header_timer = None

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        if self.cycle is not None and not self.cycle.response_complete:
            self._cancel_header_timer()  # a request is under way: its headers are complete

    def on_response_complete(self) -> None:
        super().on_response_complete()
        if not self.transport.is_closing():
            self._start_header_timer()  # the next request on this connection gets the same deadline

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_header_timer()
        super().connection_lost(exc)

    def _headers_too_slow(self) -> None:
        self._header_timer = None
        if self.cycle is not None and not self.cycle.response_complete:
            return
        if not self.transport.is_closing():
            log.info("closing a connection that did not send its request headers in time")
            self.transport.close()


def protocol(header_timeout: float) -> type[HeaderTimeoutProtocol]:
    """The protocol class for uvicorn's `http=` with this deadline."""
    return type("HeaderTimeout", (HeaderTimeoutProtocol,), {"header_timeout": header_timeout})
