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

from sqlalchemy import Table, case
from sqlmodel import Session

from storage import batch_rows
from storage.models import Message, table_of

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


STATUS_COLUMNS = (
    ("id", "text"),
    ("status", "text"),
    ("rank", "integer"),
    ("at", "timestamp"),
    ("code", "integer"),
    ("title", "text"),
)


def _apply_sql(dialect: str) -> str:
    return (
        "UPDATE message SET status = v.status, status_at = v.at, error_code = v.code, error_title = v.title "
        f"FROM {batch_rows.source(dialect, STATUS_COLUMNS)} "
        "WHERE message.wa_message_id = v.id AND message.direction = 'out' "
        f"AND {batch_rows.rank_sql('message.status', RANK)} < v.rank"
    )


_APPLY = {dialect: _apply_sql(dialect) for dialect in ("postgresql", "sqlite")}  # built once


def status_rows(dialect: str, statuses: Iterable[StatusUpdate]) -> list[tuple[Any, ...]]:
    """(id, status, rank, at, code, title) per message id, the strongest of the batch, in id order (every
    writer locks rows in the same order); the title cut to its column."""
    return [
        (
            s.wa_message_id,
            s.status,
            s.rank,
            batch_rows.stamp(dialect, s.timestamp),
            s.error_code,
            (s.error_title or "")[:300] or None,
        )
        for s in sorted(strongest(statuses), key=lambda s: s.wa_message_id)
    ]


def apply_statuses(session: Session, statuses: Iterable[StatusUpdate]) -> None:
    """Move outgoing `message` rows forward; ids we never sent as a message are ignored. One statement
    per batch (storage/batch_rows.py)."""
    conn = session.connection()
    dialect = conn.dialect.name
    rows = status_rows(dialect, statuses)
    if rows:
        conn.exec_driver_sql(_APPLY[dialect], batch_rows.bind(dialect, rows))
