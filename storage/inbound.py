"""Inbound messages into contacts, tickets and messages: one webhook batch in a handful of statements.

Every step is set-based (one chunked SELECT or INSERT/UPDATE per step), so a body of 1,000 messages
costs about a dozen statements, not thousands. Uniqueness in the database (message id, (phone,
messenger), one open ticket per contact) makes redelivered and concurrent requests harmless: an
insert that loses a race is skipped (ON CONFLICT DO NOTHING) and the row is read back.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session

from bot.domain.contacts import name_key
from bot.domain.statuses import TicketStatus
from bot.domain.wa_ids import digits, equivalent_forms
from storage import audit, suppression
from storage.models import Contact, Message, Ticket, table_of, utcnow
from storage.number_change import number_change
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
    opt_out: bool = False  # the message withdraws consent (an opt-out keyword or WhatsApp's stop button)
    opt_in: bool = False  # the person typed a re-subscribe keyword (START) themselves
    changed_to: str | None = None  # `user_changed_number`: the sender's new number (E.164)

    @property
    def key(self) -> Key:
        return (self.phone, self.messenger)


@dataclass(frozen=True)
class OptOut:
    """Consent withdrawn without a message (e.g. WhatsApp's marketing "stop" preference)."""

    messenger: str
    phone: str
    at: datetime
    marketing_only: bool = False  # 131050: stopped marketing messages only (utility ones still allowed)
    resume: bool = False  # `user_preferences` "resume": the person lifted their marketing stop


@dataclass
class Outcome:
    stored: int = 0  # new messages on tickets
    duplicates: int = 0  # already stored (redelivery)
    blocked: int = 0  # new messages from blocked contacts (counted, no ticket)
    contacts_created: int = 0
    tickets_opened: int = 0
    opted_out: int = 0
    opted_in: int = 0
    numbers_changed: int = 0
    created_ids: list[tuple[int, str]] = field(default_factory=list, repr=False)  # (id, phone) made here


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
                "wa_id": digits(k[0]) if k[1] == "whatsapp" else None,  # an inbound `from` is the wa_id
                "undeliverable_count": 0,
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
    out.created_ids += [(known[k].id, k[0]) for k in sorted(fresh) if k in known]
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
            .values(
                last_chat_at=later,
                updated_at=bindparam("b_now", type_=UtcDateTime()),
                undeliverable_count=0,  # they wrote in: the number works again
            ),
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


def _resolve(
    session: Session, messages: Sequence[IncomingMessage], opt_outs: Sequence[OptOut]
) -> tuple[list[IncomingMessage], list[OptOut]]:
    """WhatsApp senders onto the contact we already have for that person (issue 14).

    A wa_id can differ from the number we know (Mexico 52/521, Brazil's ninth digit, Argentina
    54/549): match the contact whose stored wa_id is the sender's, else the exact number, else an
    equivalent form, so the same person never becomes a second contact. The matched contact learns
    the sender's wa_id."""
    phones = {m.phone for m in messages if m.messenger == "whatsapp"} | {
        o.phone for o in opt_outs if o.messenger == "whatsapp"
    }
    if not phones:
        return list(messages), list(opt_outs)
    forms = {p: equivalent_forms(p) or (p,) for p in phones}
    every = sorted({f for fs in forms.values() for f in fs})
    ids = sorted({digits(p) for p in phones} - {""})
    by_phone: dict[str, tuple[int, str | None]] = {}
    by_wa: dict[str, tuple[int, str]] = {}
    for part in _chunks(every):
        for cid, phone, wa in session.execute(
            select(CONTACT.c.id, CONTACT.c.phone, CONTACT.c.wa_id).where(
                CONTACT.c.messenger == "whatsapp", CONTACT.c.phone.in_(part)
            )
        ):
            by_phone[phone] = (cid, wa)
    for part in _chunks(ids):
        for cid, phone, wa in session.execute(
            select(CONTACT.c.id, CONTACT.c.phone, CONTACT.c.wa_id)
            .where(CONTACT.c.messenger == "whatsapp", CONTACT.c.wa_id.in_(part))
            .order_by(CONTACT.c.id)
        ):
            by_wa.setdefault(wa, (cid, phone))
    target: dict[str, str] = {}
    learn: dict[int, str] = {}
    for p in sorted(phones):
        wa = digits(p)
        if wa in by_wa:
            target[p] = by_wa[wa][1]
            continue
        found = next((f for f in forms[p] if f in by_phone), None)
        if found is None:
            continue  # a new person: created with this number
        target[p] = found
        cid, known_wa = by_phone[found]
        if known_wa != wa:
            learn[cid] = wa
    for cid in sorted(learn):
        session.execute(update(CONTACT).where(CONTACT.c.id == cid).values(wa_id=learn[cid]))
    moved = [replace(m, phone=target.get(m.phone, m.phone)) if m.messenger == "whatsapp" else m for m in messages]
    outs = [replace(o, phone=target.get(o.phone, o.phone)) if o.messenger == "whatsapp" else o for o in opt_outs]
    return moved, outs


def apply(
    session: Session, messages: Sequence[IncomingMessage], opt_outs: Sequence[OptOut] = (), actor: str = "inbound"
) -> Outcome:
    """Store a batch of inbound messages: contacts, tickets, messages, blocked counts, opt-outs, opt-ins,
    number changes; numbers on the suppression list come back opted out."""
    out = Outcome()
    messages, opt_outs = _resolve(session, messages, opt_outs)
    unique: dict[str, IncomingMessage] = {}
    for m in messages:
        unique.setdefault(m.message_id, m)
    known_ids = existing_message_ids(session, list(unique))
    fresh = [m for mid, m in unique.items() if mid not in known_ids]
    out.duplicates = len(messages) - len(fresh)
    if fresh:
        _store(session, fresh, out)
    if out.created_ids:
        suppression.reapply(session, out.created_ids)
    withdrawals = [OptOut(m.messenger, m.phone, m.at) for m in fresh if m.opt_out] + list(opt_outs)
    for o in withdrawals:
        _withdraw(session, o, out, actor)
    for m in fresh:
        if m.opt_in and not m.opt_out:
            _opt_in(session, m, out, actor)
        if m.changed_to and number_change(session, m.phone, m.changed_to, m.messenger, actor):
            out.numbers_changed += 1
    return out


def _withdraw(session: Session, o: OptOut, out: Outcome, actor: str) -> None:
    """An opt-out (all messages) or a marketing-only one; remembered beyond erasure (storage.suppression)."""
    where = [CONTACT.c.phone == o.phone, CONTACT.c.messenger == o.messenger]
    if o.resume:
        cid = session.execute(
            update(CONTACT)
            .where(*where, CONTACT.c.marketing_opted_out_at.is_not(None), CONTACT.c.marketing_opted_out_at < o.at)
            .values(marketing_opted_out_at=None, updated_at=utcnow())
            .returning(CONTACT.c.id)
        ).scalar()
        if cid is not None:
            audit.record(session, actor, "contact.marketing_resume", "contact", cid)
        return
    column = CONTACT.c.marketing_opted_out_at if o.marketing_only else CONTACT.c.opted_out_at
    values: dict[str, Any] = {column.name: o.at, "updated_at": utcnow()}
    if not o.marketing_only:
        values["active"] = False
    cid = session.execute(
        update(CONTACT).where(*where, or_(column.is_(None), column < o.at)).values(**values).returning(CONTACT.c.id)
    ).scalar()
    if o.messenger == "whatsapp":
        suppression.record(session, [o.phone], o.at, marketing_only=o.marketing_only)
    if cid is not None:
        out.opted_out += 1
        action = "contact.marketing_opt_out" if o.marketing_only else "contact.opt_out"
        audit.record(session, actor, action, "contact", cid)


def _opt_in(session: Session, m: IncomingMessage, out: Outcome, actor: str) -> None:
    """START typed by the person: consent again, from now; the consent history (audit) says how."""
    cid = session.execute(
        update(CONTACT)
        .where(
            CONTACT.c.phone == m.phone,
            CONTACT.c.messenger == m.messenger,
            CONTACT.c.opted_out_at.is_not(None),
            CONTACT.c.opted_out_at < m.at,
        )
        .values(
            opted_out_at=None,
            marketing_opted_out_at=None,
            active=True,
            consent_at=m.at,
            consent_source="keyword",
            consent_by="customer",
            updated_at=utcnow(),
        )
        .returning(CONTACT.c.id)
    ).scalar()
    if cid is not None:
        suppression.forget(session, [m.phone])
        out.opted_in += 1
        audit.record(session, actor, "contact.opt_in", "contact", cid, source="keyword")


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
