"""One contact in full: find it from what a person typed or a message holds, and load its card data.

Shared by `/contacts <number or exact name>`, the "Look up contact" message shortcut and the card's
buttons, so all three show the same thing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import phonenumbers

from bot.domain.contacts import ContactFilter, name_key
from bot.domain.phone import PhoneError, search_digits, to_e164
from bot.services.contacts import LastTicket, NotFound
from bot.services.history import CARD_PAGE, HistoryPage
from storage import contact_card as contact_card_store
from storage import contacts as contacts_store
from storage import history as history_store
from storage import tickets
from storage.db import Engine, Session
from storage.history import Cursor
from storage.models import Attribute, Contact

_DIGIT_RUN = re.compile(r"(?<![\d+])\d{11,15}(?!\d)")


@dataclass
class ContactCard:
    contact: Contact
    attributes: list[tuple[Attribute, str]] = field(default_factory=list)
    last_ticket: LastTicket | None = None
    history: HistoryPage | None = None  # templates and messages, newest first (issue 18)


def load(engine: Engine, contact_id: int, history_cursor: str | None = None) -> ContactCard:
    """The card's data; `history_cursor` pages its history (None: the newest entries)."""
    after = Cursor.parse(history_cursor) if history_cursor else None
    with Session(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        found = tickets.last_for_contact(session, contact_id)
        last = None
        if found is not None:
            last = LastTicket(found, tickets.last_messages(session, found.id or 0, 1))
        events, more = history_store.page(session, contact_id, after, CARD_PAGE)
        page = HistoryPage(contact, events, more, after.encode() if after else None)
        return ContactCard(contact, contact_card_store.attributes_of(session, contact_id), last, page)


def phone_of(text: str, region: str) -> str | None:
    """E.164 when the whole text is one valid phone number, else None."""
    if search_digits(text, region) is None:
        return None
    try:
        return to_e164(text, region)
    except PhoneError:
        return None


def find_one(engine: Engine, text: str, region: str) -> int | None:
    """The id of the one contact a text names (its full number, or its exact name), else None."""
    text = text.strip()
    if not text:
        return None
    with Session(engine) as session:
        phone = phone_of(text, region)
        if phone is not None:
            found = contacts_store.by_phone(session, phone)
        else:
            key = name_key(text)
            found = contact_card_store.by_exact_name(session, key) if key else []
        return found[0].id if len(found) == 1 else None


def matches_any(engine: Engine, text: str, region: str) -> bool:
    """Whether a search for `text` finds any contact at all (active or not)."""
    with Session(engine) as session:
        found, _ = contacts_store.count_bounded(session, ContactFilter(status="all", search=text), region, cap=1)
        return found > 0


def numbers_in(text: str, region: str, limit: int = 10) -> list[str]:
    """Valid phone numbers written anywhere in a message, as E.164, without repeats.

    Besides the usual ways of writing a number, a bare international digit run (a WhatsApp id like
    `4917012345678`) counts when it is a valid number with a leading `+`.
    """
    found: list[str] = []
    for match in phonenumbers.PhoneNumberMatcher(text or "", region, leniency=phonenumbers.Leniency.VALID):
        found.append(phonenumbers.format_number(match.number, phonenumbers.PhoneNumberFormat.E164))
    for digits in _DIGIT_RUN.findall(text or ""):
        try:
            found.append(to_e164("+" + digits, region))
        except PhoneError:
            continue
    return list(dict.fromkeys(found))[:limit]


def by_numbers(engine: Engine, numbers: list[str]) -> tuple[list[int], list[str]]:
    """Contact ids for the numbers (every messenger), and the numbers no contact has."""
    ids: list[int] = []
    missing: list[str] = []
    with Session(engine) as session:
        for phone in numbers:
            found = contacts_store.by_phone(session, phone)
            if not found:
                missing.append(phone)
            ids.extend(c.id for c in found if c.id is not None and c.id not in ids)
    return ids, missing
