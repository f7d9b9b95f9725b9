"""User attributes (Nutzermerkmale): definitions, typed values, and their validation.

Values are stored as text in a canonical form per type, so SQL can filter and sort them:
number -> `12.5`, date -> `2026-11-25`, bool -> `1`/`0`, choice -> one of the allowed values.
"""

from __future__ import annotations

import re
from typing import Any

from bot.domain.attribute_values import TYPES, AttributeValueError, normalize
from storage import attributes as attributes_store
from storage import audit
from storage.db import Engine, IntegrityError, Session, session_scope
from storage.models import Attribute

KEY = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


def key_for(label: str) -> str:
    """A stable key from a column label (`Kundennummer (alt)` -> `kundennummer_alt`)."""
    folded = label.strip().lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        folded = folded.replace(a, b)
    key = re.sub(r"[^a-z0-9]+", "_", folded).strip("_")[:64]
    if not key or not key[0].isalpha():
        key = f"attr_{key}"[:64]
    return key


def _check_definition(key: str, attribute_type: str, choices: list[str] | None) -> None:
    if not KEY.match(key):
        raise AttributeValueError("attr.bad_key", key=key)
    if attribute_type not in TYPES:
        raise AttributeValueError("attr.bad_type", type=attribute_type)
    if attribute_type == "choice" and not choices:
        raise AttributeValueError("attr.no_choices")


def create(
    engine: Engine,
    label_de: str,
    label_en: str | None,
    attribute_type: str,
    actor: str,
    choices: list[str] | None = None,
    key: str | None = None,
) -> Attribute:
    label_de = label_de.strip()[:100]
    if not label_de:
        raise AttributeValueError("attr.no_label")
    key = key or key_for(label_de)
    clean_choices = [c.strip() for c in choices or [] if c.strip()] or None
    _check_definition(key, attribute_type, clean_choices)
    try:
        with session_scope(engine) as session:
            attribute = Attribute(
                key=key,
                label_de=label_de,
                label_en=(label_en or label_de).strip()[:100],
                type=attribute_type,
                choices=clean_choices,
            )
            session.add(attribute)
            session.flush()
            audit.record(session, actor, "attribute.create", "attribute", attribute.id, type=attribute_type)
            return attribute
    except IntegrityError:
        raise AttributeValueError("attr.key_taken", key=key) from None


def update(engine: Engine, attribute_id: int, actor: str, **changes: Any) -> Attribute:
    """Rename (label_de/label_en) or change allowed values; existing values must still fit."""
    with session_scope(engine) as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is None:
            raise AttributeValueError("attr.gone")
        for field in ("label_de", "label_en"):
            if changes.get(field):
                setattr(attribute, field, str(changes[field]).strip()[:100])
        if "choices" in changes and attribute.type == "choice":
            choices = [c.strip() for c in changes["choices"] or [] if c.strip()]
            if not choices:
                raise AttributeValueError("attr.no_choices")
            attribute.choices = choices
        session.add(attribute)
        audit.record(session, actor, "attribute.update", "attribute", attribute_id, fields=sorted(changes))
        session.flush()
        session.refresh(attribute)
        return attribute


def delete(engine: Engine, attribute_id: int, actor: str) -> int:
    """Delete a definition and every value of it; returns how many contacts held one."""
    with session_scope(engine) as session:
        attribute = session.get(Attribute, attribute_id)
        if attribute is None:
            raise AttributeValueError("attr.gone")
        held = attributes_store.holders(session, attribute_id)
        attributes_store.delete_values(session, attribute_id)
        session.delete(attribute)
        audit.record(session, actor, "attribute.delete", "attribute", attribute_id, values_removed=held)
        return held


def definitions(engine: Engine) -> list[Attribute]:
    """Every attribute definition, oldest first (menus and modals list them)."""
    with Session(engine) as session:
        return attributes_store.all_attributes(session)


def with_holders(engine: Engine, attribute_id: int) -> tuple[Attribute | None, int]:
    """An attribute and how many contacts hold a value of it (the delete confirmation names the number)."""
    with Session(engine) as session:
        attribute = attributes_store.get(session, attribute_id)
        return attribute, attributes_store.holders(session, attribute_id) if attribute else 0


def by_key_with_holders(engine: Engine, key: str) -> tuple[Attribute | None, int]:
    with Session(engine) as session:
        attribute = attributes_store.by_key(session, key)
        return attribute, attributes_store.holders(session, attribute.id or 0) if attribute else 0


def list_attributes(engine: Engine) -> list[tuple[Attribute, int]]:
    with Session(engine) as session:
        return [(a, attributes_store.holders(session, a.id or 0)) for a in attributes_store.all_attributes(session)]


def set_contact_values(engine: Engine, contact_id: int, raw_values: dict[int, str], actor: str) -> None:
    """Validate all values first, then write them together (an invalid one changes nothing)."""
    with session_scope(engine) as session:
        defs = {a.id: a for a in attributes_store.all_attributes(session)}
        clean: dict[int, str] = {}
        for attribute_id, raw in raw_values.items():
            attribute = defs.get(attribute_id)
            if attribute is None:
                raise AttributeValueError("attr.gone")
            try:
                clean[attribute_id] = normalize(attribute.type, raw, attribute.choices)
            except AttributeValueError as exc:
                exc.values.update(label=attribute.label_de, attribute_id=attribute_id)
                raise
        for attribute_id, value in clean.items():
            attributes_store.set_value(session, contact_id, attribute_id, value)
        audit.record(session, actor, "contact.attributes", "contact", contact_id, attributes=sorted(clean))
