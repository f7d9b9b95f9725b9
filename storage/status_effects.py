"""What a failed status means for the contact and the broadcast, beyond the one message (issue 14).

The service layer decides the effect from Meta's error code (the same classifier as for a failed
send) and puts it on the `StatusUpdate`; this module applies it once per message id: only to ids
we know (a delivery row or an outgoing message) that were not failed before. A status that
arrives before its id is known waits in `early_status` with its effect and is applied from there.

- marketing_opt_out (131050): the contact is out of MARKETING templates, remembered beyond erasure.
- undeliverable (131026): counted; from UNDELIVERABLE_AFTER on the contact is skipped by
  broadcasts (reason `undeliverable`) until it writes in again.
- stop_broadcast (account-level: 131048, 368, 131031, ...): the broadcast that sent it stops, with
  the code and reason on its report.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, bindparam, select, update
from sqlmodel import Session

from storage import audit, suppression
from storage.message_status import StatusUpdate
from storage.models import Broadcast, Contact, Delivery, Message, utcnow
from storage.types import UtcDateTime

D: Table = Delivery.__table__  # type: ignore[attr-defined]
M: Table = Message.__table__  # type: ignore[attr-defined]
C: Table = Contact.__table__  # type: ignore[attr-defined]
B: Table = Broadcast.__table__  # type: ignore[attr-defined]
EFFECTS = ("marketing_opt_out", "undeliverable", "stop_broadcast")
ACTOR = "whatsapp"


@dataclass(frozen=True)
class _Target:
    contact_id: int
    broadcast_id: int | None


def _transition(table: Table, *extra: Any) -> Any:
    """UPDATE one row (by message id) to `failed` unless it already is, RETURNING its owner: the row lock
    makes this the one place that decides whether a failure is new, so two transactions applying the same
    failed status at once (Meta sent it twice; the consumer and the sender settling the same early status)
    count it once. The second waits for the first's row lock, then finds the row failed and changes nothing."""
    now_failed = table.c.status.is_distinct_from("failed")
    values: dict[str, Any] = {
        "status": "failed",
        "status_at": bindparam("b_at", type_=UtcDateTime()),
        "error_code": bindparam("b_code"),
        "error_title": bindparam("b_title"),
    }
    if "updated_at" in table.c:
        values["updated_at"] = bindparam("b_now", type_=UtcDateTime())
    owner = (table.c.contact_id, table.c.broadcast_id) if "broadcast_id" in table.c else (table.c.contact_id,)
    return (
        update(table)
        .where(table.c.wa_message_id == bindparam("b_id"), now_failed, *extra)
        .values(**values)
        .returning(*owner)
    )


_FAIL_DELIVERY = _transition(D)
_FAIL_MESSAGE = _transition(M, M.c.direction == "out")


def _fail(session: Session, s: StatusUpdate) -> _Target | None:
    """Mark the delivery and/or outgoing message `s` names failed; its owner if this changed a row, else None."""
    params = {
        "b_id": s.wa_message_id,
        "b_at": s.timestamp,
        "b_code": s.error_code,
        "b_title": (s.error_title or "")[:300] or None,
        "b_now": utcnow(),
    }
    delivery = session.execute(_FAIL_DELIVERY, params).first()
    message = session.execute(_FAIL_MESSAGE, params).first()
    if delivery is not None:
        return _Target(delivery[0], delivery[1])
    return _Target(message[0], None) if message is not None else None


def apply(session: Session, statuses: Iterable[StatusUpdate]) -> int:
    """Apply the effects of these failed statuses, marking their rows failed in the same step (the
    status writes that follow leave a failed row alone). Effects happen once per message id: only for a
    row that was not failed before, decided under its row lock.

    Returns how many effects were applied."""
    wanted = {s.wa_message_id: s for s in statuses if s.status == "failed" and s.effect in EFFECTS}
    done = 0
    for wamid in sorted(wanted):  # one row order for every writer: no deadlock between two appliers
        s = wanted[wamid]
        target = _fail(session, s)
        if target is None:
            continue  # unknown id (kept as an early status) or already failed: counted before
        if s.effect == "marketing_opt_out":
            _marketing_opt_out(session, target.contact_id, s)
        elif s.effect == "undeliverable":
            session.execute(
                update(C)
                .where(C.c.id == target.contact_id)
                .values(undeliverable_count=C.c.undeliverable_count + 1, updated_at=utcnow())
            )
        elif s.effect == "stop_broadcast" and target.broadcast_id is not None:
            _stop(session, target.broadcast_id, s)
        done += 1
    return done


def _marketing_opt_out(session: Session, contact_id: int, s: StatusUpdate) -> None:
    row = session.execute(
        update(C)
        .where(C.c.id == contact_id, C.c.marketing_opted_out_at.is_(None))
        .values(marketing_opted_out_at=s.timestamp, updated_at=utcnow())
        .returning(C.c.phone)
    ).first()
    if row is not None:
        suppression.record(session, [row[0]], s.timestamp, marketing_only=True)
        audit.record(session, ACTOR, "contact.marketing_opt_out", "contact", contact_id, code=s.error_code)


def _stop(session: Session, broadcast_id: int, s: StatusUpdate) -> None:
    """The sender sees `stopped` at its next claim (its lease needs `running`) and reports to the channel."""
    now = utcnow()
    stopped = session.exec(
        update(B)
        .where(B.c.id == broadcast_id, B.c.status.in_(("running", "paused", "queued", "scheduled")))
        .values(
            status="stopped",
            stop_code=s.error_code,
            stop_reason=(s.error_title or "")[:300] or None,
            finished_at=now,
            updated_at=now,
        )
    ).rowcount
    if stopped:
        audit.record(session, ACTOR, "broadcast.stopped", "broadcast", broadcast_id, code=s.error_code)


def learn_wa_ids(session: Session, pairs: Iterable[tuple[int, str]]) -> None:
    """(delivery id, wa_id) from send responses (`contacts[0].wa_id`): the contact learns the id Meta
    knows the number by, so the person's replies from that wa_id find it (Mexico, Brazil, Argentina)."""
    for delivery_id, wa in sorted(set(pairs)):
        owner = select(D.c.contact_id).where(D.c.id == delivery_id).scalar_subquery()
        session.execute(
            update(C).where(C.c.id == owner, C.c.wa_id.is_distinct_from(wa)).values(wa_id=wa, updated_at=utcnow())
        )
