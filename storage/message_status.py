"""Delivery statuses (sent, delivered, read, failed) applied to the outgoing messages they name.

WhatsApp sends statuses in any order and repeats them for days, so a status only ever moves a
message forward by rank (sent < delivered < read; failed is final): a late `sent` never
overwrites `read`, and a repeated one changes nothing. Broadcast deliveries apply the same
`StatusUpdate` objects to their own rows.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, case, update
from sqlmodel import Session

from storage.models import Message, table_of
from storage.types import UtcDateTime

RANK: dict[str, int] = {"sent": 1, "delivered": 2, "read": 3, "failed": 4}
MESSAGE: Table = table_of(Message)


@dataclass(frozen=True)
class StatusUpdate:
    """One status webhook item, normalized."""

    wa_message_id: str
    status: str  # sent|delivered|read|failed
    timestamp: datetime
    recipient: str | None = None  # the recipient's wa_id as WhatsApp reports it
    error_code: int | None = None
    error_title: str | None = None
    # What a failure means beyond this message (storage.status_effects), decided by the service layer
    # from the error code: marketing_opt_out | undeliverable | stop_broadcast; None for nothing.
    effect: str | None = None
    delivery_id: int | None = None  # a broadcast delivery named by `biz_opaque_callback_data`

    @property
    def rank(self) -> int:
        return RANK.get(self.status, 0)


def rank_of(column: Any) -> Any:
    """SQL expression: the rank of a stored status (0 when none), to compare with a new one."""
    return case(*((column == name, rank) for name, rank in RANK.items()), else_=0)


def strongest(statuses: Iterable[StatusUpdate]) -> list[StatusUpdate]:
    """Per message id the highest-ranked status of a batch (the earliest of equals); unknown ones dropped."""
    best: dict[str, StatusUpdate] = {}
    for s in statuses:
        if s.rank == 0:
            continue
        current = best.get(s.wa_message_id)
        if current is None or (s.rank, current.timestamp) > (current.rank, s.timestamp):
            best[s.wa_message_id] = s
    return list(best.values())


def apply_statuses(session: Session, statuses: Iterable[StatusUpdate]) -> None:
    """Move outgoing `message` rows forward; ids we never sent as a message are ignored."""
    rows = [
        {
            "b_id": s.wa_message_id,
            "b_status": s.status,
            "b_rank": s.rank,
            "b_at": s.timestamp,
            "b_code": s.error_code,
            "b_title": s.error_title,
        }
        for s in strongest(statuses)
    ]
    if not rows:
        return
    session.connection().execute(
        update(MESSAGE)
        .where(
            MESSAGE.c.wa_message_id == bindparam("b_id"),
            MESSAGE.c.direction == "out",
            rank_of(MESSAGE.c.status) < bindparam("b_rank"),
        )
        .values(
            status=bindparam("b_status"),
            status_at=bindparam("b_at", type_=UtcDateTime()),
            error_code=bindparam("b_code"),
            error_title=bindparam("b_title"),
        ),
        rows,
    )
