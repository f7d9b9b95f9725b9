"""The broadcast engine: claim pending deliveries, send them throttled, write outcomes in batches.

One asyncio loop per running broadcast: a producer claims batches sized to half a second of
sending, `concurrency` workers send through a leaky-bucket limiter under WHATSAPP_MAX_MPS, and a flusher
writes results back every half second (one executemany). Errors are handled by `error.code`:
throttling slows the whole broadcast and retries, 131056 delays that recipient, transient errors
retry with backoff a bounded number of times, recipient errors fail that row, fatal ones stop the
broadcast. Nothing ambiguous is resent: a lost answer makes the row `unknown`.

Crash safety: a worker marks its row as requested just before the request leaves, and the marking
transaction first writes every outcome gathered so far (workers wait together a few milliseconds,
so one transaction marks several). A worker's next row is marked only after its previous outcome is
durable, so a crash leaves at most `concurrency` rows that may have reached Meta (`unknown`, settled
later by their status webhook through `biz_opaque_callback_data`); claimed rows that were never
requested go back to `pending` when the lease runs out and are sent by whoever goes on.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import random
import socket
import threading
import time
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from bot.config.settings import Settings
from bot.domain.phone import mask
from bot.domain.statuses import BroadcastStatus, DeliveryStatus
from bot.services.broadcasts import limits, service, windows
from bot.services.broadcasts.throttle import Limiter
from bot.whatsapp import callback
from bot.whatsapp.client import AsyncSender
from bot.whatsapp.errors import Ambiguous, Breaker, Kind, WhatsAppError
from bot.whatsapp.templates import components, render, send_body
from storage import broadcasts as broadcasts_store
from storage import early_status, status_effects
from storage.db import Engine, session_scope
from storage.models import utcnow

log = logging.getLogger(__name__)
T = TypeVar("T")
MAX_ATTEMPTS = 4  # transient errors: first try plus three retries
MAX_PAIR_DELAYS = 5  # 131056: 6 s, 24 s, 96 s, ... then give up on this recipient
BATCH_SECONDS = 0.5  # claimed ahead (never requested: back to `pending` after a crash, see recover_stale)
FLUSH_SECONDS = 0.5
MARK_GATHER = 0.010  # workers about to send wait up to this long for each other: one marking transaction for several
# Every recipient's window closed and the next opens later than this: release the broadcast and let the
# scheduler wake it then (an idle sender polling a million closed rows would cost CPU for nothing).
WINDOW_IDLE = 5.0
REOPEN_EVERY = 30.0  # rows that missed their window (throttled, paused) get the next one this often
Progress = Callable[[int, bool], None]  # (broadcast id, final?)
# send answer's message_status -> delivery status
ACCEPTED_AS = {"held_for_quality_assessment": DeliveryStatus.HELD, "paused": DeliveryStatus.PAUSED}
ACCEPTED = (DeliveryStatus.SENT, DeliveryStatus.HELD, DeliveryStatus.PAUSED)  # Meta took the message


@dataclass
class Job:
    """One claimed delivery on its way out."""

    id: int
    phone: str
    attempts: int
    body: bytes | None
    missing: str | None = None
    text: str | None = None  # the body as sent, for the contact's history (issue 18)


@dataclass
class Run:
    broadcast_id: int
    owner: str
    results: list[dict[str, Any]] = field(default_factory=list)
    stop: WhatsAppError | None = None
    pause: WhatsAppError | None = None  # the breaker tripped: paused with this error as the reason
    lost: bool = False  # the lease went to another process: send nothing more
    throttles: int = 0
    sent: int = 0
    written: list[str] = field(default_factory=list)  # message ids written since the last early-status look
    learned: list[tuple[int, str]] = field(default_factory=list)  # (delivery id, wa_id) from send answers
    ambiguous: bool = False  # an `unknown` outcome was written: its status may already be kept (by delivery id)
    approval: str | None = None  # the approval no longer holds (missing|changed|expired): nothing more is sent


def owner_id() -> str:
    return f"{socket.gethostname()[:40]}:{os.getpid()}:{random.randrange(1 << 30)}"


class BroadcastSender:
    """Sends one broadcast until it is done, paused, cancelled, stopped, or its lease is lost."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        broadcast_id: int,
        owner: str,
        on_progress: Progress | None = None,
        report_every: float = 3.0,
        stopping: threading.Event | None = None,
    ) -> None:
        self.settings, self.engine, self.bid, self.owner = settings, engine, broadcast_id, owner
        self.stopping = stopping or threading.Event()
        self.on_progress = on_progress
        self.report_every = report_every
        self.concurrency = settings.broadcast_concurrency
        self.limiter = Limiter(settings.whatsapp_max_mps)
        self.run = Run(broadcast_id, owner)
        self.breaker = Breaker(settings.broadcast_breaker)
        self.quota_left: float = math.inf
        self.quota_checked = -math.inf
        self.restricted = False
        self.first_claim: datetime | None = None
        self.marking: list[tuple[int, asyncio.Future[bool]]] = []
        self.marker: asyncio.Task[None] | None = None
        self.mark_group = max(1, self.concurrency // 4)  # a quarter of the workers waiting: mark them at once
        self.mark_now: asyncio.Event | None = None  # made on the loop, like the lock
        self.writing: asyncio.Lock | None = None  # outcome writes one at a time
        self.windowed = False  # recipients have send windows (issue 18)
        self.reopened = -math.inf
        self.next_open: datetime | None = None
        self.why = ""

    # --- database steps, each its own short transaction on a worker thread ---

    def _db(self, fn: Callable[..., Any], *args: Any) -> Any:
        with session_scope(self.engine) as session:
            return fn(session, *args)

    async def db(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(self._db, fn, *args)

    def _still_ours(self, session: Any) -> bool:
        return broadcasts_store.acquire_lease(session, self.bid, self.owner, self.settings.broadcast_lease_seconds)

    def _next_batch(self, session: Any, limit: int) -> list[Job] | None:
        """Renew the lease, retire a dead sender's rows, claim: one transaction. None: not ours any more."""
        if not self._still_ours(session):
            return None
        row = broadcasts_store.get(session, self.bid)  # approval re-checked at every claim (issue 18)
        if row is not None and (why := service.approval_problem(row)):
            self.run.approval = why
            return None
        if self.windowed and time.monotonic() - self.reopened >= REOPEN_EVERY and row is not None:
            self.reopened = time.monotonic()
            windows.reopen(session, self.settings, row, utcnow())
        if self.first_claim is None:
            self.first_claim = utcnow()
        # Only rows claimed before this sender's first claim: a row still waiting in our own queue past the
        # lease must not go back to `pending` (it would be claimed, and sent, a second time).
        if broadcasts_store.recover_stale(session, self.bid, self.settings.broadcast_lease_seconds, self.first_claim):
            early_status.settle_ambiguous(session, since=utcnow() - timedelta(hours=1))
        return self._claim(session, limit)

    def _claim(self, session: Any, limit: int) -> list[Job]:
        rows = broadcasts_store.claim(session, self.bid, limit)
        if not rows:
            return []
        values = broadcasts_store.field_values(session, [r.contact_id for r in rows], self.fields)
        jobs = []
        for r in rows:
            contact = values.get(r.contact_id, {})
            filled = {k: p.value(contact) for k, p in self.params.items()}
            empty = next((k for k, v in filled.items() if not v.strip()), None)
            if empty is not None:  # the contact's value vanished since the freeze
                jobs.append(Job(r.id, r.phone, r.attempts, None, missing=empty))
                continue
            body = send_body(r.phone, self.template.name, self.template.language, components(self.template, filled))
            body["biz_opaque_callback_data"] = callback.for_delivery(r.id)  # echoed in its status webhooks
            text = render(self.template, filled)
            jobs.append(Job(r.id, r.phone, r.attempts, json.dumps(body, separators=(",", ":")).encode(), text=text))
        return jobs

    def _daily_used(self, session: Any) -> int:
        return broadcasts_store.recipients_since(session, utcnow() - timedelta(days=1))

    # --- the loop ---

    async def _flush(self) -> None:
        assert self.writing is not None
        async with self.writing:
            batch, self.run.results = self.run.results, []
            if batch:
                await self.db(broadcasts_store.write_outcomes, batch)
                self._written(batch)
        learned, self.run.learned = self.run.learned, []
        if learned:  # replies come from that wa_id: the contact must be found by it (issue 14)
            try:
                await self.db(status_effects.learn_wa_ids, learned)
            except Exception as exc:  # a later send to the same person learns it again
                log.warning("broadcast %s: wa_ids not learnt: %s", self.bid, type(exc).__name__)
        ids, self.run.written = self.run.written, []
        if ids:  # statuses Meta reported before these ids were written: apply them now
            try:
                await self.db(early_status.settle, ids)
            except Exception as exc:  # the runner's sweep applies them a little later
                log.warning("broadcast %s: early statuses not applied yet: %s", self.bid, type(exc).__name__)
        if self.run.ambiguous:  # a status that came while the row was `sending` settles it now it is `unknown`
            self.run.ambiguous = False
            try:
                await self.db(early_status.settle_ambiguous, None, utcnow() - timedelta(hours=1))
            except Exception as exc:  # the runner's sweep does it a little later
                log.warning("broadcast %s: kept statuses not applied yet: %s", self.bid, type(exc).__name__)

    def _written(self, outcomes: list[dict[str, Any]]) -> None:
        """Note what a committed outcome write needs looked at again (kept statuses by id or delivery)."""
        for o in outcomes:
            if o.get("wa_id"):
                self.run.learned.append((o["id"], o["wa_id"]))
            if o.get("wamid"):
                self.run.written.append(o["wamid"])
            elif o["status"] == DeliveryStatus.UNKNOWN:
                self.run.ambiguous = True

    async def _mark(self, job: Job) -> bool:
        """Wait until this row is marked requested (every outcome so far written first): True = send it."""
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self.marking.append((job.id, future))
        if len(self.marking) >= self.mark_group and self.mark_now is not None:
            self.mark_now.set()  # enough waiting: no need to wait out the gathering time
        if self.marker is None or self.marker.done():
            self.marker = asyncio.create_task(self._mark_loop())
        return await future

    async def _mark_loop(self) -> None:
        assert self.writing is not None and self.mark_now is not None
        while self.marking:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.mark_now.wait(), MARK_GATHER)
            self.mark_now.clear()
            async with self.writing:
                waiting, self.marking = self.marking, []
                outcomes, self.run.results = self.run.results, []
                try:
                    ids = [i for i, _ in waiting]
                    marked = await self.db(broadcasts_store.mark_requested, self.bid, self.owner, ids, outcomes)
                except Exception as exc:  # nothing was written: send none of these, write the outcomes later
                    log.warning("broadcast %s: in-flight marker not written: %s", self.bid, type(exc).__name__)
                    self.run.results[:0] = outcomes
                    marked = set()
                else:
                    self._written(outcomes)
            if len(marked) < len(waiting):
                self.run.lost = True  # lease gone, broadcast paused/cancelled, or no database: stop here
            for i, future in waiting:
                future.set_result(i in marked)

    async def _flusher(self, done: asyncio.Event) -> None:
        last_report = last_renewal = time.monotonic()
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), FLUSH_SECONDS)
            await self._flush()
            self.limiter.recover()
            if time.monotonic() - last_renewal >= self.settings.broadcast_lease_seconds / 3:
                last_renewal = time.monotonic()  # also while throttled or waiting: never look dead
                if not await self.db(self._still_ours):
                    self.run.lost = True
            if self.on_progress and time.monotonic() - last_report >= self.report_every:
                last_report = time.monotonic()
                await asyncio.to_thread(self.report, False)

    def report(self, final: bool) -> None:
        try:
            if self.on_progress:
                self.on_progress(self.bid, final)
        except Exception as exc:  # a report that fails must never stop the sending
            log.warning("broadcast %s: progress report failed: %s", self.bid, type(exc).__name__)

    async def _worker(self, queue: asyncio.Queue[Job | None], sender: AsyncSender) -> None:
        while (job := await queue.get()) is not None:
            outcome = await self._send(job, sender)
            if outcome is not None:  # None: not marked, the row may be another sender's by now
                if job.text is not None:
                    outcome.setdefault("text", job.text)
                self._watch(outcome)
                self.run.results.append(outcome)  # after the await: the flusher swaps the list meanwhile

    async def _send(self, job: Job, sender: AsyncSender) -> dict[str, Any] | None:
        if job.body is None:
            return {"id": job.id, "status": DeliveryStatus.SKIPPED, "title": "missing_param"}
        if self._halted():
            return {"id": job.id, "status": DeliveryStatus.PENDING, "attempts_back": 1}
        await self.limiter.pace()
        if self._halted():
            return {"id": job.id, "status": DeliveryStatus.PENDING, "attempts_back": 1}
        if not await self._mark(job):
            return None
        # The limit is kept here, after the marking transaction: a slow commit releases its rows together,
        # and only a check at the moment the request leaves keeps that from becoming a burst at Meta.
        await self.limiter.take()
        if self._halted():  # marked but never sent: back to `pending` (the next claim clears the marker)
            return {"id": job.id, "status": DeliveryStatus.PENDING, "attempts_back": 1}
        try:
            accepted = await sender.send_accepted(job.body)
        except Ambiguous as exc:
            log.warning("broadcast %s: no answer for %s (%s): marked unknown", self.bid, mask(job.phone), exc)
            return {"id": job.id, "status": DeliveryStatus.UNKNOWN, "title": str(exc)[:300]}
        except WhatsAppError as exc:
            return self._on_error(job, exc)
        self.run.sent += 1
        # `held_for_quality_assessment` / `paused`: accepted, not sent yet; a status webhook moves it on
        status = ACCEPTED_AS.get(accepted.message_status, DeliveryStatus.SENT)
        outcome = {"id": job.id, "status": status, "wamid": accepted.wamid, "sent_at": utcnow()}
        if accepted.wa_id and accepted.wa_id != job.phone.lstrip("+"):  # Meta knows the person by another id
            outcome["wa_id"] = accepted.wa_id
        return outcome

    def _halted(self) -> bool:
        """Nothing more goes out: stopped, paused by the breaker, or the lease is gone."""
        return self.run.stop is not None or self.run.pause is not None or self.run.lost

    def _watch(self, outcome: dict[str, Any]) -> None:
        """Feed the breaker: an accepted send resets it; one code failing recipient after recipient trips it."""
        if outcome["status"] in ACCEPTED:
            self.breaker.success()
            return
        tripped = outcome["status"] == DeliveryStatus.FAILED and self.breaker.failure(outcome.get("code"))
        if tripped and self.run.pause is None and self.run.stop is None:
            self.run.pause = WhatsAppError(outcome.get("code"), str(outcome.get("title") or ""), 400)
            log.error("broadcast %s paused: error %s on recipients in a row", self.bid, outcome.get("code"))

    def _on_error(self, job: Job, exc: WhatsAppError) -> dict[str, Any]:
        base = {"id": job.id, "code": exc.code, "title": (exc.details or exc.title)[:300]}
        now = utcnow()
        if exc.kind is Kind.THROTTLE:
            self.run.throttles += 1
            pause = min(60.0, 2.0 ** min(self.run.throttles, 6)) * random.uniform(0.75, 1.25)
            self.limiter.slow_down(pause)
            return base | {
                "status": DeliveryStatus.PENDING,
                "attempts_back": 1,
                "next_at": now + timedelta(seconds=pause),
            }
        if exc.kind is Kind.PAIR and job.attempts < MAX_PAIR_DELAYS:
            delay = self.settings.broadcast_pair_delay * 4 ** (job.attempts - 1)
            return base | {"status": DeliveryStatus.PENDING, "next_at": now + timedelta(seconds=delay)}
        if exc.kind is Kind.TRANSIENT and job.attempts < MAX_ATTEMPTS:
            delay = 2.0**job.attempts * random.uniform(0.8, 1.2)
            return base | {"status": DeliveryStatus.PENDING, "next_at": now + timedelta(seconds=delay)}
        if exc.kind is Kind.FATAL:
            if self.run.stop is None:
                self.run.stop = exc
                log.error("broadcast %s stopped by error %s: %s", self.bid, exc.code, exc.title)
            return base | {"status": DeliveryStatus.PENDING, "attempts_back": 1}
        return base | {"status": DeliveryStatus.FAILED}

    def _batch_size(self) -> int:
        return max(1, min(2000, int(self.limiter.rate * BATCH_SECONDS)))

    async def _quota(self) -> float:
        """Recipients left today; looked up every 30 s, so a tier or restriction webhook applies within that."""
        if time.monotonic() - self.quota_checked > 30.0:
            self.quota_checked = time.monotonic()
            self.restricted = await asyncio.to_thread(limits.restricted, self.engine, self.settings)
            limit = await asyncio.to_thread(limits.daily_limit, self.engine, self.settings)
            self.quota_left = limit - await self.db(self._daily_used) if limit else math.inf
        return self.quota_left

    async def _produce(self, queue: asyncio.Queue[Job | None]) -> str:
        """Feed the workers; returns why it stopped: done|paused|cancelled|stopped|lost|limit|shutdown."""
        while True:
            if self.run.stop is not None:
                return BroadcastStatus.STOPPED
            if self.run.pause is not None:
                return "breaker"
            if self.stopping.is_set():
                return "shutdown"  # the lease is released: another process may go on at once
            if self.run.lost:
                return "lost"
            quota = await self._quota()
            if self.restricted:
                return "restricted"
            if quota <= 0:
                return "limit"
            limit = int(min(self._batch_size(), quota))
            while queue.qsize() > limit and not (self.run.lost or self.run.stop or self.stopping.is_set()):
                await asyncio.sleep(0.02)  # at most about a second of sends claimed ahead
            jobs = await self.db(self._next_batch, limit)
            if jobs is None and self.run.approval:  # expired, revoked or changed: nothing more goes out
                self.run.lost = True
                return "approval"
            if jobs is None:  # paused, cancelled or taken over: what is queued goes back unsent
                self.run.lost = True
                row = await self.db(broadcasts_store.get, self.bid)
                return (
                    row.status
                    if row is not None and row.status in (BroadcastStatus.PAUSED, BroadcastStatus.CANCELLED)
                    else "lost"
                )
            if jobs:
                self.quota_left -= len(jobs)
                for job in jobs:
                    queue.put_nowait(job)
                continue
            while not queue.empty():  # let the workers finish what is out before looking again
                await asyncio.sleep(0.05)
            await self._flush()
            if self.windowed:
                self.reopened = time.monotonic()
                await self.db(self._reopen)
            pending, sending, next_at = await self.db(broadcasts_store.open_work, self.bid)
            if pending == 0 and sending == 0:
                return BroadcastStatus.DONE
            idle = next_at is not None and (next_at - utcnow()).total_seconds() > WINDOW_IDLE
            if self.windowed and sending == 0 and idle:
                self.next_open = next_at
                return "window"  # every window closed: the scheduler wakes it when the next opens
            wait = 0.05 if pending == 0 else 0.5  # only answers still to come back: look again soon
            if next_at is not None:
                wait = min(1.0, max(0.05, (next_at - utcnow()).total_seconds()))
            await asyncio.sleep(wait)

    def _reopen(self, session: Any) -> int:
        row = broadcasts_store.get(session, self.bid)
        return windows.reopen(session, self.settings, row, utcnow()) if row is not None else 0

    async def execute(self) -> str:
        row = await self.db(broadcasts_store.get, self.bid)
        if row is None or row.status != BroadcastStatus.RUNNING:
            return row.status if row is not None else "missing"
        self.windowed = windows.windowed(row, self.settings)
        self.template = service.template_from_def(row.template_def)
        self.params = service.params_of(row)
        self.fields = sorted({p.field for p in self.params.values() if p.field})
        if not await self.db(self._still_ours):
            return "busy"
        log.info("broadcast %s: sending (%s, max %s/s)", self.bid, self.template.name, self.limiter.max_rate)
        self.writing, self.mark_now = asyncio.Lock(), asyncio.Event()
        sender = AsyncSender(self.settings, min(self.concurrency, 64))
        queue: asyncio.Queue[Job | None] = asyncio.Queue()
        done = asyncio.Event()
        workers = [asyncio.create_task(self._worker(queue, sender)) for _ in range(self.concurrency)]
        flusher = asyncio.create_task(self._flusher(done))
        try:
            why = await self._produce(queue)
        finally:
            for _ in workers:
                queue.put_nowait(None)
            await asyncio.gather(*workers, return_exceptions=True)
            done.set()
            await flusher
            await self._flush()
            await sender.aclose()
        self.why = why
        status = await self.db(self._finish, why)
        if why == "window" and self.next_open is not None:  # a wake-up job, like a scheduled start
            await asyncio.to_thread(service.wake_at, self.engine, self.bid, self.next_open)
        return status

    def _finish(self, session: Any, why: str) -> str:
        if why == BroadcastStatus.DONE:
            broadcasts_store.set_status(session, self.bid, (BroadcastStatus.RUNNING,), BroadcastStatus.DONE)
        elif why == BroadcastStatus.STOPPED and self.run.stop is not None:
            exc = self.run.stop
            broadcasts_store.set_status(
                session,
                self.bid,
                (BroadcastStatus.RUNNING,),
                BroadcastStatus.STOPPED,
                stop_code=exc.code,
                stop_reason=(exc.details or exc.title)[:300],
            )
        elif why == "breaker" and self.run.pause is not None:
            exc = self.run.pause
            broadcasts_store.set_status(
                session,
                self.bid,
                (BroadcastStatus.RUNNING,),
                BroadcastStatus.PAUSED,
                pause_reason="breaker",
                stop_code=exc.code,
                stop_reason=exc.title[:300],
            )
        elif why == "restricted":
            broadcasts_store.set_status(
                session, self.bid, (BroadcastStatus.RUNNING,), BroadcastStatus.PAUSED, pause_reason="restricted"
            )
        elif why == "limit":
            broadcasts_store.set_status(
                session, self.bid, (BroadcastStatus.RUNNING,), BroadcastStatus.PAUSED, pause_reason="daily_limit"
            )
        elif why == "window":
            broadcasts_store.update_fields(session, self.bid, (BroadcastStatus.RUNNING,), next_window_at=self.next_open)
            log.info("broadcast %s: every recipient's window is closed; next opens %s", self.bid, self.next_open)
        elif why == "approval" and self.run.approval:
            row = broadcasts_store.get(session, self.bid)
            if row is not None:
                service.withdraw_approval(session, row, self.run.approval, (BroadcastStatus.RUNNING,))
        broadcasts_store.release_lease(session, self.bid, self.owner)
        row = broadcasts_store.get(session, self.bid)
        return row.status if row is not None else why


def _run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """uvloop where installed: about a sixth less CPU per request than the default loop."""
    try:
        import uvloop  # optional (not on Windows): imported where used, falling back to asyncio
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def send_broadcast(
    settings: Settings,
    engine: Engine,
    broadcast_id: int,
    owner: str | None = None,
    on_progress: Progress | None = None,
    stopping: threading.Event | None = None,
) -> str:
    """Run one broadcast to its end (or pause/stop) in this thread; returns its status afterwards."""
    eng = BroadcastSender(settings, engine, broadcast_id, owner or owner_id(), on_progress, stopping=stopping)
    status = _run_loop(eng.execute())
    if (
        status
        in (
            BroadcastStatus.DONE,
            BroadcastStatus.STOPPED,
            BroadcastStatus.PAUSED,
            BroadcastStatus.CANCELLED,
            BroadcastStatus.AWAITING_APPROVAL,
        )
        or eng.why == "window"
    ):
        eng.report(True)
    return status


class Runner:
    """What `contactbot worker` and the scheduler call: start due broadcasts, send running ones."""

    def __init__(self, settings: Settings, engine: Engine, on_progress: Progress | None = None) -> None:
        self.settings, self.engine, self.on_progress = settings, engine, on_progress
        self.owner = owner_id()
        self.stopping = threading.Event()  # set on shutdown: finish what is in flight, release, return
        self.tidied = 0.0
        self.resend_checked = 0.0

    def tidy(self) -> None:
        """Once a minute: apply early statuses a crash left behind (also to `unknown` rows, by delivery id),
        forget those older than a week."""
        if time.monotonic() - self.tidied < 60.0 and self.tidied:
            return
        self.tidied = time.monotonic()
        now = utcnow()
        with session_scope(self.engine) as session:
            early_status.settle(session, since=now - timedelta(hours=1))
            early_status.purge(session, now - timedelta(days=early_status.EARLY_STATUS_DAYS))
            early_status.settle_ambiguous(session, since=now - timedelta(days=early_status.EARLY_STATUS_DAYS))

    def resend_unknown(self) -> None:
        """Policy BROADCAST_RESEND_UNKNOWN_AFTER (off by default): looked at twice per that period."""
        after = self.settings.broadcast_resend_unknown_after
        if after and time.monotonic() - self.resend_checked >= min(60.0, after / 2):
            self.resend_checked = time.monotonic()
            service.resend_unknown(self.engine, self.settings)

    def pump(self) -> int:
        """One pass over every broadcast that needs work; returns how many it touched."""
        try:
            self.tidy()
            self.resend_unknown()
        except Exception:  # never in the way of sending; the next pass tries again
            log.exception("early statuses: tidying failed")
        with session_scope(self.engine) as session:
            rows = [(r.id or 0, r.status, r.pause_reason) for r in broadcasts_store.due(session)]
        touched = 0
        for bid, status, reason in rows:
            if self.stopping.is_set():
                break
            if status in (BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED):
                total = service.start(self.engine, self.settings, bid)
                if total is None:
                    continue
                log.info("broadcast %s started: %s recipients", bid, total)
            elif status == BroadcastStatus.PAUSED and reason == "daily_limit" and not self._quota_free():
                continue
            elif status == BroadcastStatus.PAUSED:
                with session_scope(self.engine) as session:
                    broadcasts_store.set_status(
                        session, bid, (BroadcastStatus.PAUSED,), BroadcastStatus.RUNNING, pause_reason=None
                    )
            if send_broadcast(self.settings, self.engine, bid, self.owner, self.on_progress, self.stopping) != "busy":
                touched += 1
        return touched

    def _quota_free(self) -> bool:
        with session_scope(self.engine) as session:
            used = broadcasts_store.recipients_since(session, utcnow() - timedelta(days=1))
        limit = limits.daily_limit(self.engine, self.settings)
        return not limit or used < limit

    def run_forever(self, poll: float = 2.0, until_idle: bool = False) -> None:
        while not self.stopping.is_set():
            touched = self.pump()
            if until_idle and not touched:
                return
            if not touched:
                self.stopping.wait(poll)
