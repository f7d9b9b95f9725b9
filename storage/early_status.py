"""Status webhooks that arrive before we know the message id they name, kept until we do.

Meta answers a send with the message id (wamid) and may post `sent`, `delivered`, even `read`
within milliseconds; the broadcast sender writes the ids onto delivery rows in batches about half
a second later. A status whose wamid matches no delivery and no outgoing message is kept here
(one row per wamid and status, so a redelivered webhook changes nothing) and applied, by the same
rank rule, when the id is written. Both sides look again after their own commit (`settle`), so
whichever commits second finds the other's row: no interleaving loses a status. Rows for ids we
never learn (another system's messages, a send whose answer was lost) are purged after a while.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, delete, exists, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.domain.statuses import DeliveryStatus
from storage import batch_rows, broadcasts, history, message_status, status_effects
from storage.message_status import StatusUpdate, strongest
from storage.models import Delivery, EarlyStatus, Message, table_of, utcnow

EARLY_STATUS_DAYS = 7
CHUNK = 500
E: Table = table_of(EarlyStatus)
D: Table = table_of(Delivery)
M: Table = table_of(Message)


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _known_sql(dialect: str) -> str:
    return (
        f"SELECT v.id FROM {batch_rows.source(dialect, (('id', 'text'),))} WHERE "
        "EXISTS (SELECT 1 FROM delivery WHERE delivery.wa_message_id = v.id) OR "
        "EXISTS (SELECT 1 FROM message WHERE message.wa_message_id = v.id AND message.direction = 'out')"
    )


_KNOWN = {dialect: _known_sql(dialect) for dialect in ("postgresql", "sqlite")}  # built once


def _known(session: Session, ids: Sequence[str]) -> set[str]:
    """The ids that name a broadcast delivery or an outgoing message: one statement for the batch."""
    conn = session.connection()
    dialect = conn.dialect.name
    params = batch_rows.bind(dialect, [(i,) for i in ids])
    return {str(i) for i in conn.exec_driver_sql(_KNOWN[dialect], params).scalars()}


def keep_unmatched(session: Session, statuses: Iterable[StatusUpdate]) -> list[str]:
    """Store the statuses whose id we do not know (yet); returns those ids. Idempotent on redelivery."""
    best = strongest(statuses)
    if not best:
        return []
    known = _known(session, sorted({s.wa_message_id for s in best}))
    rows = [
        {
            "wa_message_id": s.wa_message_id,
            "status": s.status,
            "rank": s.rank,
            "status_at": s.timestamp,
            "error_code": s.error_code if s.status == "failed" else None,
            "error_title": ((s.error_title or "")[:300] or None) if s.status == "failed" else None,
            "received_at": utcnow(),
            "effect": s.effect if s.status == "failed" else None,
            "delivery_id": s.delivery_id,
        }
        for s in best
        if s.wa_message_id not in known
    ]
    if not rows:
        return []
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    session.connection().execute(dialect.insert(E).on_conflict_do_nothing(), rows)
    return [str(r["wa_message_id"]) for r in rows]


def _kept(session: Session, condition: Any, ids: Sequence[str] | None, since: datetime | None) -> list[Any]:
    """Kept statuses that meet `condition`: for these ids, or (ids None) all received since then, in one row
    order for every writer (by message id)."""
    stmt = select(
        E.c.id,
        E.c.wa_message_id,
        E.c.status,
        E.c.status_at,
        E.c.error_code,
        E.c.error_title,
        E.c.effect,
        E.c.delivery_id,
    )
    rows: list[Any] = []
    if ids is None:
        recent = E.c.received_at >= since if since is not None else E.c.id.is_not(None)
        rows = list(session.execute(stmt.where(recent, condition)).all())
    else:
        for part in _chunks(sorted(set(ids))):
            rows.extend(session.execute(stmt.where(E.c.wa_message_id.in_(part), condition)).all())
    rows.sort(key=lambda r: r.wa_message_id)
    return rows


def _updates(rows: Sequence[Any]) -> list[StatusUpdate]:
    return [
        StatusUpdate(
            r.wa_message_id,
            r.status,
            r.status_at,
            error_code=r.error_code,
            error_title=r.error_title,
            effect=r.effect,
            delivery_id=r.delivery_id,
        )
        for r in rows
    ]


def settle(session: Session, ids: Sequence[str] | None = None, since: datetime | None = None) -> int:
    """Apply kept statuses whose id is known now (these ids, or all received since then) and delete them."""
    matched = or_(
        exists(select(D.c.id).where(D.c.wa_message_id == E.c.wa_message_id)),
        exists(select(M.c.id).where(M.c.wa_message_id == E.c.wa_message_id, M.c.direction == "out")),
    )
    rows = _kept(session, matched, ids, since)
    if not rows:
        return 0
    updates = _updates(rows)
    # The consumer and the sender may settle the same kept status at once: the effects count once anyway
    # (status_effects decides under the row lock), and the rank rule makes the rest a no-op the second time.
    status_effects.apply(session, updates)  # marks failed rows itself, counting a failure once per message
    message_status.apply_statuses(session, updates)
    broadcasts.apply_statuses(session, updates)
    history.stamp_statuses(session, updates)  # issue 18: the status times, once the id is known
    session.execute(delete(E).where(E.c.id.in_([r.id for r in rows])))
    return len(rows)


def purge(session: Session, before: datetime) -> int:
    """Forget kept statuses received before then (their id never turned up)."""
    return session.exec(delete(E).where(E.c.received_at < before)).rowcount


def settle_ambiguous(session: Session, ids: Sequence[str] | None = None, since: datetime | None = None) -> int:
    """Kept statuses that name an `unknown` delivery by its id (`biz_opaque_callback_data`): the status
    came while the row was still `sending`, then its sender died before writing the message id. The
    row takes the id, then every kept status for that id applies like any other (`settle`: its effect
    first, then by rank). Returns how many rows were settled."""
    unknown = exists(
        select(D.c.id).where(
            D.c.id == E.c.delivery_id, D.c.status == DeliveryStatus.UNKNOWN, D.c.wa_message_id.is_(None)
        )
    )
    rows = _kept(session, and_(E.c.delivery_id.is_not(None), unknown), ids, since)
    if not rows:
        return 0
    settled = broadcasts.settle_unknown(session, _updates(rows))
    settle(session, sorted({r.wa_message_id for r in rows}))
    return settled
