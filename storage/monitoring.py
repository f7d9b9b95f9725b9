"""Read-only queries for operators: what `/metrics` reports about shared state in the database."""

from __future__ import annotations

from sqlalchemy import Engine, func, select
from sqlmodel import col

from bot.domain.statuses import OPEN_BROADCASTS, DeliveryStatus
from storage.models import Broadcast, Delivery

QUEUE_STATUSES = (DeliveryStatus.PENDING, DeliveryStatus.SENDING)


def delivery_queue(engine: Engine) -> dict[str, int]:
    """Deliveries of open broadcasts not yet handed to WhatsApp, by status; the same for every process.

    Driven by the few open broadcasts, each walked on `ix_delivery_claim (broadcast_id, status, id)`,
    so a scrape stays cheap with millions of finished delivery rows in the table."""
    counts = {str(status): 0 for status in QUEUE_STATUSES}
    stmt = (
        select(col(Delivery.status), func.count())
        .join(Broadcast, col(Broadcast.id) == col(Delivery.broadcast_id))
        .where(col(Broadcast.status).in_(OPEN_BROADCASTS), col(Delivery.status).in_(QUEUE_STATUSES))
        .group_by(Delivery.status)
    )
    with engine.connect() as conn:
        counts.update({str(status): int(n) for status, n in conn.execute(stmt)})
    return counts
