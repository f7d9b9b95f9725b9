"""Table settings rows: the workspace default and per-user overrides of the list's columns."""

from __future__ import annotations

from typing import Any

from sqlalchemy import bindparam, delete, or_, select
from sqlmodel import Session, col

from storage.models import TableSettings, utcnow

# Built once (every list render reads it): the two rows that may apply, their columns only.
_LOAD = select(col(TableSettings.user_id), col(TableSettings.columns)).where(
    col(TableSettings.team_id) == bindparam("team"),
    or_(col(TableSettings.user_id) == bindparam("user"), col(TableSettings.user_id) == ""),
)


def load(session: Session, team_id: str, user_id: str) -> tuple[list[dict[str, Any]] | None, str]:
    """(columns, scope) with the user's override first, then the workspace's; (None, "default") if neither."""
    by_user: dict[str, list[dict[str, Any]]] = {
        str(u): c for u, c in session.execute(_LOAD, {"team": team_id, "user": user_id})
    }
    if user_id and user_id in by_user:
        return by_user[user_id], "user"
    if "" in by_user:
        return by_user[""], "workspace"
    return None, "default"


def save(session: Session, team_id: str, user_id: str, columns: list[dict[str, Any]]) -> None:
    row = session.scalars(
        select(TableSettings).where(col(TableSettings.team_id) == team_id, col(TableSettings.user_id) == user_id)
    ).first()
    if row is None:
        row = TableSettings(team_id=team_id, user_id=user_id, columns=columns)
    row.columns, row.updated_at = columns, utcnow()
    session.add(row)


def reset(session: Session, team_id: str, user_id: str) -> None:
    session.execute(
        delete(TableSettings).where(col(TableSettings.team_id) == team_id, col(TableSettings.user_id) == user_id)
    )
