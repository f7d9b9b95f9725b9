"""HTTP routes for inbound messages: the WhatsApp Cloud API webhook and the generic `/inbound` feed.

Both check an HMAC-SHA256 of the raw body (constant-time) before parsing anything, cap the body
size while reading it, and answer 200 for anything they could read, so Meta's retries (for days)
never meet a 5xx caused by a payload we merely do not understand. Only an unreachable database
answers 503: then a retry helps.

The WhatsApp route only stores the body in the webhook inbox and answers; the inbox's consumers
apply it in batches (bot/services/webhook_inbox.py). Bodies arriving while an insert is under way
are stored together by the next one (`_Inbox`): one statement and one commit for many requests.
`/inbound` still applies its request before answering, because its answer reports what was stored.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
from collections.abc import Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.config.settings import Settings
from bot.services import account_events, inbound, webhook_inbox
from bot.web import metrics
from storage.db import Engine, OperationalError

log = logging.getLogger(__name__)

MAX_BODY = 5 * 1024 * 1024  # Meta batches stay far below; a bigger body is not a webhook
META_SIGNATURE = "X-Hub-Signature-256"
INBOUND_SIGNATURE = "X-Contactbot-Signature"


def signature(secret: str, body: bytes) -> str:
    """`sha256=<hex>`: HMAC-SHA256 of the raw bytes (never of re-serialised JSON)."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_problem(secret: str, body: bytes, header: str | None) -> int | None:
    """None when the header signs the body; else the status to answer (401 missing, 403 wrong)."""
    if not secret:
        return 403  # not configured: accept nothing rather than anything
    if not header:
        return 401
    expected = signature(secret, body).encode()
    return None if hmac.compare_digest(expected, header.strip().encode("utf-8", "replace")) else 403


async def read_body(request: Request, limit: int = MAX_BODY) -> bytes | None:
    """The body, or None once it exceeds `limit` (checked while streaming, not after)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        return None
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (ValueError, RecursionError):
        return _INVALID


_INVALID = object()


class _Inbox:
    """Group commit for the webhook inbox: a request's body waits for an insert under way (if any)
    and goes into the next one with every other body that arrived meanwhile. Each request is answered
    once its own insert committed.

    On PostgreSQL up to WRITERS inserts run at once, on worker threads: a commit waits for the WAL to
    reach the disk, and while one group waits the next can already be on its way (PostgreSQL flushes
    concurrent commits together). SQLite has one writer at a time: one insert runs, the rest gather."""

    WRITERS = 4

    def __init__(self, engine: Engine, on_stored: Callable[[], None]) -> None:
        self.engine = engine
        self.on_stored = on_stored
        self.writers = self.WRITERS if engine.dialect.name == "postgresql" else 1
        self._waiting: list[tuple[bytes, int, asyncio.Future[None]]] = []
        self._running = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def store(self, body: bytes, priority: int) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((body, priority, future))
        if self._running < self.writers:
            self._running += 1
            task = asyncio.create_task(self._write())
            self._tasks.add(task)  # a reference, so the task is not collected while it runs
            task.add_done_callback(self._tasks.discard)
        await future

    async def _write(self) -> None:
        try:
            while self._waiting:
                group, self._waiting = self._waiting, []
                try:
                    await run_in_threadpool(webhook_inbox.accept, self.engine, [(b, p) for b, p, _ in group])
                except Exception as exc:  # every request of the group gets the error (503 for the database)
                    for _, _, future in group:
                        if not future.done():
                            future.set_exception(exc)
                    continue
                for _, _, future in group:
                    if not future.done():
                        future.set_result(None)
                self.on_stored()
        finally:
            self._running -= 1


def whatsapp_routes(
    settings: Settings, engine: Engine, on_stored: Callable[[], None] = lambda: None
) -> list[BaseRoute]:
    inbox = _Inbox(engine, on_stored)

    async def verify(request: Request) -> Response:
        params = request.query_params
        token = params.get("hub.verify_token", "")
        if (
            settings.whatsapp_verify_token
            and params.get("hub.mode") == "subscribe"
            and hmac.compare_digest(token.encode(), settings.whatsapp_verify_token.encode())
        ):
            return PlainTextResponse(params.get("hub.challenge", ""))
        log.warning("webhook: verification request refused")
        return PlainTextResponse("forbidden", status_code=403)

    async def receive(request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        problem = signature_problem(settings.whatsapp_app_secret, body, request.headers.get(META_SIGNATURE))
        if problem is not None:
            log.warning("webhook: %s signature, request refused", "missing" if problem == 401 else "invalid")
            return PlainTextResponse("invalid signature", status_code=problem)
        payload = _json(body)
        if payload is _INVALID:
            return PlainTextResponse("body is not JSON", status_code=400)
        arrived = webhook_inbox.arrival(payload, settings)  # one walk; the consumer parses the body for good
        try:
            await inbox.store(body, arrived.priority)
            if arrived.account:  # rare (tier, quality, template changes): applied at once
                await run_in_threadpool(account_events.handle, engine, settings, payload)
        except OperationalError as exc:
            log.error("webhook: database unavailable (%s); WhatsApp will retry", type(exc).__name__)
            return PlainTextResponse("try again later", status_code=503)
        if arrived.other_number:
            metrics.WEBHOOK_OTHER_NUMBER.inc(arrived.other_number)
        return PlainTextResponse("ok")

    return [Route("/whatsapp/webhook", verify, methods=["GET"]), Route("/whatsapp/webhook", receive, methods=["POST"])]


def inbound_routes(settings: Settings, engine: Engine) -> list[BaseRoute]:
    async def receive(request: Request) -> Response:
        body = await read_body(request)
        if body is None:
            return JSONResponse({"error": "payload too large"}, status_code=413)
        problem = signature_problem(settings.inbound_secret, body, request.headers.get(INBOUND_SIGNATURE))
        if problem is not None:
            return JSONResponse({"error": "invalid signature"}, status_code=problem)
        payload = _json(body)
        if payload is _INVALID:
            return JSONResponse({"error": "body is not JSON"}, status_code=400)
        try:
            batch, outcome = await run_in_threadpool(inbound.handle_generic, engine, settings, payload)
        except inbound.BadRequest as exc:
            return JSONResponse({"error": str(exc)}, status_code=422)
        except OperationalError as exc:
            log.error("inbound: database unavailable (%s)", type(exc).__name__)
            return JSONResponse({"error": "try again later"}, status_code=503)
        return JSONResponse(
            {
                "stored": outcome.stored + outcome.blocked,
                "duplicates": outcome.duplicates,
                "rejected": [{"index": i, "reason": why} for i, why in batch.skipped],
            }
        )

    return [Route("/inbound", receive, methods=["POST"])]


def routes(settings: Settings, engine: Engine, on_stored: Callable[[], None] = lambda: None) -> list[BaseRoute]:
    """`on_stored` runs after WhatsApp bodies were stored (the web process wakes its inbox consumer)."""
    return [*whatsapp_routes(settings, engine, on_stored), *inbound_routes(settings, engine)]
