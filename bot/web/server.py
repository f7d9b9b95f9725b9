"""The HTTP process: Slack (`POST /slack/events`), health checks, metrics, and the webhook routes."""

from __future__ import annotations

import contextlib
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator

from prometheus_client import CONTENT_TYPE_LATEST
from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config.logs import request_id
from bot.config.settings import Settings
from bot.services import webhook_inbox
from bot.web import metrics, slack_signature
from bot.web.routes import extra_routes
from bot.web.webhooks import read_body
from storage.db import Engine, current_revision, head_revision, ping

MAX_SLACK_BODY = slack_signature.MAX_BODY
log = logging.getLogger("contactbot.http")
# A request id handed in by a reverse proxy is kept when it is this harmless; otherwise we make one.
_GOOD_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Probes and scrapes arrive every few seconds: their log lines are DEBUG, everything else INFO.
_QUIET = frozenset({"/healthz", "/readyz", "/metrics"})
# Label values are a fixed set: a made-up method or status must not create a new series per request.
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def method_label(method: str) -> str:
    return method if method in _METHODS else "other"


def status_label(status: int) -> str:
    return str(status) if 100 <= status <= 599 else "other"


def slack_route(bolt: App, secret: str, replays: slack_signature.ReplayGuard) -> Route:
    async def slack_events(request: Request) -> Response:
        started = time.perf_counter()
        body = await read_body(request, MAX_SLACK_BODY)  # streams: 413 as soon as the limit is passed
        if body is None:
            return PlainTextResponse("payload too large", status_code=413)
        timestamp = request.headers.get("x-slack-request-timestamp")
        signature = request.headers.get("x-slack-signature")
        if why := slack_signature.problem(secret, body, timestamp, signature, time.time()):
            log.warning("slack: request refused (%s)", why)  # never the body: nobody vouched for it
            return PlainTextResponse("invalid request", status_code=401)
        if not await run_in_threadpool(replays.first_time, timestamp or "", signature or ""):
            log.warning("slack: signed request seen before, not acted on again (replay)")
            return Response(status_code=200)
        bolt_request = BoltRequest(
            body=body.decode("utf-8", errors="replace"),
            query=request.query_params,  # type: ignore[arg-type]  # Bolt reads any mapping; its hint says dict
            headers=request.headers,  # type: ignore[arg-type]  # as above
        )
        # Bolt is synchronous: dispatch on a worker thread so the event loop keeps serving.
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        response = to_starlette_response(bolt_response)
        metrics.SLACK_ACK_SECONDS.observe(time.perf_counter() - started)
        return response

    return Route("/slack/events", slack_events, methods=["POST"])


def health_routes(engine: Engine) -> list[BaseRoute]:
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    def _ready() -> tuple[bool, str]:
        try:
            ping(engine)
            revision = current_revision(engine)
        except Exception as exc:  # any database failure means "not ready"
            return False, type(exc).__name__
        head = head_revision()
        if revision is None:
            return False, "no migrations applied (run: contactbot db upgrade)"
        if revision != head:
            # An old process next to a newer schema, or a new process before the upgrade ran.
            return False, f"database at {revision}, this code needs {head} (run: contactbot db upgrade)"
        return True, revision

    async def readyz(_: Request) -> Response:
        ok, detail = await run_in_threadpool(_ready)
        return JSONResponse({"ready": ok, "detail": detail}, status_code=200 if ok else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def metrics_route(engine: Engine) -> Route:
    async def metrics_endpoint(_: Request) -> Response:
        body = await run_in_threadpool(metrics.render, engine)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return Route("/metrics", metrics_endpoint)


class Observe:
    """Per HTTP request: a request id (contextvar, log lines, `X-Request-Id`), metrics, one log line."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    def _route(self, scope: Scope) -> str:
        """The route template (never the raw path: unbounded label values would swamp Prometheus)."""
        for route in self.routes:
            match, _ = route.matches(scope)
            if match != Match.NONE:
                return str(getattr(route, "path", "other"))
        return "unmatched"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = Headers(scope=scope).get("x-request-id", "")
        rid = incoming if _GOOD_ID.match(incoming) else uuid.uuid4().hex
        token = request_id.set(rid)
        route = self._route(scope)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append("X-Request-Id", rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            method = method_label(scope["method"])
            metrics.HTTP_REQUESTS.labels(route, method, status_label(status)).inc()
            metrics.HTTP_SECONDS.labels(route).observe(elapsed)
            log.log(
                logging.DEBUG if route in _QUIET else logging.INFO,
                "%s %s -> %s in %.0f ms",
                method,
                route,  # the template, not the raw path: a made-up path can carry a name or a number
                status,
                elapsed * 1000,
            )
            request_id.reset(token)


def create_asgi(settings: Settings, engine: Engine, bolt: App | None) -> Starlette:
    """The web app; while it runs, a consumer thread applies the WhatsApp webhook inbox (every web process has one)."""
    consumer = webhook_inbox.Consumer(engine, settings)
    routes: list[BaseRoute] = [*health_routes(engine), metrics_route(engine)]
    if bolt is not None:
        replays = slack_signature.ReplayGuard(engine)
        routes.append(slack_route(bolt, settings.slack_signing_secret, replays))
    routes.extend(extra_routes(settings, engine, consumer.wake))

    @contextlib.asynccontextmanager
    async def lifespan(_: Starlette) -> AsyncIterator[None]:
        consumer.start()
        try:
            yield
        finally:
            await run_in_threadpool(consumer.stop)  # the batch in hand finishes; the rest waits in the table

    asgi = Starlette(routes=routes, middleware=[Middleware(Observe, routes=routes)], lifespan=lifespan)
    asgi.state.inbox_consumer = consumer  # what it applied is visible to tests and benchmarks
    return asgi
