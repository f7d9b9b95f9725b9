"""Queries behind the contact card: one contact by exact name, and its attributes with their labels."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from storage.models import Attribute, Contact, ContactAttribute


def by_exact_name(session: Session, key: str, limit: int = 2) -> list[Contact]:
    """Contacts whose case-folded name is exactly `key` (walks `ix_contact_name_sort_id`)."""
    stmt = select(Contact).where(col(Contact.name_sort) == key).order_by(col(Contact.id)).limit(limit)
    return list(session.scalars(stmt).all())


def attributes_of(session: Session, contact_id: int, limit: int = 60) -> list[tuple[Attribute, str]]:
    """The contact's non-empty attribute values, in the order the attributes were defined."""
    stmt = (
        select(Attribute, col(ContactAttribute.value))
        .join(ContactAttribute, col(ContactAttribute.attribute_id) == col(Attribute.id))
        .where(col(ContactAttribute.contact_id) == contact_id, col(ContactAttribute.value) != "")
        .order_by(col(Attribute.id))
        .limit(limit)
    )
    return [(attr, str(value)) for attr, value in session.execute(stmt).all()]
