"""The webhook inbox: raw WhatsApp webhook bodies, stored in one insert when they arrive and taken
out in batches by whichever web process consumes first.

Taking a batch deletes its rows in the same transaction that applies them: a consumer that dies
mid-batch rolls back, so the rows are there again for the next one (nothing lost, nothing applied
twice). On PostgreSQL concurrent consumers skip each other's locked rows (`FOR UPDATE SKIP
LOCKED`); SQLite has one writer at a time, so its consumers simply take turns.

The statements are built once at import: per request the route pays for one executemany, not for
building and compiling SQL (which was ~90% of a status webhook's cost when each was applied inline).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Table, delete, func, select
from sqlalchemy.engine import Connection, Engine

from storage import batch_rows
from storage.models import WebhookInbox, utcnow

CUSTOMER = 0  # a body with customer messages or opt-outs: someone waits to see it
STATUSES = 1  # delivery statuses only: a broadcast sends them by the thousand

INBOX: Table = WebhookInbox.__table__  # type: ignore[attr-defined]

_OLDEST = select(func.min(INBOX.c.received_at))
_PENDING = select(func.count()).select_from(INBOX)
_ANY = select(INBOX.c.id).limit(1)


def _take(limit: int, postgres: bool) -> object:
    """DELETE ... RETURNING of the oldest `limit` rows; on PostgreSQL rows another consumer holds are skipped."""
    oldest = select(INBOX.c.id).order_by(INBOX.c.priority, INBOX.c.id).limit(limit)
    if postgres:
        oldest = oldest.with_for_update(skip_locked=True)
    return delete(INBOX).where(INBOX.c.id.in_(oldest.scalar_subquery())).returning(INBOX.c.id, INBOX.c.body)


_TAKE: dict[tuple[int, bool], object] = {}


_ADD_SQL = "INSERT INTO webhook_inbox (priority, received_at, body) VALUES ({p}, {p}, {p})"


def add(engine: Engine, bodies: Sequence[tuple[bytes, int]]) -> None:
    """Store (body, priority) pairs as received: one executemany, one commit for all of them. Plain driver SQL
    (no statement to build): this runs once per group of concurrent webhook requests, and is all the work a
    request waits for. (An `unnest` of arrays was slower on PostgreSQL: psycopg adapts arrays element by
    element in Python, while its executemany sends the rows in one pipeline.)"""
    with engine.begin() as conn:
        dialect = conn.dialect.name
        now = batch_rows.stamp(dialect, utcnow())
        sql = _ADD_SQL.format(p=batch_rows.mark(dialect))
        conn.exec_driver_sql(sql, [(p, now, b) for b, p in bodies])


def take(conn: Connection, limit: int) -> list[tuple[int, bytes]]:
    """The oldest `limit` bodies (id, body), deleted in the caller's transaction: they are gone only if it commits."""
    postgres = conn.dialect.name == "postgresql"
    statement = _TAKE.get((limit, postgres))
    if statement is None:
        statement = _TAKE.setdefault((limit, postgres), _take(limit, postgres))
    rows = conn.execute(statement).all()  # type: ignore[call-overload]
    return sorted((int(i), bytes(b)) for i, b in rows)  # RETURNING order is not guaranteed: keep arrival order


def take_one(conn: Connection, inbox_id: int) -> bytes | None:
    """One body by id (deleted in the caller's transaction); None if another consumer took it."""
    return conn.execute(delete(INBOX).where(INBOX.c.id == inbox_id).returning(INBOX.c.body)).scalar()


def any_waiting(engine: Engine) -> bool:
    """A read-only look: an idle consumer must not open a write transaction (on SQLite, the one write lock) to
    find the inbox empty."""
    with engine.connect() as conn:
        return conn.execute(_ANY).first() is not None


def pending(engine: Engine) -> int:
    """How many bodies wait to be applied (committed ones; a batch being applied still counts)."""
    with engine.connect() as conn:
        return int(conn.execute(_PENDING).scalar() or 0)


def oldest(engine: Engine) -> datetime | None:
    """When the oldest waiting body arrived: the apply lag is now minus this."""
    with engine.connect() as conn:
        return conn.execute(_OLDEST).scalar()
