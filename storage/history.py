"""A contact's history (templates sent and messages, newest first) and a broadcast's funnel over time.

There is no history table: a template sent to a contact is its `delivery` row (template via the
broadcast, the text as sent, the status times the webhooks reported) and a conversation is its
`message` rows. Writing a second copy would double the writes of the sender's hot path (a thousand
rows a second) and of every status webhook (three per message); erasure deletes both tables with
the contact already, and a suppression row (the opt-out) keeps nothing of this.

A page is one keyset seek per table on `(contact_id, <time>, id)` (migration 0012), merged in
Python: cost grows with the page size, never with the history's length or the number of contacts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, and_, case, func, literal, or_, select, update
from sqlmodel import Session

from bot.domain.statuses import DeliveryStatus
from storage import batch_rows
from storage.message_status import StatusUpdate
from storage.models import Broadcast, Delivery, Message, table_of
from storage.types import UtcDateTime

D: Table = table_of(Delivery)
B: Table = table_of(Broadcast)
M: Table = table_of(Message)
# Rows of a delivery that never left (waiting, being claimed, skipped before sending) are no history.
NOT_SENT = (DeliveryStatus.PENDING, DeliveryStatus.SENDING, DeliveryStatus.SKIPPED)
SOURCE_RANK = {"m": 0, "d": 1}  # at the same instant a template comes before a message (newest first)


@dataclass(frozen=True)
class Cursor:
    """Where a page ends: the last event's time, table (`d` delivery, `m` message) and id."""

    at: datetime
    source: str
    id: int

    def encode(self) -> str:
        return f"{self.at.astimezone(UTC).strftime('%Y%m%d%H%M%S%f')}.{self.source}.{self.id}"

    @classmethod
    def parse(cls, raw: str) -> Cursor | None:
        try:
            stamp, source, ident = raw.split(".")
            at = datetime.strptime(stamp, "%Y%m%d%H%M%S%f").replace(tzinfo=UTC)
            if source not in SOURCE_RANK or not ident.isdigit():
                return None
            return cls(at, source, int(ident))
        except ValueError:
            return None


@dataclass(frozen=True)
class Event:
    """One line of a contact's history: a template sent (`template`), or a message in or out."""

    source: str  # d|m
    id: int
    at: datetime
    direction: str  # in|out
    kind: str  # template, or the message's kind (text, image, ...)
    text: str | None
    template: str | None = None
    language: str | None = None
    broadcast_id: int | None = None
    status: str | None = None
    sent_at: datetime | None = None
    delivered_at: datetime | None = None
    read_at: datetime | None = None
    failed_at: datetime | None = None
    error_code: int | None = None
    error_title: str | None = None

    @property
    def cursor(self) -> Cursor:
        return Cursor(self.at, self.source, self.id)

    def timeline(self) -> list[tuple[str, datetime]]:
        """(status, when) in the order they happened; `delivered` is implied by `read` when its webhook was lost."""
        steps = [("sent", self.sent_at), ("delivered", self.delivered_at or self.read_at), ("read", self.read_at)]
        out = [(name, when) for name, when in steps if when is not None]
        if self.failed_at is not None or self.status == DeliveryStatus.FAILED:
            out.append(("failed", self.failed_at or self.at))
        return out


def _utc(value: Any) -> datetime | None:
    if value is None:
        return None
    when: datetime = datetime.fromisoformat(value + ":00" * (len(value) == 13)) if isinstance(value, str) else value
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def _before(at_col: Any, id_col: Any, source: str, cursor: Cursor | None) -> list[ColumnElement[bool]]:
    """Rows after the cursor in newest-first order (at, source rank, id all descending), as an index range."""
    if cursor is None:
        return []
    at = literal(cursor.at, UtcDateTime())
    mine, theirs = SOURCE_RANK[source], SOURCE_RANK[cursor.source]
    if mine < theirs:
        return [at_col <= at]
    if mine > theirs:
        return [at_col < at]
    return [at_col <= at, or_(at_col < at, id_col < cursor.id)]  # `<=` first: the index seeks on it


def page(session: Session, contact_id: int, cursor: Cursor | None = None, limit: int = 10) -> tuple[list[Event], bool]:
    """Up to `limit` events older than `cursor` (newest first), and whether there are more."""
    deliveries = (
        select(
            D.c.id,
            D.c.claimed_at,
            D.c.text,
            D.c.status,
            D.c.sent_at,
            D.c.delivered_at,
            D.c.read_at,
            D.c.failed_at,
            D.c.error_code,
            D.c.error_title,
            D.c.broadcast_id,
            B.c.template,
            B.c.language,
        )
        .join(B, B.c.id == D.c.broadcast_id)
        .where(
            D.c.contact_id == contact_id,
            D.c.claimed_at.is_not(None),
            D.c.status.not_in(NOT_SENT),
            *_before(D.c.claimed_at, D.c.id, "d", cursor),
        )
        .order_by(D.c.claimed_at.desc(), D.c.id.desc())
        .limit(limit + 1)
    )
    messages = (
        select(
            M.c.id,
            M.c.sent_at,
            M.c.direction,
            M.c.kind,
            M.c.text,
            M.c.status,
            M.c.status_at,
            M.c.error_code,
            M.c.error_title,
        )
        .where(M.c.contact_id == contact_id, *_before(M.c.sent_at, M.c.id, "m", cursor))
        .order_by(M.c.sent_at.desc(), M.c.id.desc())
        .limit(limit + 1)
    )
    events: list[Event] = []
    for r in session.execute(deliveries):
        failed_at = _utc(r.failed_at)
        events.append(
            Event(
                "d",
                int(r.id),
                _utc(r.claimed_at) or datetime.now(UTC),
                "out",
                "template",
                r.text,
                template=r.template,
                language=r.language,
                broadcast_id=int(r.broadcast_id),
                status=r.status,
                sent_at=_utc(r.sent_at),
                delivered_at=_utc(r.delivered_at),
                read_at=_utc(r.read_at),
                failed_at=failed_at,
                error_code=r.error_code,
                error_title=r.error_title,
            )
        )
    for r in session.execute(messages):
        at = _utc(r.sent_at) or datetime.now(UTC)
        status_at = _utc(r.status_at)
        out = r.direction == "out"
        events.append(
            Event(
                "m",
                int(r.id),
                at,
                r.direction,
                r.kind,
                r.text,
                status=r.status,
                sent_at=at if out else None,
                delivered_at=status_at if out and r.status in ("delivered", "read") else None,
                read_at=status_at if out and r.status == "read" else None,
                failed_at=status_at if out and r.status == "failed" else None,
                error_code=r.error_code,
                error_title=r.error_title,
            )
        )
    events.sort(key=lambda e: (e.at, SOURCE_RANK[e.source], e.id), reverse=True)
    return events[:limit], len(events) > limit


# --- status times, from the status webhooks ---------------------------------------------------------------

_STAMP = {"sent": "sent_at", "delivered": "delivered_at", "read": "read_at", "failed": "failed_at"}


def _stamp_sql(dialect: str, column: str, only_empty: bool) -> str:
    keep = f"delivery.{column} IS NULL" + ("" if only_empty else f" OR delivery.{column} > v.at")
    return (
        f"UPDATE delivery SET {column} = v.at FROM {batch_rows.source(dialect, _STAMP_COLUMNS)} "
        f"WHERE delivery.wa_message_id = v.id AND ({keep})"
    )


_STAMP_COLUMNS = (("id", "text"), ("at", "timestamp"))
_STAMP_SQL = {  # built once: the webhook inbox runs these for every batch (storage/batch_rows.py)
    (dialect, status): _stamp_sql(dialect, column, status == "sent")
    for dialect in ("postgresql", "sqlite")
    for status, column in _STAMP.items()
}


def stamp_statuses(session: Session, statuses: Iterable[StatusUpdate]) -> None:
    """Each status's time onto its delivery (by message id), the earliest reported, whatever the order.

    Independent of the rank rule that moves `delivery.status` forward: a late `delivered` after `read`
    still tells when it was delivered. `sent` only fills a row that has no send time (an ambiguous send
    settled by its webhook). One set-based UPDATE per status kind, rows in message-id order (no deadlocks)."""
    earliest: dict[tuple[str, str], datetime] = {}
    for s in statuses:
        if s.status not in _STAMP:
            continue
        key = (s.status, s.wa_message_id)
        if key not in earliest or s.timestamp < earliest[key]:
            earliest[key] = s.timestamp
    if not earliest:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    for status in _STAMP:
        rows = [(wamid, batch_rows.stamp(dialect, at)) for (st, wamid), at in sorted(earliest.items()) if st == status]
        if rows:
            conn.exec_driver_sql(_STAMP_SQL[(dialect, status)], batch_rows.bind(dialect, rows))


# --- a broadcast's funnel over time -------------------------------------------------------------------------

SERIES = ("sent", "delivered", "read", "failed")
_PREFIX = {"second": 19, "minute": 16, "hour": 13}  # of SQLite's stored text, `YYYY-MM-DD HH:MM:SS.ffffff`


def _bucket(session: Session, column: Any, unit: str) -> Any:
    """The time bucket of a timestamp: PostgreSQL truncates; SQLite cuts its stored text (cheaper than
    strftime on every row)."""
    if session.get_bind().dialect.name == "postgresql":
        return func.date_trunc(unit, column)
    return func.substr(column, 1, _PREFIX[unit])


def timeline(session: Session, broadcast_id: int, unit: str = "minute") -> list[tuple[datetime, str, int]]:
    """(time bucket, series, how many reached it then) for sent / delivered / read / failed, aggregated in SQL.

    Each series counts the rows whose status is at least that far, exactly as the report counts them
    (sent = sent|delivered|read, ...), so the curves end at the report's figures; a row's time is the
    webhook's time, else the last status time the row has. One pass over the broadcast's rows, grouped by
    the row's buckets (a row has at most three: sent, delivered, read; or one: failed), summed per series
    here."""
    fallback = func.coalesce(D.c.status_at, D.c.updated_at)
    reached = {
        "sent": ((DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ), D.c.sent_at),
        "delivered": ((DeliveryStatus.DELIVERED, DeliveryStatus.READ), func.coalesce(D.c.delivered_at, D.c.read_at)),
        "read": ((DeliveryStatus.READ,), D.c.read_at),
        "failed": ((DeliveryStatus.FAILED,), D.c.failed_at),
    }
    buckets = [
        case((D.c.status.in_(statuses), _bucket(session, func.coalesce(when, fallback), unit)), else_=None).label(name)
        for name, (statuses, when) in reached.items()
    ]
    n = func.count().label("n")
    stmt = (
        select(*buckets, n)
        .where(D.c.broadcast_id == broadcast_id, D.c.status.in_(reached["sent"][0] + reached["failed"][0]))
        .group_by(*buckets)
    )
    totals: dict[tuple[datetime, str], int] = {}
    for row in session.execute(stmt):
        for name in SERIES:
            at = _utc(row._mapping[name])
            if at is not None:
                totals[(at, name)] = totals.get((at, name), 0) + int(row.n)
    return sorted((at, name, count) for (at, name), count in totals.items())


# --- the chart's Slack file, on the broadcast row -------------------------------------------------------------


def claim_chart(session: Session, broadcast_id: int, key: str, now: datetime, not_after: datetime | None) -> bool:
    """Take the right to draw the chart for these figures (`key`): not drawn for them yet and, for a
    progress chart (`not_after`), the last one is older than that. One process wins; the others skip."""
    conds = [B.c.id == broadcast_id, or_(B.c.chart_key.is_(None), B.c.chart_key != key)]
    if not_after is not None:
        conds.append(or_(B.c.chart_at.is_(None), B.c.chart_at < not_after))
    return session.exec(update(B).where(and_(*conds)).values(chart_key=key, chart_at=now)).rowcount == 1


def release_chart(session: Session, broadcast_id: int, key: str) -> None:
    """The upload failed: let the next redraw try these figures again."""
    session.execute(update(B).where(B.c.id == broadcast_id, B.c.chart_key == key).values(chart_key=None))


def set_chart_file(session: Session, broadcast_id: int, file_id: str) -> str | None:
    """Record the new chart's file; returns the one it replaces (to delete it in Slack)."""
    previous = session.scalar(select(B.c.chart_file_id).where(B.c.id == broadcast_id))
    session.execute(update(B).where(B.c.id == broadcast_id).values(chart_file_id=file_id))
    return str(previous) if previous and previous != file_id else None
