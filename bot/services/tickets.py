"""Ticket services shared by Slack and the CLI: closing a ticket (the next message opens a new one)."""

from __future__ import annotations

from storage import audit
from storage import tickets as tickets_store
from storage.db import Engine, session_scope
from storage.models import Ticket, utcnow


class TicketNotFound(LookupError):
    """No ticket with that id (never existed, or erased with its contact)."""


def close(engine: Engine, ticket_id: int, actor: str) -> tuple[Ticket, bool]:
    """Close a ticket; returns it and whether this call closed it (closing twice is harmless)."""
    with session_scope(engine) as session:
        ticket = tickets_store.get(session, ticket_id)
        if ticket is None:
            raise TicketNotFound(ticket_id)
        changed = tickets_store.close(session, ticket, utcnow())
        if changed:
            audit.record(session, actor, "ticket.close", "ticket", ticket_id)
        return ticket, changed
