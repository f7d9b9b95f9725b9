"""The Slack user cache (`slack_user`): each user's Slack locale and when it was asked for."""

from __future__ import annotations

from sqlmodel import Session

from storage.models import SlackUser, utcnow


def get(session: Session, user_id: str) -> SlackUser | None:
    return session.get(SlackUser, user_id)


def remember(session: Session, user_id: str, locale: str) -> None:
    row = session.get(SlackUser, user_id) or SlackUser(user_id=user_id, locale=locale)
    row.locale, row.fetched_at = locale[:10], utcnow()
    session.add(row)
