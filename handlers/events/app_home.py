"""The App Home tab: published when a user opens it, and again after changes (`refresh_home`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.services import dashboard
from handlers.blocks.app_home import home_view
from handlers.clients.locale import user_lang
from handlers.context import deps
from handlers.deps import Deps
from handlers.listeners import ack_only

log = logging.getLogger(__name__)


def refresh_home(client: WebClient, deps: Deps, user_id: str) -> bool:
    """Publish fresh numbers to one user's Home tab. Best effort: False (and a log line) on failure.

    Other features call this after a change (an import applied, a broadcast started); the Home tab
    is also rebuilt every time a user opens it, so a missed refresh heals itself.
    """
    try:
        language = user_lang(client, deps.engine, user_id)
        view = home_view(dashboard.load(deps.engine), language, deps.settings.is_admin(user_id))
        client.views_publish(user_id=user_id, view=view)
        return True
    except Exception as exc:  # a refresh must never break the change that asked for it
        log.warning("publishing the Home tab failed: %s", type(exc).__name__)
        return False


def on_home_opened(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    if event.get("tab") != "home" or not event.get("user"):
        return  # the Messages tab needs nothing from us
    refresh_home(client, deps(context), str(event["user"]))


def register(app: App) -> None:
    app.event("app_home_opened")(ack=ack_only, lazy=[on_home_opened])
