"""The WhatsApp webhook inbox: answer Meta at once, apply what it sent in batches.

A broadcast at R messages/s makes Meta send ~3R status webhooks, mostly one per request. Applied
inline, each cost four freshly built statements and a commit (~3-6 ms of CPU), so the webhook
route, not the database, set the ceiling. Now the route only stores the body (`accept`) and a
`Consumer` thread in every web process applies the inbox in batches: one transaction, the same
effects as before (`inbound.apply_in`), customer messages before statuses. Any number of
processes may consume at once (storage/webhook_inbox.py explains why nothing is lost or doubled).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.config.settings import Settings
from bot.services import account_events, inbound
from storage import webhook_inbox as store
from storage.db import DataError, Engine, IntegrityError, OperationalError, session_scope

log = logging.getLogger(__name__)

BATCH = 500  # bodies per transaction: big enough to amortise the statements, small enough to hold locks briefly
IDLE_WAIT = 0.5  # s between looks at an empty inbox (another process's route may have filled it)
PACE = 0.1  # s at least between the starts of two partial batches: fewer, fuller batches cost less per item
ERROR_WAIT = 1.0  # s before trying again after the database failed


@dataclass(frozen=True)
class Arrival:
    """What the route needs to know of a body, read in one walk over its changes (the consumer parses it
    fully later): where it goes in the inbox, whether it carries account-level changes (applied at once),
    and how many changes are for another number of the business account (counted in metrics)."""

    priority: int = store.STATUSES
    account: bool = False
    other_number: int = 0


def arrival(payload: Any, settings: Settings | None) -> Arrival:
    """One walk over `entry[].changes[]`: CUSTOMER when a change of ours carries customer messages or
    opt-outs (applied before statuses), else STATUSES. Without settings every number counts as ours."""
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return Arrival()
    rank, account, other = store.STATUSES, False, 0
    for entry in payload.get("entry") or ():
        for change in (entry.get("changes") or ()) if isinstance(entry, dict) else ():
            value = change.get("value") if isinstance(change, dict) else None
            if not isinstance(value, dict):
                continue
            account = account or change.get("field") in account_events.FIELDS
            if settings is not None and not inbound.ours(value, settings):
                other += 1
            elif "messages" in value or "user_preferences" in value:
                rank = store.CUSTOMER
    return Arrival(rank, account, other)


def priority(payload: Any, settings: Settings | None = None) -> int:
    """CUSTOMER when the body carries customer messages or opt-outs, else STATUSES (applied after them)."""
    return arrival(payload, settings).priority


def accept(engine: Engine, bodies: Sequence[tuple[bytes, int]]) -> None:
    """Store webhook bodies (raw bytes, priority) for the consumers; one insert for all of them."""
    store.add(engine, bodies)


@dataclass
class Applied:
    """What one call of `apply_pending` did (counted so a test can see nothing was applied twice)."""

    bodies: int = 0
    stored: int = 0
    duplicates: int = 0
    statuses: int = 0


def _parse(body: bytes, settings: Settings) -> inbound.Batch:
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):  # the route refused non-JSON; only a hand-made row gets here
        log.warning("webhook inbox: a stored body is not JSON; dropped")
        return inbound.Batch()
    return inbound.parse_meta(payload, settings)


def _merge(batches: Sequence[inbound.Batch]) -> inbound.Batch:
    merged = inbound.Batch()
    for b in batches:
        merged.messages += b.messages
        merged.statuses += b.statuses
        merged.opt_outs += b.opt_outs
        merged.skipped += b.skipped
        merged.ignored += b.ignored
    return merged


class _Rejected(Exception):
    """The database refused the merged batch: roll back, then apply its bodies one by one."""


def apply_pending(engine: Engine, settings: Settings, limit: int = BATCH) -> Applied:
    """Take up to `limit` waiting bodies and apply them in one transaction; the rows leave the inbox
    only if it commits. A batch the database rejects (a constraint nobody foresaw) is retried body by
    body, and a body that still fails item by item, so one bad item never blocks the inbox."""
    done = Applied()
    if not store.any_waiting(engine):
        return done
    try:
        with session_scope(engine) as session:
            rows = store.take(session.connection(), limit)
            if not rows:
                return done
            batch = _merge([_parse(body, settings) for _, body in rows])
            try:
                outcome, early = inbound.apply_in(session, batch.messages, batch.opt_outs, batch.statuses, "whatsapp")
            except (IntegrityError, DataError) as exc:
                raise _Rejected([i for i, _ in rows]) from exc
    except _Rejected as rejected:
        log.warning("webhook inbox: batch rejected by the database; applying its bodies one by one")
        for inbox_id in rejected.args[0]:
            part = _apply_one(engine, settings, inbox_id)
            for name in vars(done):
                setattr(done, name, getattr(done, name) + getattr(part, name))
        return done
    inbound.settle_early(engine, early)
    done.bodies, done.stored, done.duplicates, done.statuses = (
        len(rows),
        outcome.stored + outcome.blocked,
        outcome.duplicates,
        len(batch.statuses),
    )
    log.info(
        "webhook inbox: applied %d bodies: %d new messages, %d duplicate, %d statuses, %d skipped",
        done.bodies,
        done.stored,
        done.duplicates,
        done.statuses,
        len(batch.skipped),
    )
    return done


def _apply_one(engine: Engine, settings: Settings, inbox_id: int) -> Applied:
    done = Applied()
    try:
        with session_scope(engine) as session:
            body = store.take_one(session.connection(), inbox_id)
            if body is None:
                return done  # another consumer took it meanwhile
            batch = _parse(body, settings)
            outcome, early = inbound.apply_in(session, batch.messages, batch.opt_outs, batch.statuses, "whatsapp")
        inbound.settle_early(engine, early)
    except (IntegrityError, DataError):
        # The per-request fallback: items one by one, each in its own transaction, bad ones skipped and logged.
        with session_scope(engine) as session:
            body = store.take_one(session.connection(), inbox_id)
        if body is None:
            return done
        batch = _parse(body, settings)
        outcome = inbound.store_batch(engine, batch, "whatsapp")
    done.bodies, done.stored, done.duplicates, done.statuses = (
        1,
        outcome.stored + outcome.blocked,
        outcome.duplicates,
        len(batch.statuses),
    )
    return done


class Consumer:
    """A thread that applies the inbox until stopped; `wake()` after an insert makes it look at once.

    Every web process runs one. `stop()` lets the batch in hand finish (bounded by `timeout`); a
    process killed mid-batch loses nothing, its transaction rolls back and the rows wait for the next."""

    def __init__(
        self, engine: Engine, settings: Settings, batch: int = BATCH, idle_wait: float = IDLE_WAIT, pace: float = PACE
    ) -> None:
        self.engine = engine
        self.pace = pace
        self.settings = settings
        self.batch = batch
        self.idle_wait = idle_wait
        self.applied = Applied()  # totals since start
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="webhook-inbox", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("webhook inbox: consumer still applying a batch after %.0f s; left to the next", timeout)

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            started = time.monotonic()
            try:
                done = apply_pending(self.engine, self.settings, self.batch)
            except OperationalError as exc:  # database away, lock timeout, deadlock: the rows wait
                log.error("webhook inbox: database unavailable (%s); trying again", type(exc).__name__)
                self._stop.wait(ERROR_WAIT)
                continue
            except Exception as exc:  # never let the thread die: the inbox would silently fill up
                log.exception("webhook inbox: batch failed (%s); trying again", type(exc).__name__)
                self._stop.wait(ERROR_WAIT)
                continue
            for name in vars(done):
                setattr(self.applied, name, getattr(self.applied, name) + getattr(done, name))
            if done.bodies < self.batch:  # the inbox is drained: wait for a wake-up or the next look
                self._wake.wait(self.idle_wait)
                # under a stream of webhooks every insert wakes us: let a batch gather instead of applying a few
                self._stop.wait(max(0.0, started + self.pace - time.monotonic()))
