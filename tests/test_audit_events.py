"""storage.audit_events: subscribers hear of audit rows only after their transaction committed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, insert, select
from sqlmodel import Session

from storage import audit
from storage.audit_events import Committed, subscribe
from storage.db import session_scope
from storage.models import AuditEntry, utcnow


def _listen(engine: Engine) -> list[tuple[list[Committed], int]]:
    """Record each notice with the number of audit rows a separate connection sees at that moment."""
    heard: list[tuple[list[Committed], int]] = []

    def callback(entries: list[Committed]) -> None:
        with Session(engine) as session:
            visible = int(session.scalar(select(func.count()).select_from(AuditEntry)) or 0)
        heard.append((entries, visible))

    subscribe(engine, "test", callback)
    return heard


def test_orm_record_is_announced_after_commit(engine: Engine) -> None:
    heard = _listen(engine)
    with session_scope(engine) as session:
        audit.record(session, "slack:U1", "contact.block", "contact", 7)
        audit.record(session, "slack:U1", "contact.activate", "contact", 8)
        assert heard == []
    assert len(heard) == 1
    entries, visible = heard[0]
    assert visible == 2  # the notice comes after the commit: another connection sees the rows
    assert [(e.actor, e.action, e.object_id) for e in entries] == [
        ("slack:U1", "contact.block", "7"),
        ("slack:U1", "contact.activate", "8"),
    ]
    assert entries[0].at.tzinfo is not None


def test_core_insert_is_announced_and_a_rollback_is_not(engine: Engine) -> None:
    heard = _listen(engine)
    row: dict[str, Any] = {
        "actor": "slack:U2",
        "action": "import.apply",
        "object_type": "import_run",
        "object_id": "3",
        "detail": {"created": 5},
        "at": utcnow(),
    }
    with pytest.raises(RuntimeError), engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__), row)  # type: ignore[attr-defined]
        raise RuntimeError("the import failed half-way")
    assert heard == []
    with engine.begin() as conn:
        conn.execute(insert(AuditEntry.__table__), {**row, "object_id": "4"})  # type: ignore[attr-defined]
    assert [([e.object_id for e in entries], visible) for entries, visible in heard] == [(["4"], 1)]
    assert heard[0][0][0].detail == {"created": 5}
