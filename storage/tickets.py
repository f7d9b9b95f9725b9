"""Ticket and message queries."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlmodel import Session, col

from bot.domain.statuses import TicketStatus
from storage.models import Message, Ticket


def last_for_contact(session: Session, contact_id: int) -> Ticket | None:
    stmt = (
        select(Ticket)
        .where(col(Ticket.contact_id) == contact_id)
        .order_by(col(Ticket.opened_at).desc(), col(Ticket.id).desc())
        .limit(1)
    )
    return session.scalars(stmt).first()


def last_messages(session: Session, ticket_id: int, limit: int = 5) -> list[Message]:
    """The newest `limit` messages, oldest first (reading order)."""
    stmt = (
        select(Message)
        .where(col(Message.ticket_id) == ticket_id)
        .order_by(col(Message.sent_at).desc(), col(Message.id).desc())
        .limit(limit)
    )
    return list(reversed(session.scalars(stmt).all()))


def get(session: Session, ticket_id: int) -> Ticket | None:
    return session.get(Ticket, ticket_id)


def close(session: Session, ticket: Ticket, at: datetime) -> bool:
    """Close an open ticket; False when it was closed already (closing twice changes nothing)."""
    if ticket.status == TicketStatus.CLOSED:
        return False
    ticket.status, ticket.closed_at = TicketStatus.CLOSED, at
    session.add(ticket)
    session.flush()
    return True
