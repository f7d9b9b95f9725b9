"""Target groups (Zielgruppen): saved filters evaluated in SQL, never by loading contacts into Python.

A filter is JSON: `{"match": "all"|"any", "conditions": [{"field": ..., "op": ..., "value": ...}]}`.
Fields: `status` (active|inactive), `blocked` (bool), `messenger` (list), `first_contact` and
`last_chat` (ops `within_days`, `before`, `after`, `empty`), or `attr:<key>` (ops `eq`, `ne`,
`contains`, `gt`, `lt`, `empty`, `in`).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Float, and_, cast, false, func, or_, select, true
from sqlalchemy.sql import ColumnElement
from sqlmodel import Session, col

from bot.domain.contacts import MESSENGERS
from storage.models import Attribute, Audience, Contact, ContactAttribute, utcnow

DATE_FIELDS = {"first_contact": Contact.first_contact_at, "last_chat": Contact.last_chat_at}
ATTR_OPS = ("eq", "ne", "contains", "gt", "lt", "empty", "in")


class AudienceError(ValueError):
    """A filter we cannot evaluate; `code` is an i18n key."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


def _attr_condition(session: Session, key: str, op: str, value: Any) -> ColumnElement[bool]:
    attribute = session.scalars(select(Attribute).where(col(Attribute.key) == key)).first()
    if attribute is None:
        raise AudienceError("audience.unknown_attribute", key=key)
    if op not in ATTR_OPS:
        raise AudienceError("audience.bad_op", op=op)
    # Uncorrelated `id IN (SELECT contact_id ...)`: the database reads this attribute's values once
    # (index on attribute_id, value) instead of probing them once per contact.
    held = select(col(ContactAttribute.contact_id)).where(col(ContactAttribute.attribute_id) == attribute.id)
    column = col(ContactAttribute.value)
    member = col(Contact.id).in_
    if op == "empty":
        return col(Contact.id).not_in(held.where(column != ""))
    if op == "eq":
        return member(held.where(func.lower(column) == str(value).lower()))
    if op == "ne":
        return col(Contact.id).not_in(held.where(func.lower(column) == str(value).lower()))
    if op == "contains":
        pattern = "%" + str(value).lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        return member(held.where(func.lower(column).like(pattern, escape="\\")))
    if op == "in":
        values = [str(v).lower() for v in (value if isinstance(value, list) else [value])]
        return member(held.where(func.lower(column).in_(values)))
    if attribute.type == "number":
        try:
            number = float(str(value).replace(",", "."))
        except ValueError:
            raise AudienceError("audience.bad_number", value=value) from None
        lhs = cast(column, Float)
        return member(held.where(column != "", lhs > number if op == "gt" else lhs < number))
    text_value = str(value)
    return member(held.where(column > text_value if op == "gt" else column < text_value))


def _date_condition(field: str, op: str, value: Any) -> ColumnElement[bool]:
    column = col(DATE_FIELDS[field])
    if op == "empty":
        return column.is_(None)
    if op == "within_days":
        try:
            days = int(value)
        except (TypeError, ValueError):
            raise AudienceError("audience.bad_days", value=value) from None
        return column >= utcnow() - timedelta(days=days)
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        raise AudienceError("audience.bad_date", value=value) from None
    if op == "before":
        return column < when
    if op == "after":
        return column >= when
    raise AudienceError("audience.bad_op", op=op)


def condition_for(session: Session, spec: dict[str, Any]) -> ColumnElement[bool]:
    """One SQL expression for a whole filter spec."""
    parts: list[ColumnElement[bool]] = []
    for cond in spec.get("conditions", []):
        field, op, value = cond.get("field", ""), cond.get("op", "eq"), cond.get("value")
        if field == "status":
            parts.append(col(Contact.active) == (value == "active"))
        elif field == "blocked":
            parts.append(col(Contact.blocked) == bool(value))
        elif field == "messenger":
            values = [v for v in (value if isinstance(value, list) else [value]) if v in MESSENGERS]
            parts.append(col(Contact.messenger).in_(values) if values else false())
        elif field in DATE_FIELDS:
            parts.append(_date_condition(field, op, value))
        elif field.startswith("attr:"):
            parts.append(_attr_condition(session, field.removeprefix("attr:"), op, value))
        else:
            raise AudienceError("audience.unknown_field", field=field)
    if not parts:
        return true()
    return or_(*parts) if spec.get("match") == "any" else and_(*parts)


def audience_condition(session: Session, audience_id: int) -> ColumnElement[bool]:
    audience = session.get(Audience, audience_id)
    if audience is None:
        return false()  # a deleted group has no members
    return condition_for(session, audience.filter)


def validate(session: Session, spec: dict[str, Any]) -> None:
    """Raises AudienceError if the spec cannot be evaluated (unknown attribute, bad value...)."""
    condition_for(session, spec)


# Built once: the list's filter menu reads it on every render (issue 21: statement building was a visible share of a
# render's CPU), and only the two columns it shows, without loading ORM objects.
_NAMES = select(col(Audience.id), col(Audience.name)).order_by(func.lower(Audience.name))


def names(session: Session) -> list[tuple[int, str]]:
    """(id, name) of every group, by name."""
    return [(int(i), str(n)) for i, n in session.execute(_NAMES)]


def all_audiences(session: Session) -> list[Audience]:
    return list(session.scalars(select(Audience).order_by(func.lower(Audience.name))).all())


def by_name_or_id(session: Session, ref: str) -> Audience | None:
    if ref.isdigit():
        found = session.get(Audience, int(ref))
        if found is not None:
            return found
    return session.scalars(select(Audience).where(func.lower(col(Audience.name)) == ref.strip().lower())).first()


def member_count(session: Session, audience: Audience) -> int:
    stmt = select(func.count()).select_from(Contact).where(condition_for(session, audience.filter))
    return int(session.scalar(stmt) or 0)
