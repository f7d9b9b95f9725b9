"""Data for broadcast tests: reachable contacts, attributes, drafts."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, insert

from bot.config.settings import Settings
from bot.services.broadcasts import service
from storage.models import Attribute, ContactAttribute
from tests.factories import BASE, add_contact


def phone(i: int) -> str:
    return f"+4917100{i:06d}"


def add_reachable(engine: Engine, count: int, start: int = 0, **fields: Any) -> list[int]:
    """WhatsApp contacts with consent on record, numbered +4917100000000 upwards."""
    return [add_contact(engine, phone(i), f"Kunde {i}", consent_at=BASE, **fields) for i in range(start, start + count)]


def set_attribute(engine: Engine, key: str, values: dict[int, str]) -> None:
    with engine.begin() as conn:
        attr_id = conn.execute(
            insert(Attribute.__table__).returning(Attribute.__table__.c.id),  # type: ignore[attr-defined]
            {"key": key, "label_de": key, "label_en": key, "type": "text", "created_at": BASE},
        ).scalar_one()
        conn.execute(
            insert(ContactAttribute.__table__),
            [  # type: ignore[attr-defined]
                {"contact_id": cid, "attribute_id": attr_id, "value": v} for cid, v in values.items()
            ],
        )


def draft(
    settings: Settings,
    name: str = "termin_erinnerung",
    lang: str = "de",
    params: dict[str, str] | None = None,
    **kw: Any,
) -> service.Draft:
    template = service.find_template(settings, name, lang)
    raw = params if params is not None else ({"1": "contact:name|Kunde", "2": "Montag"} if template.keys else {})
    return service.Draft(
        template=template,
        params={k: service.ParamSource.parse(v) for k, v in raw.items()},
        audience=kw.pop("audience", service.AudienceSpec()),
        created_by=kw.pop("by", "cli:test"),
        **kw,
    )
