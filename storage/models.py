"""SQLModel tables. Schema changes go through Alembic (`storage/migrations`), never create_all.

Timestamps are timezone-aware UTC in Python and naive UTC in the database (storage.types).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import (
    JSON,
    BigInteger,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    Table,
    UniqueConstraint,
    text,
)
from sqlmodel import Field, SQLModel

from bot.domain.statuses import BroadcastStatus, DeliveryStatus, ImportStatus, TicketStatus
from storage.types import UtcDateTime


def utcnow() -> datetime:
    return datetime.now(UTC)


def _when(*, now: bool = False) -> Any:
    """A timestamp column (UTC, see storage.types); `now` fills it at insert time."""
    if now:
        return Field(default_factory=utcnow, sa_type=UtcDateTime)
    return Field(default=None, sa_type=UtcDateTime)


def _fk(target: str, *, nullable: bool = False, index: bool = True) -> Any:
    """Foreign key that disappears with its parent (GDPR erasure must leave nothing behind)."""
    return Field(
        default=None if nullable else ...,
        sa_column=Column(Integer, ForeignKey(target, ondelete="CASCADE"), nullable=nullable, index=index),
    )


class Contact(SQLModel, table=True):
    __tablename__ = "contact"
    __table_args__ = (
        UniqueConstraint("phone", "messenger", name="uq_contact_phone_messenger"),
        Index("ix_contact_phone_id", "phone", "id"),
        Index("ix_contact_messenger_id", "messenger", "id"),
        Index("ix_contact_first_contact_id", "first_contact_at", "id"),
        Index("ix_contact_last_chat_id", "last_chat_at", "id"),
        Index("ix_contact_name_sort_id", "name_sort", "id"),
        Index("ix_contact_active_id", "active", "id"),
        Index("ix_contact_blocked_id", "blocked", "id"),
        Index("ix_contact_wa_id", "wa_id"),
    )

    id: int | None = Field(default=None, primary_key=True)
    phone: str = Field(max_length=20)  # E.164, e.g. +4917012345678
    messenger: str = Field(max_length=20)
    name: str | None = Field(default=None, max_length=200)
    name_sort: str | None = Field(default=None, max_length=200)  # case-folded name: sort + search key
    first_contact_at: datetime = _when(now=True)
    last_chat_at: datetime | None = _when()
    blocked: bool = False
    active: bool = True
    consent_at: datetime | None = _when()
    consent_source: str | None = Field(default=None, max_length=200)
    consent_by: str | None = Field(default=None, max_length=50)
    opted_out_at: datetime | None = _when()
    blocked_messages: int = 0
    blocked_last_at: datetime | None = _when()
    created_at: datetime = _when(now=True)
    updated_at: datetime = _when(now=True)
    wa_id: str | None = Field(default=None, max_length=20)  # WhatsApp's id for the number (digits), see 0007
    marketing_opted_out_at: datetime | None = _when()  # stopped marketing only (131050, user_preferences)
    undeliverable_count: int = Field(default=0, sa_column_kwargs={"server_default": text("0")})  # 131026 in a row
    # `phone` as people read it (`+49 170 1234567`), stored when written (storage/display_numbers.py, 0013);
    # NULL where a writer did not fill it: then it is formatted at render time.
    phone_display: str | None = Field(default=None, max_length=32)


class ContactTally(SQLModel, table=True):
    """Contacts per (active, blocked, messenger), kept exact by triggers (see migration 0001).

    The list header shows a total on every page; `count(*)` over 900,000 active contacts costs
    tens of milliseconds, summing at most a few dozen tally rows costs microseconds.
    """

    __tablename__ = "contact_tally"
    active: bool = Field(primary_key=True)
    blocked: bool = Field(primary_key=True)
    messenger: str = Field(primary_key=True, max_length=20)
    n: int = 0


class Attribute(SQLModel, table=True):
    """A user attribute (Nutzermerkmal) definition."""

    __tablename__ = "attribute"
    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True)
    label_de: str = Field(max_length=100)
    label_en: str = Field(max_length=100)
    type: str = Field(default="text", max_length=10)  # text|number|date|bool|choice
    choices: list[str] | None = Field(default=None, sa_column=Column(JSON))
    created_at: datetime = _when(now=True)


class ContactAttribute(SQLModel, table=True):
    __tablename__ = "contact_attribute"
    __table_args__ = (Index("ix_contact_attribute_attr_value", "attribute_id", "value"),)
    contact_id: int = Field(sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), primary_key=True))
    attribute_id: int = Field(
        sa_column=Column(Integer, ForeignKey("attribute.id", ondelete="CASCADE"), primary_key=True)
    )
    value: str = Field(max_length=1000)


class Audience(SQLModel, table=True):
    """A saved target group (Zielgruppe): a named filter, evaluated in SQL."""

    __tablename__ = "audience"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100, unique=True)
    filter: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_by: str = Field(max_length=50)
    created_at: datetime = _when(now=True)


class TableSettings(SQLModel, table=True):
    __tablename__ = "table_settings"
    __table_args__ = (UniqueConstraint("team_id", "user_id", name="uq_table_settings_scope"),)
    id: int | None = Field(default=None, primary_key=True)
    team_id: str = Field(max_length=20)
    user_id: str = Field(default="", max_length=20)  # "" = the workspace default
    columns: list[dict[str, Any]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    updated_at: datetime = _when(now=True)


class Ticket(SQLModel, table=True):
    __tablename__ = "ticket"
    __table_args__ = (
        Index("ix_ticket_contact_opened", "contact_id", "opened_at"),
        # At most one open ticket per contact, even when two webhook requests race.
        Index(
            "uq_ticket_open_contact",
            "contact_id",
            unique=True,
            sqlite_where=text("status = 'open'"),
            postgresql_where=text("status = 'open'"),
        ),
    )
    id: int | None = Field(default=None, primary_key=True)
    contact_id: int = _fk("contact.id", index=False)
    status: str = Field(default=TicketStatus.OPEN, max_length=10)
    opened_at: datetime = _when(now=True)
    closed_at: datetime | None = _when()
    last_message_at: datetime | None = _when()
    message_count: int = 0


class Message(SQLModel, table=True):
    __tablename__ = "message"
    __table_args__ = (
        Index("ix_message_ticket_sent", "ticket_id", "sent_at"),
        Index("ix_message_contact_sent_id", "contact_id", "sent_at", "id"),  # the contact's history (0012)
    )
    id: int | None = Field(default=None, primary_key=True)
    ticket_id: int | None = _fk("ticket.id", nullable=True, index=False)
    contact_id: int = _fk("contact.id", index=False)
    direction: str = Field(max_length=3)  # in|out
    kind: str = Field(max_length=20)  # text|image|location|...|unsupported
    text: str | None = None
    wa_message_id: str | None = Field(default=None, max_length=200, unique=True)
    sent_at: datetime = _when(now=True)
    status: str | None = Field(default=None, max_length=10)  # outbound: sent|delivered|read|failed
    status_at: datetime | None = _when()
    error_code: int | None = None
    error_title: str | None = Field(default=None, max_length=300)


class AuditEntry(SQLModel, table=True):
    """Who changed what and when. Never holds a phone number or a name."""

    __tablename__ = "audit"
    __table_args__ = (Index("ix_audit_at", "at"),)
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _when(now=True)
    actor: str = Field(max_length=50)
    action: str = Field(max_length=40)
    object_type: str = Field(max_length=20)
    object_id: str | None = Field(default=None, max_length=50)
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class SlackUser(SQLModel, table=True):
    """Cached Slack locale per user, so a click needs no users.info round trip."""

    __tablename__ = "slack_user"
    user_id: str = Field(primary_key=True, max_length=20)
    locale: str = Field(max_length=10)
    fetched_at: datetime = _when(now=True)


class ProcessedEvent(SQLModel, table=True):
    """Idempotency keys for retried deliveries (Slack events, files, webhooks)."""

    __tablename__ = "processed_event"
    key: str = Field(primary_key=True, max_length=200)
    at: datetime = _when(now=True)


class ImportRun(SQLModel, table=True):
    __tablename__ = "import_run"
    id: int | None = Field(default=None, primary_key=True)
    file_id: str | None = Field(default=None, max_length=50, index=True)
    file_name: str = Field(max_length=255)
    file_sha256: str = Field(max_length=64)
    status: str = Field(default=ImportStatus.PREVIEW, max_length=12)
    created_by: str = Field(max_length=50)
    channel_id: str | None = Field(default=None, max_length=20)
    thread_ts: str | None = Field(default=None, max_length=30)
    message_ts: str | None = Field(default=None, max_length=30)
    summary: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _when(now=True)
    applied_at: datetime | None = _when()
    applied_by: str | None = Field(default=None, max_length=50)


class ImportRow(SQLModel, table=True):
    """Staged, validated rows of an import preview; deleted once the run is applied or cancelled."""

    __tablename__ = "import_row"
    __table_args__ = (Index("ix_import_row_run_row", "run_id", "row_no"),)
    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    run_id: int  # no foreign key: PostgreSQL would check it once per staged row (migration 0005)
    row_no: int
    phone: str = Field(max_length=20)
    messenger: str = Field(max_length=20)
    action: str = Field(max_length=10)  # create|update|unchanged
    data: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Typed core values (NULL = the cell was empty: keep what is stored) so apply is set-based SQL;
    # `data` holds the user attribute values by attribute key.
    name: str | None = Field(default=None, max_length=200)
    name_sort: str | None = Field(default=None, max_length=200)
    first_contact_at: datetime | None = _when()
    last_chat_at: datetime | None = _when()
    blocked: bool | None = None
    active: bool | None = None


# Broadcasts: one row per WhatsApp template broadcast, one delivery row per frozen recipient.
# Their lifecycles (the values of `status`): bot.domain.statuses.


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
    status: str = Field(default=BroadcastStatus.QUEUED, max_length=12)
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
    # Four-eyes approval (issue 18, migration 0011): `fingerprint` is what the broadcast is now (template,
    # parameters, audience, schedule, window), `approved_fingerprint` what a second admin approved.
    approval_required: bool = Field(default=False, sa_column_kwargs={"server_default": text("false")})
    fingerprint: str | None = Field(default=None, max_length=64)
    approved_fingerprint: str | None = Field(default=None, max_length=64)
    approved_by: str | None = Field(default=None, max_length=50)
    approved_at: datetime | None = _when()
    approval_expires_at: datetime | None = _when()
    decision_reason: str | None = Field(default=None, max_length=300)
    approval_posts: list[list[str]] | None = Field(default=None, sa_column=Column(JSON))  # [channel, ts] to update
    # Recipient-local send windows: "HH:MM" and "HH:MM-HH:MM" in each recipient's own time.
    local_time: str | None = Field(default=None, max_length=5)
    quiet_hours: str | None = Field(default=None, max_length=11)
    next_window_at: datetime | None = _when()  # every window closed: the runner looks again then
    # The report's chart in Slack (migration 0012): its file, when it was drawn, for which figures.
    chart_file_id: str | None = Field(default=None, max_length=30)
    chart_at: datetime | None = _when()
    chart_key: str | None = Field(default=None, max_length=200)


class Delivery(SQLModel, table=True):
    __tablename__ = "delivery"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "contact_id", name="uq_delivery_broadcast_contact"),
        Index("ix_delivery_claim", "broadcast_id", "status", "id"),
        Index("ix_delivery_claimed_at", "claimed_at"),
        Index("ix_delivery_window", "broadcast_id", "status", "not_before"),
        Index("ix_delivery_contact_claimed_id", "contact_id", "claimed_at", "id"),  # the contact's history (0012)
    )

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    broadcast_id: int = _fk("broadcast.id", index=False)
    contact_id: int = Field(
        sa_column=Column(Integer, ForeignKey("contact.id", ondelete="CASCADE"), nullable=False, index=False)
    )
    phone: str = Field(max_length=20)  # frozen with the audience
    status: str = Field(default=DeliveryStatus.PENDING, max_length=10)
    wa_message_id: str | None = Field(default=None, max_length=200, unique=True)
    error_code: int | None = None
    error_title: str | None = Field(default=None, max_length=300)
    attempts: int = 0
    next_attempt_at: datetime | None = _when()
    claimed_at: datetime | None = _when()
    sent_at: datetime | None = _when()
    status_at: datetime | None = _when()
    updated_at: datetime = _when(now=True)
    # Crash safety (migration 0008): set just before the request leaves, cleared by each claim; a row
    # left `sending` by a dead sender goes back to `pending` without it, `unknown` with it.
    requested_at: datetime | None = _when()
    unknown_at: datetime | None = _when()  # when it became ambiguous (kept after a status webhook settled it)
    resent_at: datetime | None = _when()  # resent after staying ambiguous (BROADCAST_RESEND_UNKNOWN_AFTER)
    # Send window in the recipient's time (migration 0011), computed at the freeze; NULL: any time.
    not_before: datetime | None = _when()
    not_after: datetime | None = _when()
    local_zone: str | None = Field(default=None, max_length=40)
    # Status times from the webhooks (migration 0012; the earliest reported) and the text as sent.
    delivered_at: datetime | None = _when()
    read_at: datetime | None = _when()
    failed_at: datetime | None = _when()
    text: str | None = None


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
    effect: str | None = Field(default=None, max_length=20)  # storage.status_effects, applied on settle
    delivery_id: int | None = Field(  # from `biz_opaque_callback_data`: settles an `unknown` delivery without its id
        default=None, sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), nullable=True)
    )


class Suppression(SQLModel, table=True):
    """An opt-out that outlives its contact: keyed by a hash of the number (storage/suppression.py).

    Erasure deletes the contact, not this row, so a person who said stop and is later imported
    again (or writes in) is opted out again; the hash holds nothing else about them."""

    __tablename__ = "suppression"
    phone_hash: str = Field(primary_key=True, max_length=64)
    opted_out_at: datetime | None = _when()
    marketing_opted_out_at: datetime | None = _when()
    updated_at: datetime = _when(now=True)


class WhatsAppNumber(SQLModel, table=True):
    """What Meta last told us about our sending number (Graph API read or webhooks): the messaging
    tier as a daily limit (0 = unlimited), the quality rating, and a restriction while it lasts."""

    __tablename__ = "whatsapp_number"

    phone_number_id: str = Field(primary_key=True, max_length=64)
    tier: str | None = Field(default=None, max_length=20)
    daily_limit: int | None = None
    quality: str | None = Field(default=None, max_length=20)
    restriction: str | None = Field(default=None, max_length=80)
    restricted_until: datetime | None = _when()
    updated_at: datetime = _when(now=True)


def table_of(model: type[SQLModel]) -> Table:
    """The Core table of a model, for bulk SQL: SQLModel sets `__table__` on the class but does not declare it."""
    return cast(Table, model.__table__)  # type: ignore[attr-defined]  # set by the metaclass, absent from the stubs


class WebhookInbox(SQLModel, table=True):
    """A WhatsApp webhook body as received, waiting for a consumer to apply it (storage/webhook_inbox.py).

    `priority` 0 = customer messages or opt-outs, 1 = statuses only: consumers take 0 first."""

    __tablename__ = "webhook_inbox"
    __table_args__ = (Index("ix_webhook_inbox_priority_id", "priority", "id"),)

    id: int | None = Field(
        default=None,
        sa_column=Column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    )
    priority: int = Field(sa_column=Column(SmallInteger(), nullable=False))
    received_at: datetime = _when(now=True)
    body: bytes = Field(sa_column=Column(LargeBinary(), nullable=False))
