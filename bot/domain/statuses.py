"""The lifecycles of broadcasts, deliveries, CSV imports and tickets, as StrEnums.

The members are `str`: the database keeps the same text values (no migration), SQL compares them
as text, JSON and f-strings (i18n keys like `broadcast.status.{status}`) see the plain value, and a
value read back from the database compares equal to its member.
"""

from __future__ import annotations

from enum import StrEnum


class BroadcastStatus(StrEnum):
    """`scheduled`/`queued` wait for the runner; only `running` sends; done/cancelled/stopped/rejected end it.

    `awaiting` (four-eyes approval, issue 18) waits for a second admin; approved it becomes `queued` or
    `scheduled`, rejected `rejected`. The column holds 12 characters, hence the short value."""

    AWAITING_APPROVAL = "awaiting"
    REJECTED = "rejected"
    SCHEDULED = "scheduled"
    QUEUED = "queued"
    RUNNING = "running"
    PAUSED = "paused"
    DONE = "done"
    CANCELLED = "cancelled"
    STOPPED = "stopped"


class DeliveryStatus(StrEnum):
    """One recipient of a broadcast; webhooks move sent -> delivered -> read by rank, `failed` is final."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    DELIVERED = "delivered"
    READ = "read"
    FAILED = "failed"
    SKIPPED = "skipped"
    UNKNOWN = "unknown"  # Meta may have accepted it: a dead sender left it `sending`, or no answer came
    HELD = "held"  # accepted as `held_for_quality_assessment`: a status webhook moves it on
    PAUSED = "paused"  # accepted as `paused` (marketing messages held back by Meta)


class ImportStatus(StrEnum):
    """A CSV import run: staged as a preview until someone applies or cancels it."""

    PREVIEW = "preview"
    APPLIED = "applied"
    CANCELLED = "cancelled"


class TicketStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


# Broadcasts whose deliveries are still being sent, or will be (a cancelled or stopped one's never will).
OPEN_BROADCASTS = (BroadcastStatus.SCHEDULED, BroadcastStatus.QUEUED, BroadcastStatus.RUNNING, BroadcastStatus.PAUSED)
