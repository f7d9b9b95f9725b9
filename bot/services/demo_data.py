"""Realistic fake contacts (German names, mixed messengers, tickets) for trying the app and benchmarks.

Rows go in through `storage.contacts.bulk_insert` in chunks (COPY on PostgreSQL, one executemany on
SQLite), never one ORM object per row; a large load into a small table rebuilds the indexes once at
the end instead of keeping them row by row (storage.bulk_load).
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import timedelta

from bot.domain.contacts import name_key
from bot.domain.phone import export_number
from bot.domain.statuses import TicketStatus
from storage import bulk_load
from storage import demo_data as demo_data_store
from storage.contacts import bulk_insert
from storage.db import Engine, bulk_cache
from storage.models import utcnow

FIRST = (  # noqa: SIM905 (a word list reads best as text)
    "Anna Emma Mia Hannah Sofia Lea Lena Marie Laura Julia Sarah Lisa Katharina Johanna Clara Leonie "
    "Paula Charlotte Frieda Greta Ida Jana Nina Sabine Petra Monika Ursula Renate Birgit Andrea "
    "Lukas Leon Finn Paul Jonas Noah Elias Felix Maximilian Ben Luis Moritz Jakob Tim Tobias Jan "
    "Stefan Thomas Michael Andreas Markus Christian Matthias Frank Jürgen Uwe Klaus Dieter Wolfgang "
    "Özlem Mehmet Ayşe Emre Zeynep Dimitri Natalia Agnieszka Piotr Giulia Marco"
).split()
LAST = (  # noqa: SIM905
    "Müller Schmidt Schneider Fischer Weber Meyer Wagner Becker Schulz Hoffmann Schäfer Koch Bauer "
    "Richter Klein Wolf Schröder Neumann Schwarz Zimmermann Braun Krüger Hofmann Hartmann Lange "
    "Schmitt Werner Schmitz Krause Meier Lehmann Schmid Schulze Maier Köhler Herrmann König Walter "
    "Mayer Huber Kaiser Fuchs Peters Lang Scholz Möller Weiß Jung Hahn Schubert Vogel Friedrich "
    "Keller Günther Frank Berger Winkler Roth Beck Lorenz Baumann Franke Albrecht Schuster Simon "
    "Ludwig Böhm Winter Kraus Martin Schumacher Krämer Vogt Stein Jäger Otto Sommer Groß Seidel "
    "Heinrich Brandt Haas Schreiber Graf Schulte Dietrich Ziegler Kuhn Kühn Pohl Engel Horn Busch "
    "Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer Yılmaz Kaya Demir Nowak Kowalski Rossi"
).split()
MOBILE_PREFIXES = (
    "151",
    "152",
    "157",
    "159",
    "160",
    "162",
    "163",
    "170",
    "171",
    "172",
    "173",
    "174",
    "175",
    "176",
    "177",
    "178",
    "179",
)
MESSENGER_WEIGHTS = (("whatsapp", 70), ("telegram", 10), ("facebook", 6), ("instagram", 6), ("sms", 4), ("webchat", 4))
SNIPPETS = (
    "Hallo, ist meine Bestellung schon unterwegs?",
    "Danke für die schnelle Antwort!",
    "Wann habt ihr morgen geöffnet?",
    "Ich möchte meinen Termin verschieben.",
    "Können Sie mir die Rechnung noch einmal schicken?",
    "Alles klar, bis dann.",
)


def phone_for(i: int) -> str:
    """The i-th demo number: valid German mobile numbers, unique for i < 170 million."""
    prefix = MOBILE_PREFIXES[i % len(MOBILE_PREFIXES)]
    suffix = (i // len(MOBILE_PREFIXES)) * 104729 % 10**7  # a bijection on 7 digits
    if prefix.startswith("15"):  # 015x numbers have one digit more: 0151 1234 5678
        return f"+49{prefix}1{suffix:07d}"
    return f"+49{prefix}{suffix:07d}"


def _contacts(start: int, count: int, rng: random.Random) -> Iterator[dict[str, object]]:
    now = utcnow()
    messengers = [m for m, w in MESSENGER_WEIGHTS for _ in range(w)]
    for i in range(start, start + count):
        first_contact = now - timedelta(days=rng.uniform(0, 3 * 365))
        chatted = rng.random() < 0.85
        last_chat = first_contact + (now - first_contact) * rng.random() if chatted else None
        name = None if rng.random() < 0.08 else f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        phone = phone_for(i)
        yield {
            "phone": phone,
            "phone_display": export_number(phone),
            "messenger": rng.choice(messengers),
            "name": name,
            "name_sort": name_key(name),
            "first_contact_at": first_contact,
            "last_chat_at": last_chat,
            "blocked": rng.random() < 0.02,
            "active": rng.random() < 0.9,
            "consent_at": first_contact,
            "consent_source": "demo-data",
            "consent_by": None,
            "opted_out_at": None,
            "blocked_messages": 0,
            "blocked_last_at": None,
            "created_at": now,
            "updated_at": now,
        }


def generate(engine: Engine, count: int, *, tickets: float = 0.1, seed: int = 1, chunk: int = 50_000) -> int:
    """Insert `count` new demo contacts after any existing ones; returns how many were inserted."""
    rng = random.Random(seed)
    with engine.connect() as conn:
        start = demo_data_store.contact_count(conn)
        bulk = bulk_load.worth_it(conn, count, count)
    done = 0
    if bulk:  # one transaction: the indexes are rebuilt once at the end (storage.bulk_load)
        with engine.begin() as conn, bulk_cache(conn), bulk_load.indexes_rebuilt(conn, renames=False):
            while done < count:
                done += _chunk(conn, start + done, min(chunk, count - done), tickets, rng)
        return done
    while done < count:
        with engine.begin() as conn:
            done += _chunk(conn, start + done, min(chunk, count - done), tickets, rng)
    return done


def _chunk(conn, first: int, n: int, tickets: float, rng: random.Random) -> int:
    rows = list(_contacts(first, n, rng))
    bulk_insert(conn, rows)
    if tickets > 0:
        _tickets(conn, [r["phone"] for r in rows], tickets, rng)
    return n


def _tickets(conn, phones: list[object], ratio: float, rng: random.Random) -> None:
    picked = [p for p in phones if rng.random() < ratio]
    if not picked:
        return
    found = demo_data_store.contact_times(conn, picked)
    ticket_rows = []
    for cid, last_chat, first in found:
        when = last_chat or first
        ticket_rows.append(
            {
                "contact_id": cid,
                "status": TicketStatus.OPEN if rng.random() < 0.3 else TicketStatus.CLOSED,
                "opened_at": when - timedelta(minutes=30),
                "closed_at": None,
                "last_message_at": when,
                "message_count": 3,
            }
        )
    ticket_ids = demo_data_store.insert_tickets(conn, ticket_rows)
    messages = []
    for tid, cid, when in ticket_ids:
        for k, direction in enumerate(("in", "out", "in")):
            messages.append(
                {
                    "ticket_id": tid,
                    "contact_id": cid,
                    "direction": direction,
                    "kind": "text",
                    "text": rng.choice(SNIPPETS),
                    "wa_message_id": None,
                    "sent_at": when - timedelta(minutes=10 * (2 - k)),
                }
            )
    demo_data_store.insert_messages(conn, messages)
