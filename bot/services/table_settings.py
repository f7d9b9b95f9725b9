"""Which columns the list and the export show, in which order, under which label.

Per workspace, with a per-user override. Attribute columns are `attr:<key>`; a column whose
attribute was deleted silently disappears.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.i18n import t
from storage import attributes as attribute_store
from storage import audit
from storage import table_settings as table_settings_store
from storage.db import Engine, Session, session_scope

CORE = ("phone", "messenger", "first_contact", "last_chat", "blocked", "name", "status")
MAX_LABEL = 40


@dataclass(frozen=True)
class Column:
    key: str  # a CORE name or attr:<key>
    label: str  # what the reader sees (custom label or the default in their language)
    custom_label: str | None
    visible: bool
    attribute_id: int | None = None
    attribute_type: str | None = None


@dataclass(frozen=True)
class TableLayout:
    columns: list[Column]  # every available column, chosen ones first in their order
    scope: str  # user|workspace|default

    @property
    def visible(self) -> list[Column]:
        return [c for c in self.columns if c.visible]


def default_spec() -> list[dict[str, Any]]:
    return [{"key": k, "visible": True} for k in CORE]


def layout(engine: Engine, team_id: str, user_id: str, lang: str) -> TableLayout:
    with Session(engine) as session:
        spec, scope = table_settings_store.load(session, team_id, user_id)
        attributes = attribute_store.all_attributes(session)
    spec = spec or default_spec()
    by_attr = {f"attr:{a.key}": a for a in attributes}
    seen: set[str] = set()
    columns: list[Column] = []

    def add(key: str, visible: bool, custom: str | None) -> None:
        if key in seen or (key not in CORE and key not in by_attr):
            return
        seen.add(key)
        attribute = by_attr.get(key)
        if attribute is not None:
            default = attribute.label_en if lang == "en" else attribute.label_de
        else:
            default = t(f"field.{key}", lang)
        columns.append(
            Column(
                key,
                custom or default,
                custom,
                visible,
                attribute.id if attribute else None,
                attribute.type if attribute else None,
            )
        )

    for item in spec:
        add(str(item.get("key", "")), bool(item.get("visible", True)), item.get("label") or None)
    for key in CORE:
        add(key, False, None)
    for key in by_attr:
        add(key, False, None)
    return TableLayout(columns, scope)


def save(engine: Engine, team_id: str, user_id: str | None, spec: list[dict[str, Any]], actor: str) -> None:
    """Store a layout for the workspace (user_id None) or one user; labels are trimmed, not trusted."""
    clean = [
        {
            "key": str(i["key"])[:80],
            "visible": bool(i.get("visible")),
            **({"label": str(i["label"]).strip()[:MAX_LABEL]} if i.get("label") else {}),
        }
        for i in spec
    ]
    with session_scope(engine) as session:
        table_settings_store.save(session, team_id, user_id or "", clean)
        audit.record(
            session,
            actor,
            "table_settings.save",
            "table_settings",
            user_id or team_id,
            scope="user" if user_id else "workspace",
        )


def reset(engine: Engine, team_id: str, user_id: str | None, actor: str) -> None:
    with session_scope(engine) as session:
        table_settings_store.reset(session, team_id, user_id or "")
        audit.record(
            session,
            actor,
            "table_settings.reset",
            "table_settings",
            user_id or team_id,
            scope="user" if user_id else "workspace",
        )
