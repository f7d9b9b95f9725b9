"""Slack's request signature, checked on the raw bytes before Bolt sees a request, and replays refused.

Bolt verifies too, but only after it has parsed the body, and a failure there raised into the
global error handler, which answered the unverified body's `response_url`. Here a request is
judged on the wire: the body is read with a bounded reader (413 as soon as it passes the limit),
the timestamp must be a plain number within five minutes of our clock, the `v0=` HMAC-SHA256 of
`v0:<timestamp>:<body>` must match (constant-time), and anything else is 401 before any parsing.

A signed request is accepted once: its (timestamp, signature) is claimed in `processed_event`
(shared by every web process) for the five-minute window, so a captured click replayed within
the window is answered 200 without acting. Slack's own retries of an event carry a new
timestamp and signature and keep their event-id deduplication.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from datetime import timedelta

from storage.db import Engine, SQLAlchemyError
from storage.idempotency import claim, forget_older

log = logging.getLogger("contactbot.http")

MAX_BODY = 1_000_000  # Slack's requests are a few KB; a file's content never comes in a request
WINDOW_SECONDS = 300  # Slack's own rule: refuse signatures older than five minutes
REPLAY_PREFIX = "slack-sig:"
PRUNE_EVERY_SECONDS = 60.0
_MAX_TIMESTAMP_DIGITS = 12


def expected(secret: str, timestamp: str, body: bytes) -> str:
    """`v0=<hex>`: Slack's signature of the raw bytes."""
    base = b"v0:" + timestamp.encode("ascii") + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def problem(secret: str, body: bytes, timestamp: str | None, signature: str | None, now: float) -> str | None:
    """None when Slack signed these bytes within the window; else a short reason (never the body)."""
    if not secret:
        return "no signing secret configured"
    if not timestamp or not signature:
        return "signature or timestamp missing"
    if not (timestamp.isascii() and timestamp.isdigit()) or len(timestamp) > _MAX_TIMESTAMP_DIGITS:
        return "timestamp malformed"
    if abs(now - int(timestamp)) > WINDOW_SECONDS:
        return "timestamp outside the five-minute window"
    wanted = expected(secret, timestamp, body).encode()
    if not hmac.compare_digest(wanted, signature.strip().encode("utf-8", "replace")):
        return "signature wrong"
    return None


class ReplayGuard:
    """Remembers accepted signatures in the database for the window; prunes older ones now and then."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._lock = threading.Lock()
        self._pruned_at = 0.0

    def first_time(self, timestamp: str, signature: str) -> bool:
        """True the first time this signed request is seen by any process (blocking: call off the loop).

        A database that cannot be reached does not turn Slack away here: nothing can be changed
        without it, and the listener tells the user it failed."""
        self._maybe_prune()
        try:
            return claim(self.engine, f"{REPLAY_PREFIX}{timestamp}:{signature.strip()[:120]}")
        except SQLAlchemyError as exc:
            log.warning("slack: replay check unavailable (%s)", type(exc).__name__)
            return True

    def _maybe_prune(self) -> None:
        now = time.monotonic()
        with self._lock:
            if now - self._pruned_at < PRUNE_EVERY_SECONDS:
                return
            self._pruned_at = now
        try:
            forget_older(self.engine, REPLAY_PREFIX, timedelta(seconds=2 * WINDOW_SECONDS))
        except SQLAlchemyError as exc:
            log.warning("slack: pruning old signatures failed (%s)", type(exc).__name__)
