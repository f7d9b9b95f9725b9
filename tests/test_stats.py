"""Dashboard numbers: right on SQLite and PostgreSQL, and every count answered from an index."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine, Table, event, insert
from sqlmodel import Session

from bot.services import dashboard
from storage import stats
from storage.models import Broadcast, Delivery, table_of, utcnow
from tests.factories import add_contact


def test_counts_by_status_messenger_and_age(engine: Engine) -> None:
    now = utcnow()
    add_contact(engine, "+4917011111111", "A", first_contact_at=now - timedelta(days=1))
    add_contact(engine, "+4917022222222", "B", first_contact_at=now - timedelta(days=10), messenger="sms")
    add_contact(engine, "+4917033333333", "C", first_contact_at=now - timedelta(days=40), active=False)
    add_contact(
        engine,
        "+4917044444444",
        "D",
        first_contact_at=now - timedelta(days=400),
        blocked=True,
        active=False,
        messenger="sms",
    )
    board = dashboard.load(engine, now)
    c = board.counts
    assert (c.total, c.active, c.inactive, c.blocked, c.new_7d, c.new_30d) == (4, 2, 2, 1, 1, 2)
    assert c.by_messenger == {"sms": 2, "whatsapp": 2}
    assert board.imports == [] and board.exports == []


def test_every_contact_count_uses_an_index_on_sqlite(tmp_path, sqlite_template) -> None:  # type: ignore[no-untyped-def]
    """At 1,000,000 contacts a full table scan per count would make Home slow: each walks an index."""
    import shutil

    from storage.db import make_engine

    path = tmp_path / "plan.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    statements: list[tuple[str, object]] = []

    @event.listens_for(engine, "before_cursor_execute")
    def grab(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if re.search(r"FROM contact\b(?!_)", statement) and statement.lstrip().upper().startswith("SELECT"):
            statements.append((statement, parameters))

    with Session(engine) as session:
        stats.contact_counts(session, utcnow())
    assert len(statements) == 2  # the status/messenger numbers come from contact_tally
    event.remove(engine, "before_cursor_execute", grab)
    with engine.connect() as conn:
        for statement, parameters in statements:
            plan = " ".join(str(row[-1]) for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters))
            assert "USING COVERING INDEX" in plan or "USING INDEX" in plan, (statement, plan)
    engine.dispose()


def _filler(column: Any) -> Any:
    """A value for a NOT NULL column another feature defined, by its type."""
    kind = type(column.type).__name__.lower()
    if "json" in kind:
        return {}
    if "int" in kind or "float" in kind or "numeric" in kind:
        return 0
    if "date" in kind or "utc" in kind or "time" in kind:
        return utcnow().replace(tzinfo=None)
    if "bool" in kind:
        return False
    return "x"


def _row(table: Table, **values: Any) -> dict[str, Any]:
    row = {
        c.name: _filler(c)
        for c in table.columns
        if not c.nullable and c.default is None and c.server_default is None and not c.primary_key
    }
    return {**row, **values}


def test_open_broadcasts_with_progress_from_the_deliveries(engine: Engine) -> None:
    table, deliveries = table_of(Broadcast), table_of(Delivery)
    with Session(engine) as session:
        assert stats.open_broadcasts(session) == []  # nothing open yet: an empty section
    cids = [add_contact(engine, f"+491701111111{i}", f"K{i}") for i in range(4)]
    with engine.begin() as conn:
        running = conn.execute(
            insert(table).returning(table.c.id), _row(table, status="running", template="herbst", total=4)
        ).scalar_one()
        conn.execute(insert(table), _row(table, status="done", template="alt"))
        conn.execute(
            insert(deliveries),
            [
                _row(deliveries, broadcast_id=running, contact_id=cid, status=status, phone=f"+49170{cid}")
                for cid, status in zip(cids, ("read", "delivered", "failed", "pending"), strict=True)
            ],
        )
    with Session(engine) as session:
        found = stats.open_broadcasts(session)
    assert found is not None and [b.template for b in found] == ["herbst"]
    progress = found[0].progress
    assert (progress["total"], progress["sent"], progress["delivered"], progress["read"], progress["failed"]) == (
        4,
        2,
        2,
        1,
        1,
    )
