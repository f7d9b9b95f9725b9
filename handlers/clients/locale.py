"""The language a Slack user reads: their Slack locale (users.info), cached in the database for a day."""

from __future__ import annotations

import logging
from datetime import timedelta

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlmodel import Session

from bot.i18n import DEFAULT_LANGUAGE, lang_for
from storage.models import SlackUser, utcnow

log = logging.getLogger(__name__)
FRESH_FOR = timedelta(days=1)


def user_lang(client: WebClient, engine: Engine, user_id: str | None) -> str:
    if not user_id:
        return DEFAULT_LANGUAGE
    with Session(engine) as session:
        cached = session.get(SlackUser, user_id)
        if cached is not None and utcnow() - cached.fetched_at < FRESH_FOR:
            return lang_for(cached.locale)
    try:
        info = client.users_info(user=user_id, include_locale=True)
        locale = str(info.get("user", {}).get("locale") or "de-DE")
    except (SlackApiError, OSError) as exc:
        log.warning("users.info failed for a user, using German: %s", type(exc).__name__)
        return lang_for(cached.locale) if cached is not None else DEFAULT_LANGUAGE
    with Session(engine) as session:
        row = session.get(SlackUser, user_id) or SlackUser(user_id=user_id, locale=locale)
        row.locale, row.fetched_at = locale[:10], utcnow()
        session.add(row)
        try:
            session.commit()
        except Exception:  # a concurrent request cached it first: fine
            session.rollback()
    return lang_for(locale)
