"""Broadcast tables: one row per WhatsApp template broadcast, one delivery row per frozen recipient."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, Column, ForeignKey, Index, Integer, UniqueConstraint
from sqlmodel import Field, SQLModel

from storage.models import _fk, _when

# Broadcast lifecycle. `scheduled`/`queued` wait for the runner; only `running` sends.
BROADCAST_STATUSES = ("scheduled", "queued", "running", "paused", "done", "cancelled", "stopped")
# Delivery lifecycle; webhooks move sent -> delivered -> read by rank, `failed` is final.
DELIVERY_STATUSES = ("pending", "sending", "sent", "delivered", "read", "failed", "skipped", "unknown")


class Broadcast(SQLModel, table=True):
    __tablename__ = "broadcast"
    __table_args__ = (Index("ix_broadcast_status_scheduled", "status", "scheduled_at"),)

    id: int | None = Field(default=None, primary_key=True)
    request_key: str | None = Field(default=None, max_length=100, unique=True)  # double click / retry guard
    template: str = Field(max_length=512)
    language: str = Field(max_length=15)
    template_def: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    params: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    audience: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    status: str = Field(default="queued", max_length=12)
    pause_reason: str | None = Field(default=None, max_length=20)
    stop_code: int | None = None
    stop_reason: str | None = Field(default=None, max_length=300)
    total: int = 0
    excluded: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=50)
    report_lang: str = Field(default="de", max_length=2)
    channel_id: str | None = Field(default=None, max_length=20)
    message_ts: str | None = Field(default=None, max_length=30)
    lease_owner: str | None = Field(default=None, max_length=80)
    lease_until: datetime | None = _when()
    scheduled_at: datetime | None = _when()
    created_at: datetime = _when(now=True)
    started_at: datetime | None = _when()
    finished_at: datetime | None = _when()
    updated_at: datetime = _when(now=True)


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id", name="uq_delivery_broadcast_contact"),
        Index("ix_delivery_claim", "broadcast_id", "status", "id"),
        Index("ix_delivery_claimed_at", "claimed_at"),
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    broadcast_id: int = _fk("broadcast.id", index=False)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=True)
    )
    phone: str = Field(max_length=20)  # frozen with the audience
    status: str = Field(default="pending", max_length=10)
    wa_message_id: str | None = Field(default=None, max_length=200, unique=True)
    error_code: int | None = None
    error_title: str | None = Field(default=None, max_length=300)
    attempts: int = 0
    next_attempt_at: datetime | None = _when()
    claimed_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    status_at: datetime | None = _when()
    updated_at: datetime = _when(now=True)


class EarlyStatus(SQLModel, table=True):
    """A status webhook for a message id we do not know (yet): Meta can report `sent`/`delivered`
    before the sender has written the id onto its delivery row. Applied when the id is written,
    deleted after EARLY_STATUS_DAYS otherwise (ids we never sent, e.g. from another system)."""

    __tablename__ = "early_status"
    __table_args__ = (
        UniqueConstraint("wa_message_id", "status", name="uq_early_status_wamid_status"),
        Index("ix_early_status_received_at", "received_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    wa_message_id: str = Field(max_length=200)
    status: str = Field(max_length=10)
    rank: int
    status_at: datetime = _when(now=True)
    error_code: int | None = None
    error_title: str | None = Field(default=None, max_length=300)
    received_at: datetime = _when(now=True)
