"""Wiring: one Bolt App per process with our WebClient (through SLACK_API_URL) and every listener."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.lazy_listener.thread_runner import ThreadLazyListenerRunner
from slack_sdk import WebClient
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler
from sqlalchemy import Engine

import handlers
from bot.deps import Deps
from bot.settings import Settings

log = logging.getLogger(__name__)


def web_client(settings: Settings) -> WebClient:
    client = WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=10)
    client.retry_handlers.extend([RateLimitErrorRetryHandler(max_retry_count=2), ConnectionErrorRetryHandler()])
    return client


def create_app(settings: Settings, engine: Engine, *, verify_token: bool = True) -> App:
    # Acks get their own threads: with one shared pool (Bolt's default, 5 threads) an ack waits
    # behind slow lazy work and misses Slack's 3-second deadline under load.
    app = App(
        listener_executor=ThreadPoolExecutor(max_workers=32, thread_name_prefix="ack"),
        client=web_client(settings),
        signing_secret=settings.slack_signing_secret or "socket-mode-has-no-signing-secret",
        token_verification_enabled=verify_token,
        process_before_response=False,
        logger=logging.getLogger("contactbot.bolt"),
    )
    app.listener_runner.lazy_listener_runner = ThreadLazyListenerRunner(
        logger=app.logger, executor=ThreadPoolExecutor(max_workers=4, thread_name_prefix="lazy")
    )
    deps = Deps(settings=settings, engine=engine)
    from handlers.response_urls import allow_api_origin

    allow_api_origin(settings.slack_api_url)  # answers go to Slack's host only (and the fake's in tests)

    @app.middleware
    def inject_deps(req: BoltRequest, context: BoltContext, next: Any) -> BoltResponse | None:  # noqa: A002
        from handlers.respond import RetryingRespond

        if (refused := _other_workspace(req, context)) is not None:
            return refused
        context["deps"] = deps
        if context.response_url:  # handlers/respond.py refuses a URL that is not on Slack's host
            context["respond"] = RetryingRespond(response_url=context.response_url)
        next()

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        from handlers.errors import tell_failure_later

        log.error("listener failed: %s (%s)", type(error).__name__, body.get("type", "?"), exc_info=error)
        tell_failure_later(body)

    handlers.register(app)
    _install_audit_feed(deps, app.client)
    return app


def _other_workspace(req: BoltRequest, context: BoltContext) -> BoltResponse | None:
    """Refuse a request from a workspace other than the one auth.test named at start-up.

    Our sealed values (handlers/integrity.py) are bound to that workspace; this stops everything
    else (slash commands, unsealed clicks) from another one, too. None: the request may go on.
    """
    from bot.i18n import DEFAULT_LANGUAGE, t

    installed = context.authorize_result.team_id if context.authorize_result else None
    if not installed or not context.team_id or context.team_id == installed:
        return None
    log.warning("request from another workspace refused (%s)", req.body.get("type", "command"))
    if req.body.get("command"):  # a slash command shows the ack's text to the user
        return BoltResponse(
            status=200,
            body=json.dumps({"response_type": "ephemeral", "text": t("auth.other_workspace", DEFAULT_LANGUAGE)}),
            headers={"content-type": "application/json"},
        )
    return BoltResponse(status=200, body="")


def _install_audit_feed(deps: Deps, client: WebClient) -> None:
    """Changes are posted to CONTACTBOT_AUDIT_CHANNEL and refresh the actor's Home tab (bot.audit_feed)."""
    from bot import audit_feed
    from handlers.blocks.audit_post import audit_text
    from handlers.events.app_home import refresh_home

    audit_feed.install(deps, client, audit_text, refresh_home)
