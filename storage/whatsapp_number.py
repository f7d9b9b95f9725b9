"""Our WhatsApp number's state as Meta reported it (tier, quality, restriction): one row per number."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select

from storage.db import Session
from storage.models import Broadcast, WhatsAppNumber, utcnow


def get(session: Session, phone_number_id: str) -> WhatsAppNumber | None:
    return session.get(WhatsAppNumber, phone_number_id)


def save(session: Session, phone_number_id: str, **values: Any) -> WhatsAppNumber:
    """Update the given fields (insert the row the first time)."""
    row = session.get(WhatsAppNumber, phone_number_id) or WhatsAppNumber(phone_number_id=phone_number_id)
    for key, value in values.items():
        setattr(row, key, value)
    row.updated_at = utcnow()
    session.add(row)
    return row


def is_restricted(row: WhatsAppNumber | None, now: datetime | None = None) -> bool:
    if row is None or not row.restriction:
        return False
    return row.restricted_until is None or row.restricted_until > (now or utcnow())


def running_with_template(session: Session, name: str | None, language: str | None) -> list[int]:
    """Running broadcasts that send this template (any language when `language` is None); all when name is None."""
    stmt = select(Broadcast.id).where(Broadcast.status == "running")  # type: ignore[call-overload]
    if name is not None:
        stmt = stmt.where(Broadcast.template == name)
    if language:
        stmt = stmt.where(Broadcast.language == language)
    return [int(i) for i in session.scalars(stmt).all() if i is not None]
