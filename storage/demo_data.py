"""The statements behind `contactbot demo-data`: counts and set-based inserts of tickets and messages."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, func, insert, select

from storage.models import Contact, Message, Ticket, table_of


def contact_count(conn: Connection) -> int:
    return int(conn.scalar(select(func.count()).select_from(Contact)) or 0)


def contact_times(conn: Connection, phones: Sequence[object]) -> list[Any]:
    """(id, last_chat_at, first_contact_at) of the contacts with these numbers."""
    contact_table = table_of(Contact)
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
            insert(table_of(Ticket)).returning(
                table_of(Ticket).c.id,
                table_of(Ticket).c.contact_id,
                table_of(Ticket).c.last_message_at,
            ),
            ticket_rows,
        ).all()
    )


def insert_messages(conn: Connection, messages: list[dict[str, Any]]) -> None:
    conn.execute(insert(table_of(Message)), messages)
