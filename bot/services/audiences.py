"""Target group services (create, rename, delete, count), shared by Slack and the CLI; all audited."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bot.domain.contacts import ContactFilter
from storage import audiences as audiences_store
from storage import audit
from storage.audiences import AudienceError
from storage.db import Engine, IntegrityError, Session, session_scope
from storage.models import Audience

MAX_NAME = 100


@dataclass
class AudienceInfo:
    id: int
    name: str
    members: int
    filter: dict[str, Any]


def spec_from_list(flt: ContactFilter) -> dict[str, Any]:
    """The list's current filter as a saved group (search text is not part of a group)."""
    conditions: list[dict[str, Any]] = []
    if flt.status in ("active", "inactive"):
        conditions.append({"field": "status", "op": "eq", "value": flt.status})
    if flt.blocked is not None:
        conditions.append({"field": "blocked", "op": "eq", "value": flt.blocked})
    if flt.messenger:
        conditions.append({"field": "messenger", "op": "in", "value": [flt.messenger]})
    return {"match": "all", "conditions": conditions}


def _clean_name(name: str) -> str:
    cleaned = " ".join(name.split())
    if not cleaned:
        raise AudienceError("audience.name_empty")
    if len(cleaned) > MAX_NAME:
        raise AudienceError("audience.name_long", limit=MAX_NAME)
    return cleaned


def create(engine: Engine, name: str, spec: dict[str, Any], actor: str) -> AudienceInfo:
    name = _clean_name(name)
    try:
        with session_scope(engine) as session:
            audiences_store.validate(session, spec)
            if audiences_store.by_name_or_id(session, name) is not None and not name.isdigit():
                raise AudienceError("audience.name_taken", name=name)
            audience = Audience(name=name, filter=spec, created_by=actor[:50])
            session.add(audience)
            session.flush()
            audit.record(session, actor, "audience.create", "audience", audience.id)
            return AudienceInfo(audience.id or 0, name, audiences_store.member_count(session, audience), spec)
    except IntegrityError:
        raise AudienceError("audience.name_taken", name=name) from None


def rename(engine: Engine, audience_id: int, name: str, actor: str) -> None:
    name = _clean_name(name)
    try:
        with session_scope(engine) as session:
            audience = session.get(Audience, audience_id)
            if audience is None:
                raise AudienceError("audience.gone")
            same = audiences_store.by_name_or_id(session, name)
            if same is not None and same.id != audience_id and not name.isdigit():
                raise AudienceError("audience.name_taken", name=name)
            audience.name = name
            session.add(audience)
            audit.record(session, actor, "audience.rename", "audience", audience_id)
    except IntegrityError:
        raise AudienceError("audience.name_taken", name=name) from None


def delete(engine: Engine, audience_id: int, actor: str) -> None:
    with session_scope(engine) as session:
        audience = session.get(Audience, audience_id)
        if audience is None:
            raise AudienceError("audience.gone")
        session.delete(audience)
        audit.record(session, actor, "audience.delete", "audience", audience_id)


def list_with_counts(engine: Engine) -> list[AudienceInfo]:
    with Session(engine) as session:
        return [
            AudienceInfo(a.id or 0, a.name, audiences_store.member_count(session, a), a.filter)
            for a in audiences_store.all_audiences(session)
        ]


def find(engine: Engine, ref: str) -> AudienceInfo | None:
    with Session(engine) as session:
        found = audiences_store.by_name_or_id(session, ref)
        if found is None:
            return None
        return AudienceInfo(found.id or 0, found.name, audiences_store.member_count(session, found), found.filter)


def names(engine: Engine) -> list[tuple[int, str]]:
    """(id, name) of every group, for filter menus (no counting: menus must be instant)."""
    with Session(engine) as session:
        return audiences_store.names(session)
