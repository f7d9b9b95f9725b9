"""User attribute (Nutzermerkmal) definitions and values."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlmodel import Session, col

from storage.models import Attribute, ContactAttribute


def all_attributes(session: Session) -> list[Attribute]:
    return list(session.scalars(select(Attribute).order_by(col(Attribute.id))).all())


def get(session: Session, attribute_id: int) -> Attribute | None:
    return session.get(Attribute, attribute_id)


def by_key(session: Session, key: str) -> Attribute | None:
    return session.scalars(select(Attribute).where(col(Attribute.key) == key)).first()


def delete_values(session: Session, attribute_id: int) -> None:
    """Every contact's value of one attribute (before the definition itself goes)."""
    session.execute(delete(ContactAttribute).where(col(ContactAttribute.attribute_id) == attribute_id))


def holders(session: Session, attribute_id: int) -> int:
    """How many contacts hold a (non-empty) value: named in the delete confirmation."""
    stmt = (
        select(func.count())
        .select_from(ContactAttribute)
        .where(col(ContactAttribute.attribute_id) == attribute_id, col(ContactAttribute.value) != "")
    )
    return int(session.scalar(stmt) or 0)


def values_for(session: Session, contact_id: int) -> dict[int, str]:
    rows = session.execute(
        select(col(ContactAttribute.attribute_id), col(ContactAttribute.value)).where(
            col(ContactAttribute.contact_id) == contact_id
        )
    ).all()
    return {int(a): str(v) for a, v in rows}


def set_value(session: Session, contact_id: int, attribute_id: int, value: str | None) -> None:
    """Set or (with None/empty) clear one value."""
    session.execute(
        delete(ContactAttribute).where(
            col(ContactAttribute.contact_id) == contact_id, col(ContactAttribute.attribute_id) == attribute_id
        )
    )
    if value:
        session.add(ContactAttribute(contact_id=contact_id, attribute_id=attribute_id, value=value))


def values_for_many(session: Session, contact_ids: list[int]) -> dict[int, dict[int, str]]:
    """Attribute values of one page of contacts in one query."""
    if not contact_ids:
        return {}
    rows = session.execute(
        select(col(ContactAttribute.contact_id), col(ContactAttribute.attribute_id), col(ContactAttribute.value)).where(
            col(ContactAttribute.contact_id).in_(contact_ids)
        )
    ).all()
    found: dict[int, dict[int, str]] = {}
    for cid, aid, value in rows:
        found.setdefault(int(cid), {})[int(aid)] = str(value)
    return found
