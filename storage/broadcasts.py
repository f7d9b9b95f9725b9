"""Broadcast queries: freeze the audience, claim batches, write outcomes, count; all set-based.

Guarantees live here, in SQL: a broadcast starts once (a guarded status UPDATE in the same
transaction as the one INSERT ... SELECT that freezes its recipients); a delivery is claimed by one
sender (`FOR UPDATE SKIP LOCKED`), and a lease keeps one sending process per WhatsApp number (its
throughput limit is per number); a row left `sending` past the lease becomes `unknown` if its request
had started (the in-flight marker `requested_at`), else `pending` again.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    and_,
    case,
    exists,
    func,
    insert,
    literal,
    not_,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from bot.domain.contacts import ContactFilter
from bot.domain.statuses import BroadcastStatus, DeliveryStatus
from storage import batch_rows
from storage.contacts import filter_conditions
from storage.message_status import RANK, STATUS_COLUMNS, StatusUpdate, status_rows, strongest
from storage.models import Attribute, Broadcast, Contact, ContactAttribute, Delivery, table_of, utcnow
from storage.types import UtcDateTime

# Why a contact matched by the filter is not a recipient, checked in this order.
EXCLUSIONS = ("not_whatsapp", "inactive", "blocked", "opted_out", "no_consent")
FINAL = (
    DeliveryStatus.SENT,
    DeliveryStatus.DELIVERED,
    DeliveryStatus.READ,
    DeliveryStatus.FAILED,
    DeliveryStatus.SKIPPED,
    DeliveryStatus.UNKNOWN,
)
D = table_of(Delivery)
B = table_of(Broadcast)


def _exclusion_conditions() -> dict[str, ColumnElement[bool]]:
    return {
        "not_whatsapp": col(Contact.messenger) != "whatsapp",
        "inactive": col(Contact.active) == False,  # noqa: E712
        "blocked": col(Contact.blocked) == True,  # noqa: E712
        "opted_out": col(Contact.opted_out_at).is_not(None),
        "no_consent": col(Contact.consent_at).is_(None),
    }


def reachable() -> list[ColumnElement[bool]]:
    """Messenger whatsapp, active, not blocked, not opted out, consent on record."""
    return [not_(cond) for cond in _exclusion_conditions().values()]


def missing_condition(session: Session, field: str) -> ColumnElement[bool]:
    """The contact has no value for a parameter source (`name`, `phone`, `attr:KEY`)."""
    if field == "name":
        return or_(col(Contact.name).is_(None), func.trim(col(Contact.name)) == "")
    if field == "phone":
        return literal(False)
    key = field.removeprefix("attr:")
    attr_id = session.scalar(select(col(Attribute.id)).where(col(Attribute.key) == key))
    if attr_id is None:
        return literal(True)
    return not_(
        exists(
            select(col(ContactAttribute.contact_id)).where(
                col(ContactAttribute.contact_id) == col(Contact.id),
                col(ContactAttribute.attribute_id) == attr_id,
                func.trim(ContactAttribute.value) != "",
            )
        )
    )


def breakdown(session: Session, flt: ContactFilter, region: str, required_fields: Sequence[str]) -> dict[str, int]:
    """How many the filter matches, how many will receive it, and how many are left out and why."""
    excl = _exclusion_conditions()
    cases = []
    for i, name in enumerate(EXCLUSIONS):  # first failing reason wins, so the parts add up
        earlier = [not_(excl[n]) for n in EXCLUSIONS[:i]]
        cases.append(func.sum(case((and_(*earlier, excl[name]), 1), else_=0)).label(name))
    missing = [missing_condition(session, f) for f in required_fields]
    missing_expr = and_(*reachable(), or_(*missing)) if missing else literal(False)
    stmt = select(
        func.count().label("matched"), *cases, func.sum(case((missing_expr, 1), else_=0)).label("missing_param")
    )
    row = session.execute(stmt.select_from(Contact).where(*filter_conditions(session, flt, region))).one()
    out = {k: int(v or 0) for k, v in row._mapping.items()}
    out["recipients"] = out["matched"] - sum(out[n] for n in EXCLUSIONS) - out["missing_param"]
    return out


def create(session: Session, **fields: Any) -> tuple[Broadcast, bool]:
    """Insert a broadcast, or return the one already made for this `request_key` (double click)."""
    key = fields.get("request_key")
    if key:
        found = session.scalars(select(Broadcast).where(Broadcast.request_key == key)).first()
        if found is not None:
            return found, False
    row = Broadcast(**fields)
    try:
        with session.begin_nested():
            session.add(row)
    except IntegrityError:
        found = session.scalars(select(Broadcast).where(col(Broadcast.request_key) == key)).first()
        if found is None:
            raise
        return found, False
    return row, True


def get(session: Session, broadcast_id: int) -> Broadcast | None:
    return session.get(Broadcast, broadcast_id)


def recent(session: Session, limit: int = 20) -> list[Broadcast]:
    stmt = select(Broadcast).order_by(col(Broadcast.id).desc()).limit(limit)
    return list(session.scalars(stmt).all())


def start(
    session: Session,
    broadcast_id: int,
    flt: ContactFilter,
    region: str,
    required_fields: Sequence[str],
    now: datetime | None = None,
) -> int | None:
    """Move a due broadcast to `running` and freeze its recipients; None if someone else did (or not due).

    The guarded UPDATE and the INSERT ... SELECT share one transaction: two processes, a double
    click or a Slack retry can never freeze twice (and the unique (broadcast, contact) backs it up).
    """
    now = now or utcnow()
    won = session.exec(
        update(B)
        .where(
            B.c.id == broadcast_id,
            B.c.status.in_((BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED)),
            or_(B.c.scheduled_at.is_(None), B.c.scheduled_at <= now),
        )
        .values(status=BroadcastStatus.RUNNING, started_at=now, updated_at=now)
    ).rowcount
    if won != 1:
        return None
    missing = [missing_condition(session, f) for f in required_fields]
    status = (
        case((or_(*missing), literal(DeliveryStatus.SKIPPED.value)), else_=literal(DeliveryStatus.PENDING.value))
        if missing
        else literal(DeliveryStatus.PENDING.value)
    )
    title = case((or_(*missing), literal("missing_param")), else_=literal(None)) if missing else literal(None)
    source = select(
        literal(broadcast_id), col(Contact.id), col(Contact.phone), status, title, literal(0), literal(now)
    ).where(*filter_conditions(session, flt, region), *reachable())
    session.execute(
        insert(D).from_select(
            ["broadcast_id", "contact_id", "phone", "status", "error_title", "attempts", "updated_at"], source
        )
    )
    total = int(session.scalar(select(func.count()).select_from(D).where(D.c.broadcast_id == broadcast_id)) or 0)
    session.execute(update(B).where(B.c.id == broadcast_id).values(total=total))
    return total


def set_status(session: Session, broadcast_id: int, allowed_from: Iterable[str], to: str, **values: Any) -> bool:
    """Change status only from the given ones; False when the broadcast had moved on meanwhile."""
    now = utcnow()
    extra: dict[str, Any] = (
        {"finished_at": now} if to in (BroadcastStatus.DONE, BroadcastStatus.CANCELLED, BroadcastStatus.STOPPED) else {}
    )
    result = session.exec(
        update(B)
        .where(B.c.id == broadcast_id, B.c.status.in_(tuple(allowed_from)))
        .values(status=to, updated_at=now, **extra, **values)
    )
    return result.rowcount == 1


SENDER_LOCK = 0x5EB0_0C57  # pg advisory lock key: lease decisions are serialized (SQLite: by its write lock)


def acquire_lease(session: Session, broadcast_id: int, owner: str, seconds: float) -> bool:
    """Take or renew the sending lease: one sender at a time for the WhatsApp number, on any database.

    Meta's throughput limit is per phone number, so two processes (or two broadcasts) sending at
    once would each use the whole of it. Other workers are hot standbys: they take over when the
    lease runs out (the claim itself is still `SKIP LOCKED`, safe while a takeover overlaps).
    """
    now = utcnow()
    if session.get_bind().dialect.name == "postgresql":
        session.execute(select(func.pg_advisory_xact_lock(SENDER_LOCK)))
    others = select(B.c.id).where(
        B.c.id != broadcast_id, B.c.lease_owner.is_not(None), B.c.lease_owner != owner, B.c.lease_until >= now
    )
    result = session.exec(
        update(B)
        .where(
            B.c.id == broadcast_id,
            B.c.status == BroadcastStatus.RUNNING,
            or_(B.c.lease_owner.is_(None), B.c.lease_owner == owner, B.c.lease_until < now),
            not_(exists(others)),
        )
        .values(lease_owner=owner, lease_until=now + timedelta(seconds=seconds))
    )
    return result.rowcount == 1


def release_lease(session: Session, broadcast_id: int, owner: str) -> None:
    session.execute(
        update(B).where(B.c.id == broadcast_id, B.c.lease_owner == owner).values(lease_owner=None, lease_until=None)
    )


def recover_stale(
    session: Session, broadcast_id: int, lease_seconds: float, claimed_before: datetime | None = None
) -> int:
    """Rows a dead sender left `sending`: those it had started a request for may have been accepted by
    Meta, so they become `unknown`; those it had only claimed go back to `pending` (sent by whoever
    goes on). `claimed_before`: the caller's own first claim, so it never takes back rows it still holds.
    Returns how many became unknown."""
    now = utcnow()
    cutoff = now - timedelta(seconds=lease_seconds)
    cutoff = min(cutoff, claimed_before) if claimed_before is not None else cutoff
    stale = and_(
        D.c.broadcast_id == broadcast_id,
        D.c.status == DeliveryStatus.SENDING,
        D.c.claimed_at < cutoff,
    )
    session.execute(
        update(D)
        .where(stale, D.c.requested_at.is_(None))
        .values(status=DeliveryStatus.PENDING, attempts=D.c.attempts - 1, updated_at=now)
    )
    return session.exec(
        update(D).where(stale).values(status=DeliveryStatus.UNKNOWN, unknown_at=now, updated_at=now)
    ).rowcount


@dataclass(frozen=True)
class Claimed:
    id: int
    contact_id: int
    phone: str
    attempts: int


UNDELIVERABLE_AFTER = 2  # 131026 this many times in a row: left out until the person writes in again
# Why a frozen recipient is skipped when its row is claimed (the audience may have frozen days ago).
SKIP_REASONS = ("erased", "blocked", "opted_out", "inactive", "undeliverable")


def _skip_reason(marketing: bool) -> Any:
    """Per delivery row, why its contact must not get the message now ('' = send it), in SQL.

    A correlated subquery on the contact: no row gives NULL, hence `erased` (a safety net: erasure deletes the
    contact's deliveries with it and counts them on the broadcast, `storage/contacts.py: _note_erased`).
    A marketing template also respects the marketing-only opt-out (131050, `user_preferences`)."""
    c = Contact.__table__  # type: ignore[attr-defined]
    opted_out = c.c.opted_out_at.is_not(None)
    if marketing:
        opted_out = or_(opted_out, c.c.marketing_opted_out_at.is_not(None))
    reason = case(
        (c.c.blocked == True, literal("blocked")),  # noqa: E712
        (opted_out, literal("opted_out")),
        (c.c.active == False, literal("inactive")),  # noqa: E712
        (c.c.undeliverable_count >= UNDELIVERABLE_AFTER, literal("undeliverable")),
        else_=literal(""),
    )
    return func.coalesce(select(reason).where(c.c.id == D.c.contact_id).scalar_subquery(), literal("erased"))


def _is_marketing(session: Session, broadcast_id: int) -> bool:
    template = session.scalar(select(B.c.template_def).where(B.c.id == broadcast_id)) or {}
    return str(template.get("category", "")).upper() == "MARKETING"


def claim(session: Session, broadcast_id: int, limit: int) -> list[Claimed]:
    """Mark up to `limit` due pending rows `sending` in one statement and return them.

    The same statement re-checks each recipient (issue 14): a contact blocked, opted out,
    deactivated, erased or found undeliverable since the audience froze is `skipped` with that
    reason in `error_title` instead, and not returned."""
    now = utcnow()
    due = (
        select(D.c.id)
        .where(
            D.c.broadcast_id == broadcast_id,
            D.c.status == DeliveryStatus.PENDING,
            or_(D.c.next_attempt_at.is_(None), D.c.next_attempt_at <= now),
            or_(D.c.not_before.is_(None), D.c.not_before <= now),  # the recipient's window is open (issue 18)
            or_(D.c.not_after.is_(None), D.c.not_after > now),
        )
        .order_by(D.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    reason = _skip_reason(_is_marketing(session, broadcast_id))
    send = reason == literal("")
    stmt = (
        update(D)
        .where(D.c.id.in_(due.scalar_subquery()))
        .values(
            status=case((send, literal("sending")), else_=literal("skipped")),
            error_title=case((send, D.c.error_title), else_=reason),
            claimed_at=case((send, literal(now, UtcDateTime())), else_=D.c.claimed_at),
            updated_at=now,
            attempts=D.c.attempts + case((send, 1), else_=0),
            requested_at=None,
        )
        .returning(D.c.id, D.c.contact_id, D.c.phone, D.c.attempts, D.c.status)
    )
    while True:  # a batch that was all skipped is not the end: claim the next one
        found = session.execute(stmt).all()
        rows = [Claimed(*r[:4]) for r in found if r[4] == "sending"]
        if rows or not found:
            break
    rows.sort(key=lambda r: r.id)
    return rows


def field_values(session: Session, contact_ids: Sequence[int], fields: Sequence[str]) -> dict[int, dict[str, str]]:
    """Per contact, the values of the contact fields that parameters draw from (one query per kind)."""
    out: dict[int, dict[str, str]] = {cid: {} for cid in contact_ids}
    if not contact_ids or not fields:
        return out
    if "name" in fields or "phone" in fields:
        for cid, name, phone in session.execute(
            select(col(Contact.id), col(Contact.name), col(Contact.phone)).where(col(Contact.id).in_(contact_ids))
        ):
            out[cid]["name"], out[cid]["phone"] = name or "", phone
    keys = [f.removeprefix("attr:") for f in fields if f.startswith("attr:")]
    if keys:
        stmt = (
            select(col(ContactAttribute.contact_id), col(Attribute.key), col(ContactAttribute.value))
            .join(Attribute, col(Attribute.id) == col(ContactAttribute.attribute_id))
            .where(col(ContactAttribute.contact_id).in_(contact_ids), col(Attribute.key).in_(keys))
        )
        for cid, key, value in session.execute(stmt):
            out[cid][f"attr:{key}"] = value
    return out


OUTCOME_SQL = (
    "UPDATE delivery SET status = {p}, wa_message_id = {p}, error_code = {p}, error_title = {p}, "
    "next_attempt_at = {p}, sent_at = {p}, attempts = attempts - {p}, updated_at = {p}, status_at = {p}, "
    "failed_at = CASE WHEN {p} = 'failed' THEN {p} ELSE failed_at END, text = COALESCE({p}, text) "
    "WHERE id = {p} AND status = 'sending'"
)


def _stamp(dialect: str, value: datetime | None) -> Any:
    """A timestamp as storage.types.UtcDateTime writes it (naive UTC; SQLAlchemy's text form on SQLite)."""
    if value is None:
        return None
    naive = value.astimezone(UTC).replace(tzinfo=None)
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else naive


def write_outcomes(session: Session, outcomes: Sequence[dict[str, Any]]) -> None:
    """One driver-level executemany for a batch of results; only rows still `sending` change.

    Each outcome: id, status (sent|failed|pending|unknown|skipped), wamid, code, title, next_at,
    sent_at, attempts_back (1 when the row goes back unsent, e.g. the broadcast stopped first), text (the body as
    sent, kept for the contact's history; a failed send is stamped `failed_at` too, for the chart).
    This is the hot path of a broadcast (a thousand rows a second), hence plain DBAPI parameters.
    """
    if not outcomes:
        return
    conn = session.connection()
    dialect = conn.dialect.name
    now = _stamp(dialect, utcnow())
    sql = OUTCOME_SQL.format(p="?" if conn.dialect.paramstyle == "qmark" else "%s")
    rows = [
        (
            o["status"],
            o.get("wamid"),
            o.get("code"),
            o.get("title"),
            _stamp(dialect, o.get("next_at")),
            _stamp(dialect, o.get("sent_at")),
            o.get("attempts_back", 0),
            now,
            now,
            o["status"],
            now,
            o.get("text"),
            o["id"],
        )
        for o in outcomes
    ]
    conn.exec_driver_sql(sql, rows)
    ambiguous = [o["id"] for o in outcomes if o["status"] == DeliveryStatus.UNKNOWN]
    if ambiguous:  # rare: a lost answer; stamped so the report can say how many were ever ambiguous
        session.execute(
            update(D).where(D.c.id.in_(ambiguous), D.c.status == DeliveryStatus.UNKNOWN).values(unknown_at=utcnow())
        )


def counts(session: Session, broadcast_id: int) -> dict[str, int]:
    rows = session.execute(
        select(D.c.status, func.count()).where(D.c.broadcast_id == broadcast_id).group_by(D.c.status)
    ).all()
    return {status: int(n) for status, n in rows}


@dataclass(frozen=True)
class Reason:
    """Why rows did not go out: a Meta code (with its title), or our own reason when there is no code."""

    status: str  # failed|skipped
    code: int | None
    title: str
    count: int


def failure_reasons(session: Session, broadcast_id: int, limit: int = 8) -> list[Reason]:
    """The most common reasons; rows without a code are told apart by their title (missing_param, HTTP 503)."""
    n = func.count().label("n")
    key = case((D.c.error_code.is_(None), D.c.error_title), else_=None).label("key")
    stmt = (
        select(D.c.status, D.c.error_code, key, func.max(D.c.error_title), n)
        .where(D.c.broadcast_id == broadcast_id, D.c.status.in_((DeliveryStatus.FAILED, DeliveryStatus.SKIPPED)))
        .group_by(D.c.status, D.c.error_code, key)
        .order_by(n.desc())
        .limit(limit)
    )
    return [Reason(status, code, title or "", int(count)) for status, code, _, title, count in session.execute(stmt)]


def open_work(session: Session, broadcast_id: int) -> tuple[int, int, datetime | None]:
    """(pending, sending, earliest moment a pending one may go: its next attempt, or its window's opening)."""
    attempt = func.coalesce(D.c.next_attempt_at, literal(utcnow(), UtcDateTime()))
    may_go = case((D.c.not_before > attempt, D.c.not_before), else_=attempt)
    row = session.execute(
        select(
            func.sum(case((D.c.status == DeliveryStatus.PENDING, 1), else_=0)),
            func.sum(case((D.c.status == DeliveryStatus.SENDING, 1), else_=0)),
            func.min(case((D.c.status == DeliveryStatus.PENDING, may_go))),
        ).where(D.c.broadcast_id == broadcast_id, D.c.status.in_((DeliveryStatus.PENDING, DeliveryStatus.SENDING)))
    ).one()
    return int(row[0] or 0), int(row[1] or 0), row[2]


def due(session: Session, now: datetime | None = None) -> list[Broadcast]:
    """Broadcasts a runner should look at: due to start, running, or paused at the daily limit."""
    now = now or utcnow()
    stmt = (
        select(Broadcast)
        .where(
            or_(
                and_(
                    col(Broadcast.status).in_((BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED)),
                    or_(col(Broadcast.scheduled_at).is_(None), col(Broadcast.scheduled_at) <= now),
                ),
                and_(  # every recipient's window closed: not before the next one opens
                    col(Broadcast.status) == BroadcastStatus.RUNNING,
                    or_(col(Broadcast.next_window_at).is_(None), col(Broadcast.next_window_at) <= now),
                ),
                and_(col(Broadcast.status) == BroadcastStatus.PAUSED, col(Broadcast.pause_reason) == "daily_limit"),
            )
        )
        .order_by(col(Broadcast.id))
    )
    return list(session.scalars(stmt).all())


def recipients_since(session: Session, since: datetime) -> int:
    """Unique numbers messaged (or possibly messaged) since then: what Meta's daily tier counts."""
    stmt = select(func.count(func.distinct(D.c.phone))).where(
        D.c.claimed_at >= since,
        D.c.status.in_(
            (
                DeliveryStatus.SENDING,
                DeliveryStatus.SENT,
                DeliveryStatus.DELIVERED,
                DeliveryStatus.READ,
                DeliveryStatus.UNKNOWN,
                DeliveryStatus.HELD,
                DeliveryStatus.PAUSED,
            )
        ),
    )
    return int(session.scalar(stmt) or 0)


def requeue(session: Session, broadcast_id: int, codes: Sequence[int | None], include_unknown: bool) -> int:
    """Put failed rows with these codes (and, only when asked, `unknown` ones) back to pending."""
    conds: list[ColumnElement[bool]] = []
    real = [c for c in codes if c is not None]
    if real:
        conds.append(and_(D.c.status == DeliveryStatus.FAILED, D.c.error_code.in_(real)))
    if None in codes:
        conds.append(and_(D.c.status == DeliveryStatus.FAILED, D.c.error_code.is_(None)))
    if include_unknown:
        conds.append(D.c.status == DeliveryStatus.UNKNOWN)
    if not conds:
        return 0
    return session.exec(
        update(D)
        .where(D.c.broadcast_id == broadcast_id, or_(*conds))
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, updated_at=utcnow())
    ).rowcount


def set_report_message(session: Session, broadcast_id: int, channel_id: str, message_ts: str) -> None:
    session.execute(update(B).where(B.c.id == broadcast_id).values(channel_id=channel_id, message_ts=message_ts))


def skip_pending(session: Session, broadcast_id: int, reason: str) -> int:
    return session.exec(
        update(D)
        .where(D.c.broadcast_id == broadcast_id, D.c.status == DeliveryStatus.PENDING)
        .values(status=DeliveryStatus.SKIPPED, error_title=reason, updated_at=utcnow())
    ).rowcount


def _apply_sql(dialect: str) -> str:
    failed = "v.status = 'failed'"
    return (
        f"UPDATE delivery SET status = v.status, status_at = v.at, "
        f"error_code = CASE WHEN {failed} THEN v.code ELSE delivery.error_code END, "
        f"error_title = CASE WHEN {failed} THEN v.title ELSE delivery.error_title END, "
        f"updated_at = {batch_rows.mark(dialect)} "
        f"FROM {batch_rows.source(dialect, STATUS_COLUMNS)} "
        f"WHERE delivery.wa_message_id = v.id AND {batch_rows.rank_sql('delivery.status', RANK)} < v.rank"
    )


_APPLY = {dialect: _apply_sql(dialect) for dialect in ("postgresql", "sqlite")}  # built once


def apply_statuses(session: Session, statuses: Iterable[StatusUpdate]) -> None:
    """Webhook statuses onto deliveries by wamid, forward by rank only (the same rule as messages): one
    statement per batch (storage/batch_rows.py)."""
    conn = session.connection()
    dialect = conn.dialect.name
    rows = status_rows(dialect, statuses)
    if rows:
        params = (batch_rows.stamp(dialect, utcnow()), *batch_rows.bind(dialect, rows))
        conn.exec_driver_sql(_APPLY[dialect], params)


def deliveries(session: Session, broadcast_id: int, after_id: int = 0, limit: int = 5000) -> list[Any]:
    """Rows for the delivery report, in id order (keyset paging)."""
    stmt = (
        select(D.c.id, D.c.phone, D.c.status, D.c.error_code, D.c.error_title, D.c.sent_at, D.c.status_at)
        .where(D.c.broadcast_id == broadcast_id, D.c.id > after_id)
        .order_by(D.c.id)
        .limit(limit)
    )
    return list(session.execute(stmt).all())


# --- crash safety: the in-flight marker, ambiguous rows settled or resent (issue 22) ---------------


def mark_requested(
    session: Session, broadcast_id: int, owner: str, ids: Sequence[int], outcomes: Sequence[dict[str, Any]]
) -> set[int]:
    """Write the outcomes so far and mark these rows as requested, in one transaction; returns the
    rows marked. Only while `owner` holds a live lease on the running broadcast: rows of a sender
    that lost its lease may already be someone else's, and are not sent.

    Outcomes first: a sender marks a row only after its previous row's outcome is durable, so a
    crash leaves at most one ambiguous row per concurrent request."""
    write_outcomes(session, outcomes)
    if not ids:
        return set()
    conn = session.connection()  # the hot path (a hundred times a second): plain DBAPI, as in write_outcomes
    p = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    now = _stamp(conn.dialect.name, utcnow())
    sql = MARK_SQL.format(p=p, ids=", ".join([p] * len(ids)))
    return {int(r[0]) for r in conn.exec_driver_sql(sql, (now, *ids, broadcast_id, owner, now)).fetchall()}


MARK_SQL = (
    "UPDATE delivery SET requested_at = {p} WHERE id IN ({ids}) AND status = 'sending' AND requested_at IS NULL "
    "AND EXISTS (SELECT 1 FROM broadcast WHERE broadcast.id = {p} AND broadcast.status = 'running' "
    "AND broadcast.lease_owner = {p} AND broadcast.lease_until > {p}) RETURNING id"
)


_UNKNOWN_COLUMNS = (("did", "bigint"), *STATUS_COLUMNS)


def _settle_sql(dialect: str) -> str:
    return (
        # Only the id: the status then goes the way of every status (its effect first, then the rank rule).
        f"UPDATE delivery SET wa_message_id = v.id, updated_at = {batch_rows.mark(dialect)} "
        f"FROM {batch_rows.source(dialect, _UNKNOWN_COLUMNS)} "
        # SQLite would otherwise walk the unique index on wa_message_id through every NULL (each pending row of
        # a big broadcast); the unary + leaves it the primary key for the join
        f"WHERE delivery.id = v.did AND delivery.status = 'unknown' AND {'+' if dialect == 'sqlite' else ''}"
        "delivery.wa_message_id IS NULL"
    )


_SETTLE = {dialect: _settle_sql(dialect) for dialect in ("postgresql", "sqlite")}  # built once


def settle_unknown(session: Session, statuses: Iterable[StatusUpdate]) -> int:
    """Statuses naming an `unknown` delivery by its id (`biz_opaque_callback_data`): the request did
    reach Meta, so the row takes the message id. Only the id: the status itself then goes the way of
    every status (its effect, e.g. a 131050 opt-out, while the row is not failed yet; then the rank
    rule), so call this before those. Returns how many rows learned their id. One statement per batch
    (every broadcast status names its delivery, so this runs for all of them)."""
    conn = session.connection()
    dialect = conn.dialect.name
    named = [s for s in strongest(statuses) if s.delivery_id is not None]
    seen: set[int] = set()
    by_id = {s.wa_message_id: int(s.delivery_id) for s in named if s.delivery_id is not None}
    rows: list[tuple[Any, ...]] = []
    for row in status_rows(dialect, named):
        did = by_id[row[0]]
        if did not in seen:  # one status per delivery: an UPDATE ... FROM must not meet a row twice
            seen.add(did)
            rows.append((did, *row))
    if not rows:
        return 0
    params = (batch_rows.stamp(dialect, utcnow()), *batch_rows.bind(dialect, rows))
    return max(0, conn.exec_driver_sql(_SETTLE[dialect], params).rowcount)


def resend_unknown(session: Session, broadcast_id: int, before: datetime) -> int:
    """Policy BROADCAST_RESEND_UNKNOWN_AFTER: rows ambiguous since before then, with no status webhook
    since, go back to `pending` (stamped `resent_at`, so the report says so)."""
    now = utcnow()
    return session.exec(
        update(D)
        .where(D.c.broadcast_id == broadcast_id, D.c.status == DeliveryStatus.UNKNOWN, D.c.unknown_at < before)
        .values(status=DeliveryStatus.PENDING, attempts=0, next_attempt_at=None, resent_at=now, updated_at=now)
    ).rowcount


@dataclass(frozen=True)
class Ambiguity:
    """How many rows were ever ambiguous, how many a status webhook settled, how many were resent."""

    ambiguous: int = 0
    settled: int = 0
    resent: int = 0
    unknown: int = 0  # still unknown now


def ambiguity(session: Session, broadcast_id: int) -> Ambiguity:
    stamped = D.c.unknown_at.is_not(None)
    row = session.execute(
        select(
            func.sum(case((stamped, 1), else_=0)),
            func.sum(case((and_(stamped, D.c.resent_at.is_(None), D.c.status != DeliveryStatus.UNKNOWN), 1), else_=0)),
            func.sum(case((D.c.resent_at.is_not(None), 1), else_=0)),
            func.sum(case((D.c.status == DeliveryStatus.UNKNOWN, 1), else_=0)),
        ).where(
            D.c.broadcast_id == broadcast_id,
            or_(stamped, D.c.resent_at.is_not(None), D.c.status == DeliveryStatus.UNKNOWN),
        )
    ).one()
    return Ambiguity(*(int(v or 0) for v in row))


def unknown_broadcasts(session: Session, before: datetime) -> list[int]:
    """Broadcasts with rows ambiguous since before then (for the resend policy)."""
    stmt = select(D.c.broadcast_id).where(D.c.status == DeliveryStatus.UNKNOWN, D.c.unknown_at < before).distinct()
    return [int(b) for b in session.execute(stmt).scalars()]


# --- approval and send windows (issue 18) ---------------------------------------------------------


def sample_recipient(session: Session, flt: ContactFilter, region: str, required_fields: Sequence[str]) -> int | None:
    """The first contact that would receive the broadcast (its values fill the approval's preview)."""
    missing = [missing_condition(session, f) for f in required_fields]
    stmt = (
        select(col(Contact.id))
        .where(*filter_conditions(session, flt, region), *reachable(), *([not_(or_(*missing))] if missing else []))
        .order_by(col(Contact.id))
        .limit(1)
    )
    return session.scalar(stmt)


TIMEZONE_ATTRIBUTE = "timezone"  # a contact attribute naming an IANA zone overrides the number's zone


def window_rows(session: Session, broadcast_id: int, after_id: int, limit: int) -> list[tuple[int, str, str | None]]:
    """Pending deliveries in id order (keyset), each with its phone and `timezone` attribute, if any."""
    attr_id = session.scalar(select(col(Attribute.id)).where(col(Attribute.key) == TIMEZONE_ATTRIBUTE))
    tz: Any = literal(None)
    if attr_id is not None:
        tz = (
            select(col(ContactAttribute.value))
            .where(col(ContactAttribute.contact_id) == D.c.contact_id, col(ContactAttribute.attribute_id) == attr_id)
            .scalar_subquery()
        )
    stmt = (
        select(D.c.id, D.c.phone, tz)
        .where(D.c.broadcast_id == broadcast_id, D.c.status == DeliveryStatus.PENDING, D.c.id > after_id)
        .order_by(D.c.id)
        .limit(limit)
    )
    return [(int(i), str(p), v) for i, p, v in session.execute(stmt)]


def set_windows(session: Session, rows: Sequence[tuple[int, datetime, datetime | None, str]]) -> None:
    """(id, not_before, not_after, zone) per delivery. Recipients share a few windows (one per zone and
    quiet hours), so one UPDATE ... WHERE id IN (...) per window and thousand ids: a row-by-row
    executemany took 40 s for 100,000 on a loaded PostgreSQL."""
    groups: dict[tuple[datetime, datetime | None, str], list[int]] = {}
    for did, opens, closes, zone in rows:
        groups.setdefault((opens, closes, zone[:40]), []).append(did)
    for (opens, closes, zone), ids in groups.items():
        for i in range(0, len(ids), 1000):
            session.execute(
                update(D)
                .where(D.c.id.in_(ids[i : i + 1000]))
                .values(not_before=opens, not_after=closes, local_zone=zone)
            )


def missed_windows(session: Session, broadcast_id: int, now: datetime, limit: int) -> list[tuple[int, str, str | None]]:
    """Pending rows whose window closed before they went out (throttled, paused): they need the next one."""
    stmt = (
        select(D.c.id, D.c.phone, D.c.local_zone)
        .where(D.c.broadcast_id == broadcast_id, D.c.status == DeliveryStatus.PENDING, D.c.not_after <= now)
        .order_by(D.c.id)
        .limit(limit)
    )
    return [(int(i), str(p), z) for i, p, z in session.execute(stmt)]


def waiting(session: Session, broadcast_id: int, now: datetime | None = None) -> int:
    """Pending rows waiting for their recipient's window to open (the report says how many)."""
    now = now or utcnow()
    stmt = select(func.count()).where(
        D.c.broadcast_id == broadcast_id,
        D.c.status == DeliveryStatus.PENDING,
        or_(D.c.not_before > now, D.c.not_after <= now),
    )
    return int(session.scalar(stmt) or 0)


def next_window(session: Session, broadcast_id: int, now: datetime | None = None) -> datetime | None:
    """When the next closed window opens (the `ix_delivery_window` index answers it)."""
    now = now or utcnow()
    opens: datetime | None = session.scalar(
        select(func.min(D.c.not_before)).where(
            D.c.broadcast_id == broadcast_id, D.c.status == DeliveryStatus.PENDING, D.c.not_before > now
        )
    )
    return opens


def update_fields(session: Session, broadcast_id: int, allowed_from: Iterable[str], **values: Any) -> bool:
    """Change a broadcast's own fields only while it is in one of these states (a guarded UPDATE)."""
    result = session.exec(
        update(B)
        .where(B.c.id == broadcast_id, B.c.status.in_(tuple(allowed_from)))
        .values(updated_at=utcnow(), **values)
    )
    return result.rowcount == 1
