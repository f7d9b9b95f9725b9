"""The HTTP process: Slack (`POST /slack/events`), health checks, and the webhook routes."""

from __future__ import annotations

from slack_bolt import App, BoltRequest
from slack_bolt.adapter.starlette.handler import to_starlette_response
from sqlalchemy import Engine, text
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from bot.settings import Settings
from storage.db import current_revision

MAX_SLACK_BODY = 1_000_000


def slack_route(bolt: App) -> Route:
    async def slack_events(request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_SLACK_BODY:
            return PlainTextResponse("payload too large", status_code=413)
        bolt_request = BoltRequest(
            body=body.decode("utf-8", errors="replace"),
            query=request.query_params,  # type: ignore[arg-type]
            headers=request.headers,  # type: ignore[arg-type]
        )
        # Bolt is synchronous: dispatch on a worker thread so the event loop keeps serving.
        bolt_response = await run_in_threadpool(bolt.dispatch, bolt_request)
        return to_starlette_response(bolt_response)

    return Route("/slack/events", slack_events, methods=["POST"])


def health_routes(engine: Engine) -> list[BaseRoute]:
    async def healthz(_: Request) -> Response:
        return PlainTextResponse("ok")

    def _ready() -> tuple[bool, str]:
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            revision = current_revision(engine)
        except Exception as exc:  # any database failure means "not ready"
            return False, type(exc).__name__
        return revision is not None, revision or "no migrations applied"

    async def readyz(_: Request) -> Response:
        ok, detail = await run_in_threadpool(_ready)
        return JSONResponse({"ready": ok, "detail": detail}, status_code=200 if ok else 503)

    return [Route("/healthz", healthz), Route("/readyz", readyz)]


def create_asgi(settings: Settings, engine: Engine, bolt: App | None) -> Starlette:
    routes: list[BaseRoute] = [*health_routes(engine)]
    if bolt is not None:
        routes.append(slack_route(bolt))
    from bot.routes import extra_routes

    routes.extend(extra_routes(settings, engine))
    return Starlette(routes=routes)
