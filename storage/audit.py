"""The audit log: who changed what kind of record, when. No personal data in `detail`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlmodel import Session, col

from storage.models import AuditEntry


def record(
    session: Session,
    actor: str,
    action: str,
    object_type: str,
    object_id: int | str | None = None,
    **detail: Any,
) -> AuditEntry:
    entry = AuditEntry(
        actor=actor,
        action=action,
        object_type=object_type,
        object_id=None if object_id is None else str(object_id),
        detail=detail,
    )
    session.add(entry)
    return entry


def recent(
    session: Session, limit: int = 50, since: datetime | None = None, action: str | None = None
) -> list[AuditEntry]:
    stmt = select(AuditEntry).order_by(col(AuditEntry.id).desc()).limit(limit)
    if since is not None:
        stmt = stmt.where(col(AuditEntry.at) >= since)
    if action:
        stmt = stmt.where(col(AuditEntry.action) == action)
    return list(session.scalars(stmt).all())
