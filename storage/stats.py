"""Dashboard numbers for the Home tab, each answered without reading the contact table row by row.

Status and messenger counts are a sum over `contact_tally` (a few dozen rows kept exact by
triggers, see migration 0001); "new in the last 7/30 days" range-scans `ix_contact_first_contact_id`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session, col

from bot.domain.statuses import OPEN_BROADCASTS, DeliveryStatus
from storage.models import AuditEntry, Broadcast, Contact, ContactTally, Delivery, ImportRun


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
    stmt = select(ImportRun).order_by(col(ImportRun.id).desc()).limit(limit)
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
        .order_by(col(AuditEntry.at).desc(), col(AuditEntry.id).desc())
        .limit(limit)
    )
    return [
        RunInfo("export", e.object_id, e.at, e.actor, e.action, None, _int_counts(e.detail))
        for e in session.scalars(stmt).all()
    ]


def open_broadcasts(session: Session, limit: int = 5) -> list[BroadcastInfo]:
    """Scheduled, queued, running and paused broadcasts, newest first, with progress from their deliveries."""
    stmt = (
        select(Broadcast)
        .where(col(Broadcast.status).in_(OPEN_BROADCASTS))
        .order_by(col(Broadcast.id).desc())
        .limit(limit)
    )
    rows = list(session.scalars(stmt).all())
    counted = _delivery_counts(session, [b.id for b in rows if b.id is not None])
    return [
        BroadcastInfo(
            b.id or 0,
            b.status,
            b.template,
            _utc(b.scheduled_at),
            b.created_by,
            {**counted.get(b.id or 0, {}), "total": b.total},
        )
        for b in rows
    ]


def _delivery_counts(session: Session, broadcast_ids: list[int]) -> dict[int, dict[str, int]]:
    if not broadcast_ids:
        return {}
    stmt = (
        select(col(Delivery.broadcast_id), col(Delivery.status), func.count())
        .where(col(Delivery.broadcast_id).in_(broadcast_ids))
        .group_by(col(Delivery.broadcast_id), col(Delivery.status))
    )
    raw: dict[int, dict[str, int]] = {}
    for bid, status, n in session.execute(stmt).all():
        raw.setdefault(int(bid), {})[str(status)] = int(n)
    # Delivery statuses are exclusive; report them like counters (read implies delivered implies sent).
    result: dict[int, dict[str, int]] = {}
    for bid, per in raw.items():
        read, delivered = per.get(DeliveryStatus.READ, 0), per.get(DeliveryStatus.DELIVERED, 0)
        result[bid] = {
            "total": sum(per.values()),
            "sent": per.get(DeliveryStatus.SENT, 0) + delivered + read,
            "delivered": delivered + read,
            "read": read,
            "failed": per.get(DeliveryStatus.FAILED, 0),
            "skipped": per.get(DeliveryStatus.SKIPPED, 0),
        }
    return result


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
