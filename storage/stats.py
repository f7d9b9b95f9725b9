"""Dashboard numbers for the Home tab, each answered without reading the contact table row by row.

Status and messenger counts are a sum over `contact_tally` (a few dozen rows kept exact by
triggers, see migration 0001); "new in the last 7/30 days" range-scans `ix_contact_first_contact_id`.
Tables that other features own (`broadcast`, `delivery`) are read only when they exist.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, MetaData, Table, func, inspect, select
from sqlmodel import Session, col

from storage.models import AuditEntry, Contact, ContactTally, ImportRun

FINISHED_BROADCAST = frozenset(
    {"done", "finished", "completed", "complete", "sent", "cancelled", "canceled", "failed", "stopped", "aborted"}
)
_PROGRESS_COLUMNS = ("total", "sent", "delivered", "read", "failed", "skipped", "pending")
_reflected: weakref.WeakKeyDictionary[Engine, dict[str, Table]] = weakref.WeakKeyDictionary()


@dataclass(frozen=True)
class ContactCounts:
    total: int
    active: int
    blocked: int
    new_7d: int
    new_30d: int
    by_messenger: dict[str, int] = field(default_factory=dict)

    @property
    def inactive(self) -> int:
        return self.total - self.active


@dataclass(frozen=True)
class RunInfo:
    """One import or export for the dashboard: no file contents, only counts."""

    kind: str  # import|export
    id: str | None
    at: datetime
    by: str
    status: str
    name: str | None = None
    counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class BroadcastInfo:
    id: int
    status: str
    template: str | None
    scheduled_at: datetime | None
    created_by: str | None
    progress: dict[str, int] = field(default_factory=dict)


def _count(session: Session, *where: Any) -> int:
    return int(session.scalar(select(func.count()).select_from(Contact).where(*where)) or 0)


def contact_counts(session: Session, now: datetime) -> ContactCounts:
    total = active = blocked = 0
    by_messenger: dict[str, int] = {}
    stmt = select(col(ContactTally.active), col(ContactTally.blocked), col(ContactTally.messenger), col(ContactTally.n))
    for is_active, is_blocked, messenger, n in session.execute(stmt).all():
        total += n
        active += n if is_active else 0
        blocked += n if is_blocked else 0
        by_messenger[str(messenger)] = by_messenger.get(str(messenger), 0) + int(n)
    return ContactCounts(
        total=total,
        active=active,
        blocked=blocked,
        new_7d=_count(session, Contact.first_contact_at >= now - timedelta(days=7)),
        new_30d=_count(session, Contact.first_contact_at >= now - timedelta(days=30)),
        by_messenger=dict(sorted(((m, n) for m, n in by_messenger.items() if n), key=lambda kv: (-kv[1], kv[0]))),
    )


def _int_counts(data: dict[str, Any] | None) -> dict[str, int]:
    """Only numbers from a JSON summary (top level and one nested level, like the import's `counts`)."""
    found: dict[str, int] = {}
    for key, value in (data or {}).items():
        if isinstance(value, dict):
            found.update({str(k): int(v) for k, v in value.items() if isinstance(v, int) and not isinstance(v, bool)})
        elif isinstance(value, int) and not isinstance(value, bool):
            found[str(key)] = int(value)
    return found


def recent_imports(session: Session, limit: int = 3) -> list[RunInfo]:
    stmt = select(ImportRun).order_by(ImportRun.id.desc()).limit(limit)  # type: ignore[union-attr]
    return [
        RunInfo(
            "import",
            str(run.id),
            run.applied_at or run.created_at,
            run.applied_by or run.created_by,
            run.status,
            run.file_name,
            _int_counts(run.summary),
        )
        for run in session.scalars(stmt).all()
    ]


def recent_exports(session: Session, now: datetime, limit: int = 3, days: int = 30) -> list[RunInfo]:
    """Exports leave an audit entry whose action names them (`export`, `contact.export`, ...)."""
    stmt = (
        select(AuditEntry)
        .where(col(AuditEntry.at) >= now - timedelta(days=days), col(AuditEntry.action).like("%export%"))
        .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())  # type: ignore[attr-defined,union-attr]
        .limit(limit)
    )
    return [
        RunInfo("export", e.object_id, e.at, e.actor, e.action, None, _int_counts(e.detail))
        for e in session.scalars(stmt).all()
    ]


def _table(session: Session, name: str) -> Table | None:
    """A table another feature's migration created, reflected once per engine; None while absent."""
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    cache = _reflected.setdefault(engine, {})
    if name not in cache:
        if not inspect(session.connection()).has_table(name):
            return None
        cache[name] = Table(name, MetaData(), autoload_with=session.connection())
    return cache[name]


def open_broadcasts(session: Session, limit: int = 5) -> list[BroadcastInfo] | None:
    """Scheduled and running broadcasts with progress; None while the broadcast feature is absent."""
    table = _table(session, "broadcast")
    if table is None or "id" not in table.c or "status" not in table.c:
        return None
    c = table.c
    stmt = select(table).where(c.status.not_in(sorted(FINISHED_BROADCAST))).order_by(c.id.desc()).limit(limit)
    rows = [r._mapping for r in session.execute(stmt).all()]
    progress = {int(r["id"]): _row_progress(r) for r in rows}
    missing = [bid for bid, p in progress.items() if "sent" not in p]
    if missing:
        for bid, counted in _delivery_counts(session, missing).items():
            progress[bid] = {**counted, **progress[bid]}
    found = []
    for r in rows:
        template = next((r[k] for k in ("template", "template_name", "name") if k in r and r[k]), None)
        scheduled = r.get("scheduled_at") if isinstance(r.get("scheduled_at"), datetime) else None
        creator = r.get("created_by")
        found.append(
            BroadcastInfo(
                int(r["id"]),
                str(r["status"]),
                None if template is None else str(template),
                _utc(scheduled),
                None if creator is None else str(creator),
                progress.get(int(r["id"]), {}),
            )
        )
    return found


def _row_progress(row: Any) -> dict[str, int]:
    """Counter columns on the broadcast row (`sent` or `sent_count`, `recipients` as total), if any."""
    found: dict[str, int] = {}
    for key in _PROGRESS_COLUMNS:
        for column in (key, f"{key}_count"):
            value = row.get(column)
            if isinstance(value, int) and not isinstance(value, bool):
                found[key] = value
                break
    for column in ("recipients", "recipient_count", "audience_count"):
        value = row.get(column)
        if "total" not in found and isinstance(value, int) and not isinstance(value, bool):
            found["total"] = value
    return found


def _delivery_counts(session: Session, broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    table = _table(session, "delivery")
    if table is None or "broadcast_id" not in table.c or "status" not in table.c:
        return {}
    stmt = (
        select(table.c.broadcast_id, table.c.status, func.count())
        .where(table.c.broadcast_id.in_(broadcast_ids))
        .group_by(table.c.broadcast_id, table.c.status)
    )
    raw: dict[int, dict[str, int]] = {}
    for bid, status, n in session.execute(stmt).all():
        raw.setdefault(int(bid), {})[str(status)] = int(n)
    # Delivery statuses are exclusive; report them like counters (read implies delivered implies sent).
    result: dict[int, dict[str, int]] = {}
    for bid, per in raw.items():
        read, delivered = per.get("read", 0), per.get("delivered", 0)
        result[bid] = {
            "total": sum(per.values()),
            "sent": per.get("sent", 0) + delivered + read,
            "delivered": delivered + read,
            "read": read,
            "failed": per.get("failed", 0),
            "skipped": per.get("skipped", 0),
        }
    return result


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
