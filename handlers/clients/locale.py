"""The language a Slack user reads: their Slack locale (users.info), cached in the database for a day."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import DEFAULT_LANGUAGE, lang_for
from bot.services import slack_users
from storage.db import Engine
from storage.models import utcnow

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(days=1)


def user_lang(client: WebClient, engine: Engine, user_id: str | None) -> str:
    if not user_id:
        return DEFAULT_LANGUAGE
    cached = slack_users.cached_locale(engine, user_id)
    if cached is not None and utcnow() - cached[1] < FRESH_FOR:
        return lang_for(cached[0])
    try:
        info = client.users_info(user=user_id, include_locale=True)
        locale = str((info.get("user") or {}).get("locale") or "de-DE")
    except (SlackApiError, OSError) as exc:
        log.warning("users.info failed for a user, using German: %s", type(exc).__name__)
        return lang_for(cached[0]) if cached is not None else DEFAULT_LANGUAGE
    slack_users.remember_locale(engine, user_id, locale)
    return lang_for(locale)
