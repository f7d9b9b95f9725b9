"""Non-Slack HTTP routes (webhooks) that features add; kept apart so the server stays small."""

from __future__ import annotations

from sqlalchemy import Engine
from starlette.routing import BaseRoute

from bot.config.settings import Settings


def extra_routes(settings: Settings, engine: Engine) -> list[BaseRoute]:
    from bot.web import webhooks as webhook

    routes: list[BaseRoute] = []
    routes += webhook.routes(settings, engine)  # WhatsApp webhook and /inbound (issue 4)
    return routes
