"""Inbound messages into contacts, tickets and messages: one webhook batch in a handful of statements.

Every step is set-based (one chunked SELECT or INSERT/UPDATE per step), so a body of 1,000 messages
costs about a dozen statements, not thousands. Uniqueness in the database (message id, (phone,
messenger), one open ticket per contact) makes redelivered and concurrent requests harmless: an
insert that loses a race is skipped (ON CONFLICT DO NOTHING) and the row is read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session

from bot.domain.contacts import name_key
from bot.domain.statuses import TicketStatus
from storage import audit
from storage.models import Contact, Message, Ticket, table_of, utcnow
from storage.types import UtcDateTime

CHUNK = 500
CONTACT: Table = table_of(Contact)
TICKET: Table = table_of(Ticket)
MESSAGE: Table = table_of(Message)
Key = tuple[str, str]  # (phone, messenger)


@dataclass(frozen=True)
class IncomingMessage:
    """One message a customer sent, already normalized (E.164 number, UTC time, our kind names)."""

    messenger: str
    phone: str
    message_id: str  # unique across messengers: callers prefix non-WhatsApp ids
    at: datetime
    kind: str
    text: str | None = None
    name: str | None = None  # the sender's profile name, if the messenger tells it
    opt_out: bool = False  # the message withdraws consent (an opt-out keyword)

    @property
    def key(self) -> Key:
        return (self.phone, self.messenger)


@dataclass(frozen=True)
class OptOut:
    """Consent withdrawn without a message (e.g. WhatsApp's marketing "stop" preference)."""

    messenger: str
    phone: str
    at: datetime


@dataclass
class Outcome:
    stored: int = 0  # new messages on tickets
    duplicates: int = 0  # already stored (redelivery)
    blocked: int = 0  # new messages from blocked contacts (counted, no ticket)
    contacts_created: int = 0
    tickets_opened: int = 0
    opted_out: int = 0


@dataclass(frozen=True)
class _Known:
    id: int
    blocked: bool
    has_name: bool


def _chunks(items: Sequence[Any], size: int = CHUNK) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _insert(session: Session, table: Table) -> Insert:
    """INSERT that skips rows violating a unique constraint (both dialects spell it the same)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    statement: Insert = dialect.insert(table).on_conflict_do_nothing()  # either dialect's Insert
    return statement


def _later(column: Any, param: str) -> Any:
    """The later of a nullable timestamp column and a parameter: times never move backwards."""
    value = bindparam(param, type_=UtcDateTime())
    return case((or_(column.is_(None), column < value), value), else_=column)


def existing_message_ids(session: Session, ids: Sequence[str]) -> set[str]:
    found: set[str] = set()
    for part in _chunks(ids):
        found.update(
            session.execute(select(MESSAGE.c.wa_message_id).where(MESSAGE.c.wa_message_id.in_(part))).scalars()
        )
    return found


def _contacts(session: Session, keys: Iterable[Key]) -> dict[Key, _Known]:
    wanted = set(keys)
    phones = sorted({phone for phone, _ in wanted})
    found: dict[Key, _Known] = {}
    for part in _chunks(phones):
        rows = session.execute(
            select(CONTACT.c.id, CONTACT.c.phone, CONTACT.c.messenger, CONTACT.c.blocked, CONTACT.c.name).where(
                CONTACT.c.phone.in_(part)
            )
        )
        for cid, phone, messenger, blocked, name in rows:
            if (phone, messenger) in wanted:
                found[(phone, messenger)] = _Known(cid, bool(blocked), name is not None)
    return found


def _ensure_contacts(session: Session, messages: Sequence[IncomingMessage], out: Outcome) -> dict[Key, _Known]:
    """Create the senders we do not know yet; update last chat and name of the ones we do."""
    first: dict[Key, datetime] = {}
    last: dict[Key, datetime] = {}
    names: dict[Key, str] = {}
    for m in messages:
        first[m.key] = min(first.get(m.key, m.at), m.at)
        last[m.key] = max(last.get(m.key, m.at), m.at)
        if m.name and m.key not in names:
            names[m.key] = m.name
    known = _contacts(session, first)
    missing = sorted(k for k in first if k not in known)  # one lock order for every request
    created: Sequence[Any] = []
    if missing:
        now = utcnow()
        rows = [
            {
                "phone": k[0],
                "messenger": k[1],
                "name": names.get(k),
                "name_sort": name_key(names.get(k)),
                "first_contact_at": first[k],
                "last_chat_at": last[k],
                "blocked": False,
                "active": True,
                "blocked_messages": 0,
                "created_at": now,
                "updated_at": now,
            }
            for k in missing
        ]
        created = (
            session.connection()
            .execute(_insert(session, CONTACT).returning(CONTACT.c.phone, CONTACT.c.messenger), rows)
            .all()
        )
        out.contacts_created += len(created)
        known.update(_contacts(session, missing))  # also the rows a concurrent request created first
    fresh = {(phone, messenger) for phone, messenger in created}  # ours; a concurrent request's get updated
    now = utcnow()
    seen = [k for k in first if k in known and k not in fresh]
    seen.sort(key=lambda k: known[k].id)  # rows locked in id order: concurrent requests cannot deadlock
    chat = [{"b_id": known[k].id, "b_last": last[k], "b_now": now} for k in seen if not known[k].blocked]
    if chat:  # only where it moves forward: a late delivery writes nothing
        later = bindparam("b_last", type_=UtcDateTime())
        session.connection().execute(
            update(CONTACT)
            .where(
                CONTACT.c.id == bindparam("b_id"), or_(CONTACT.c.last_chat_at.is_(None), CONTACT.c.last_chat_at < later)
            )
            .values(last_chat_at=later, updated_at=bindparam("b_now", type_=UtcDateTime())),
            chat,
        )
    naming = [
        {"b_id": known[k].id, "b_name": names[k], "b_sort": name_key(names[k])}
        for k in seen
        if k in names and not known[k].has_name
    ]
    if naming:  # a separate statement: touching name_sort re-indexes the search, so only when needed
        session.connection().execute(
            update(CONTACT)
            .where(and_(CONTACT.c.id == bindparam("b_id"), CONTACT.c.name.is_(None)))
            .values(name=bindparam("b_name"), name_sort=bindparam("b_sort")),
            naming,
        )
    return known


def _open_tickets(session: Session, contact_ids: Sequence[int]) -> dict[int, int]:
    found: dict[int, int] = {}
    for part in _chunks(contact_ids):
        rows = session.execute(
            select(TICKET.c.contact_id, TICKET.c.id)
            .where(TICKET.c.status == TicketStatus.OPEN, TICKET.c.contact_id.in_(part))
            .order_by(TICKET.c.id)
        )
        found.update({cid: tid for cid, tid in rows})
    return found


def _ensure_tickets(session: Session, opened: dict[int, datetime], out: Outcome) -> dict[int, int]:
    """contact id -> its open ticket id; opens one (at its first message's time) where none is open."""
    tickets = _open_tickets(session, sorted(opened))
    need = sorted(cid for cid in opened if cid not in tickets)
    if need:
        rows = [
            {
                "contact_id": cid,
                "status": TicketStatus.OPEN,
                "opened_at": opened[cid],
                "closed_at": None,
                "last_message_at": None,
                "message_count": 0,
            }
            for cid in need
        ]
        created = session.connection().execute(_insert(session, TICKET).returning(TICKET.c.id), rows).all()
        out.tickets_opened += len(created)
        tickets.update(_open_tickets(session, need))
    return tickets


def apply(
    session: Session, messages: Sequence[IncomingMessage], opt_outs: Sequence[OptOut] = (), actor: str = "inbound"
) -> Outcome:
    """Store a batch of inbound messages: contacts, tickets, messages, blocked counts, opt-outs."""
    out = Outcome()
    unique: dict[str, IncomingMessage] = {}
    for m in messages:
        unique.setdefault(m.message_id, m)
    known_ids = existing_message_ids(session, list(unique))
    fresh = [m for mid, m in unique.items() if mid not in known_ids]
    out.duplicates = len(messages) - len(fresh)
    if fresh:
        _store(session, fresh, out)
    withdrawals = [OptOut(m.messenger, m.phone, m.at) for m in fresh if m.opt_out] + list(opt_outs)
    for o in withdrawals:
        cid = session.execute(
            update(CONTACT)
            .where(
                CONTACT.c.phone == o.phone,
                CONTACT.c.messenger == o.messenger,
                or_(CONTACT.c.opted_out_at.is_(None), CONTACT.c.opted_out_at < o.at),
            )
            .values(active=False, opted_out_at=o.at, updated_at=utcnow())
            .returning(CONTACT.c.id)
        ).scalar()
        if cid is not None:
            out.opted_out += 1
            audit.record(session, actor, "contact.opt_out", "contact", cid)
    return out


def _store(session: Session, fresh: Sequence[IncomingMessage], out: Outcome) -> None:
    contacts = _ensure_contacts(session, fresh, out)
    opened: dict[int, datetime] = {}
    for m in fresh:
        c = contacts[m.key]
        if not c.blocked:
            opened[c.id] = min(opened.get(c.id, m.at), m.at)
    tickets = _ensure_tickets(session, opened, out) if opened else {}
    rows: list[dict[str, Any]] = []
    for m in fresh:
        c = contacts[m.key]
        rows.append(
            {
                "ticket_id": None if c.blocked else tickets[c.id],
                "contact_id": c.id,
                "direction": "in",
                "kind": m.kind,
                "text": None if c.blocked else m.text,  # a blocked sender's words reach no one
                "wa_message_id": m.message_id,
                "sent_at": m.at,
                "status": None,
                "status_at": None,
                "error_code": None,
                "error_title": None,
            }
        )
    inserted = set(
        session.connection().execute(_insert(session, MESSAGE).returning(MESSAGE.c.wa_message_id), rows).scalars()
    )
    out.duplicates += len(rows) - len(inserted)  # lost a race with a concurrent redelivery
    per_ticket: dict[int, tuple[int, datetime]] = {}
    per_blocked: dict[int, tuple[int, datetime]] = {}
    for m, row in zip(fresh, rows, strict=True):
        if m.message_id not in inserted:
            continue
        blocked = row["ticket_id"] is None
        target, ident = (per_blocked, row["contact_id"]) if blocked else (per_ticket, row["ticket_id"])
        n, at = target.get(ident, (0, m.at))
        target[ident] = (n + 1, max(at, m.at))
    out.stored = sum(n for n, _ in per_ticket.values())
    out.blocked = sum(n for n, _ in per_blocked.values())
    if per_ticket:
        session.connection().execute(
            update(TICKET)
            .where(TICKET.c.id == bindparam("b_id"))
            .values(
                message_count=TICKET.c.message_count + bindparam("b_n"),
                last_message_at=_later(TICKET.c.last_message_at, "b_at"),
            ),
            [{"b_id": tid, "b_n": n, "b_at": at} for tid, (n, at) in sorted(per_ticket.items())],
        )
    if per_blocked:
        session.connection().execute(
            update(CONTACT)
            .where(CONTACT.c.id == bindparam("b_id"))
            .values(
                blocked_messages=CONTACT.c.blocked_messages + bindparam("b_n"),
                blocked_last_at=_later(CONTACT.c.blocked_last_at, "b_at"),
            ),
            [{"b_id": cid, "b_n": n, "b_at": at} for cid, (n, at) in sorted(per_blocked.items())],
        )
