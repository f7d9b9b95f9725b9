"""Non-Slack HTTP routes (webhooks) that features add; kept apart so the server stays small."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import BaseRoute

from bot.config.settings import Settings
from bot.web import webhooks as webhook
from storage.db import Engine


def extra_routes(settings: Settings, engine: Engine, on_stored: Callable[[], None] = lambda: None) -> list[BaseRoute]:
    routes: list[BaseRoute] = []
    routes += webhook.routes(settings, engine, on_stored)  # WhatsApp webhook and /inbound (issue 4, inbox issue 21)
    return routes
