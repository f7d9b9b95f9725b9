"""After-commit notice of audit entries, whichever way they were written (ORM `audit.record` or Core).

Subscribers (the audit channel, the Home tab refresh) register per engine and are called once the
transaction that wrote audit rows has committed, with what was written; a rolled-back change is
never announced, and no caller of `storage.audit.record` has to do anything.

How: every INSERT into `audit` on a connection is noted in that connection's `info`; a rollback
drops the notes, a commit marks them done, and they are handed out when the connection goes back
to the pool (or starts its next transaction), that is after the commit has completed.
(A rolled-back SAVEPOINT inside a committed transaction would still be announced; nothing here
uses savepoints around audited changes.)
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.pool import Pool
from sqlalchemy.sql.dml import Insert

from storage.models import AuditEntry, table_of, utcnow

log = logging.getLogger(__name__)
_PENDING = "contactbot.audit.pending"
_DONE = "contactbot.audit.committed"
_AUDIT = table_of(AuditEntry)


@dataclass(frozen=True)
class Committed:
    """One committed audit entry (no personal data, like the row itself)."""

    actor: str
    action: str
    object_type: str
    object_id: str | None
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


Subscriber = Callable[[list[Committed]], None]
_subscribers: weakref.WeakKeyDictionary[Engine, dict[str, Subscriber]] = weakref.WeakKeyDictionary()


def subscribe(engine: Engine, name: str, callback: Subscriber) -> None:
    """Call `callback` after each commit on `engine` that wrote audit rows (one callback per name)."""
    _subscribers.setdefault(engine, {})[name] = callback


def _snapshot(row: dict[str, Any]) -> Committed:
    at = row.get("at") or utcnow()
    if isinstance(at, datetime) and at.tzinfo is None:
        at = at.replace(tzinfo=UTC)
    object_id = row.get("object_id")
    return Committed(
        str(row.get("actor") or ""),
        str(row.get("action") or ""),
        str(row.get("object_type") or ""),
        None if object_id is None else str(object_id),
        at,
        dict(row.get("detail") or {}),
    )


@event.listens_for(Engine, "after_execute")
def _note(conn: Connection, clause: Any, multiparams: Any, params: Any, options: Any, result: Any) -> None:
    if not isinstance(clause, Insert) or clause.table is not _AUDIT:
        return
    rows = [p for p in (multiparams or [params]) if isinstance(p, dict)]
    if rows and conn.engine in _subscribers:
        pending = conn.info.setdefault(_PENDING, [])
        pending.extend((weakref.ref(conn.engine), _snapshot(row)) for row in rows)


@event.listens_for(Engine, "rollback")
def _drop(conn: Connection) -> None:
    conn.info.pop(_PENDING, None)


@event.listens_for(Engine, "commit")
def _mark(conn: Connection) -> None:
    pending = conn.info.pop(_PENDING, None)
    if pending:
        conn.info.setdefault(_DONE, []).extend(pending)


@event.listens_for(Engine, "begin")
def _on_begin(conn: Connection) -> None:
    _hand_out(conn.info)


@event.listens_for(Pool, "checkin")
def _on_checkin(dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        _hand_out(record.info)


def _hand_out(info: dict[str, Any]) -> None:
    done = info.pop(_DONE, None)
    if not done:
        return
    by_engine: dict[Engine, list[Committed]] = {}
    for ref, entry in done:
        engine = ref()
        if engine is not None:
            by_engine.setdefault(engine, []).append(entry)
    for engine, entries in by_engine.items():
        for name, callback in list(_subscribers.get(engine, {}).items()):
            try:
                callback(entries)
            except Exception as exc:  # the change is committed; a subscriber's failure must not undo it
                log.warning("audit subscriber %s failed: %s", name, type(exc).__name__)
