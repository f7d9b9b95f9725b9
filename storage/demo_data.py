"""The statements behind `contactbot demo-data`: counts and set-based inserts of tickets and messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from storage.models import Contact, Message, Ticket


def contact_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(Contact)) or 0)


def contact_times(conn: Connection, phones: Sequence[object]) -> list[Any]:
    """(id, last_chat_at, first_contact_at) of the contacts with these numbers."""
    contact_table = Contact.__table__  # type: ignore[attr-defined]
    return list(
        conn.execute(
            select(contact_table.c.id, contact_table.c.last_chat_at, contact_table.c.first_contact_at).where(
                contact_table.c.phone.in_(phones)
            )
        ).all()
    )


def insert_tickets(conn: Connection, ticket_rows: list[dict[str, Any]]) -> list[Any]:
    """Insert the tickets; returns (id, contact_id, last_message_at) of each."""
    return list(
        conn.execute(
            insert(Ticket.__table__).returning(  # type: ignore[attr-defined]
                Ticket.__table__.c.id,  # type: ignore[attr-defined]
                Ticket.__table__.c.contact_id,  # type: ignore[attr-defined]
                Ticket.__table__.c.last_message_at,  # type: ignore[attr-defined]
            ),
            ticket_rows,
        ).all()
    )


def insert_messages(conn: Connection, messages: list[dict[str, Any]]) -> None:
    conn.execute(insert(Message.__table__), messages)  # type: ignore[attr-defined]
