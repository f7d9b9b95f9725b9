"""What we remember about Slack users between requests: their locale, so a click costs no users.info call."""

from __future__ import annotations

from datetime import datetime

from storage import slack_users as slack_users_store
from storage.db import Engine, Session


def cached_locale(engine: Engine, user_id: str) -> tuple[str, datetime] | None:
    """The stored locale and when it was fetched, or None."""
    with Session(engine) as session:
        row = slack_users_store.get(session, user_id)
        return (row.locale, row.fetched_at) if row is not None else None


def remember_locale(engine: Engine, user_id: str, locale: str) -> None:
    with Session(engine) as session:
        slack_users_store.remember(session, user_id, locale)
        try:
            session.commit()
        except Exception:  # a concurrent request cached it first: fine
            session.rollback()
