"""Wiring: one Bolt App per process with our WebClient (through SLACK_API_URL) and every listener."""

from __future__ import annotations

import json
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_sdk import WebClient

from bot.config.settings import Settings
from bot.i18n import DEFAULT_LANGUAGE, t
from handlers.actions import app_home as app_home_actions
from handlers.actions import approval as approval_actions
from handlers.actions import attributes as attribute_actions
from handlers.actions import audiences as audience_actions
from handlers.actions import broadcasts as broadcast_actions  # also registers /contacts notify|broadcasts
from handlers.actions import contact_card as contact_card_actions
from handlers.actions import contact_list as contact_list_actions
from handlers.actions import export as export_actions
from handlers.actions import history as history_actions
from handlers.actions import imports as import_actions
from handlers.actions import tickets as ticket_actions
from handlers.blocks.audit_post import audit_text
from handlers.clients import audit_feed
from handlers.clients.web_api import web_client
from handlers.commands import contacts as contacts_command
from handlers.commands import groups as groups_command  # noqa: F401 - registers /contacts groups|attributes
from handlers.commands import help as help_command  # noqa: F401 - registers /contacts help|hilfe
from handlers.commands import import_export  # noqa: F401 - registers /contacts import|export
from handlers.deps import Deps
from handlers.errors import tell_failure_later
from handlers.events import app_home as app_home_events
from handlers.events import file_upload
from handlers.jobs import JobAwareLazyRunner, JobQueue
from handlers.respond import RetryingRespond
from handlers.shortcuts import lookup_contact, send_notification
from handlers.views import attributes as attribute_views
from handlers.views import audiences as audience_views
from handlers.views import broadcast_composer, contact_delete
from storage.db import Engine

log = logging.getLogger(__name__)


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
    # Interactive lazy work (lists, modal fills) and long jobs (previews, imports, exports) on separate pools, so a
    # click never waits behind a CSV preview; the job queue is bounded (handlers/jobs.py).
    app.listener_runner.lazy_listener_runner = JobAwareLazyRunner(
        logger=app.logger,
        executor=ThreadPoolExecutor(max_workers=settings.lazy_workers, thread_name_prefix="lazy"),
        jobs=JobQueue(),
    )
    deps = Deps(settings=settings, engine=engine)
    from handlers.response_urls import allow_api_origin

    allow_api_origin(settings.slack_api_url)  # answers go to Slack's host only (and the fake's in tests)

    @app.middleware
    def inject_deps(req: BoltRequest, context: BoltContext, next: Any) -> BoltResponse | None:  # noqa: A002
        if (refused := _other_workspace(req, context)) is not None:
            return refused
        context["deps"] = deps
        if context.response_url:  # handlers/respond.py refuses a URL that is not on Slack's host
            context["respond"] = RetryingRespond(response_url=context.response_url)
        next()
        return None

    @app.error
    def on_error(error: Exception, body: dict[str, Any]) -> None:
        log.error("listener failed: %s (%s)", type(error).__name__, body.get("type", "?"), exc_info=error)
        tell_failure_later(body)

    register(app)
    _install_audit_feed(deps, app.client)
    return app


def _other_workspace(req: BoltRequest, context: BoltContext) -> BoltResponse | None:
    """Refuse a request from a workspace other than the one auth.test named at start-up.

    Our sealed values (handlers/integrity.py) are bound to that workspace; this stops everything
    else (slash commands, unsealed clicks) from another one, too. None: the request may go on.
    """
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
    """Changes are posted to CONTACTBOT_AUDIT_CHANNEL and refresh the actor's Home tab (handlers.clients.audit_feed)."""
    audit_feed.install(deps, client, audit_text, app_home_events.refresh_home)


def register(app: App) -> None:
    """Every listener, per surface; the order matters only for the message catch-all (last)."""
    contacts_command.register(app)
    contact_list_actions.register(app)
    export_actions.register(app)
    import_actions.register(app)
    file_upload.register(app)
    ticket_actions.register(app)
    contact_delete.register(app)
    broadcast_actions.register(app)
    approval_actions.register(app)
    broadcast_composer.register(app)
    audience_actions.register(app)
    audience_views.register(app)
    attribute_actions.register(app)
    attribute_views.register(app)
    app_home_events.register(app)
    app_home_actions.register(app)
    contact_card_actions.register(app)
    history_actions.register(app)
    send_notification.register(app)
    lookup_contact.register(app)
    file_upload.register_fallback(app)  # last: acks every message event no listener above took
