"""Test data straight into the database (Core inserts, like the real bulk paths)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, insert

from bot.domain.contacts import name_key
from storage.models import Contact, Message, Ticket

BASE = datetime(2026, 1, 1, 9, 0, tzinfo=UTC)


def add_contact(engine: Engine, phone: str, name: str | None = None, **fields: Any) -> int:
    row: dict[str, Any] = {
        "phone": phone,
        "messenger": "whatsapp",
        "name": name,
        "name_sort": name_key(name),
        "first_contact_at": BASE,
        "last_chat_at": BASE,
        "blocked": False,
        "active": True,
        "blocked_messages": 0,
        "created_at": BASE,
        "updated_at": BASE,
    }
    row.update(fields)
    if "name" in fields:
        row["name_sort"] = name_key(fields["name"])
    with engine.begin() as conn:
        return int(conn.execute(insert(Contact.__table__).returning(Contact.__table__.c.id), row).scalar_one())  # type: ignore[attr-defined]


def add_many(engine: Engine, count: int, **fields: Any) -> list[int]:
    """`count` contacts +4917000000000.. with names Kontakt 000.., last chat one hour apart."""
    return [
        add_contact(
            engine,
            f"+4917000{i:06d}",
            f"Kontakt {i:03d}",
            last_chat_at=BASE + timedelta(hours=i),
            first_contact_at=BASE - timedelta(days=i),
            **fields,
        )
        for i in range(count)
    ]


def add_ticket(engine: Engine, contact_id: int, texts: list[str], status: str = "open") -> int:
    with engine.begin() as conn:
        tid = conn.execute(
            insert(Ticket.__table__).returning(Ticket.__table__.c.id),
            {  # type: ignore[attr-defined]
                "contact_id": contact_id,
                "status": status,
                "opened_at": BASE,
                "last_message_at": BASE + timedelta(minutes=len(texts)),
                "message_count": len(texts),
            },
        ).scalar_one()
        conn.execute(
            insert(Message.__table__),
            [  # type: ignore[attr-defined]
                {
                    "ticket_id": tid,
                    "contact_id": contact_id,
                    "direction": "in" if i % 2 == 0 else "out",
                    "kind": "text",
                    "text": body,
                    "sent_at": BASE + timedelta(minutes=i),
                    "wa_message_id": f"wamid.{contact_id}.{i}",
                }
                for i, body in enumerate(texts)
            ],
        )
    return int(tid)
