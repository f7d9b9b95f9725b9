"""A contact's history: every template sent to it (with the text and its status timeline) and every message,
newest first, a page at a time (keyset: the next page starts after the last event's cursor).

Shared by the contact card, the last-ticket modal and `contactbot contacts history NUMBER`.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.services.contacts import NotFound
from storage import contacts as contacts_store
from storage import history as history_store
from storage.db import Engine, Session
from storage.history import Cursor, Event
from storage.models import Contact

PAGE = 5  # the last-ticket modal: a block per event
CARD_PAGE = 3  # the contact card: one section of at most 3,000 characters for all of them
MAX_PAGE = 200


@dataclass
class HistoryPage:
    contact: Contact
    events: list[Event]
    more: bool  # older events exist: `next_cursor` fetches them
    cursor: str | None = None  # the cursor this page started after (None: the newest)

    @property
    def next_cursor(self) -> str | None:
        return self.events[-1].cursor.encode() if self.more and self.events else None


def valid_cursor(raw: str) -> bool:
    return Cursor.parse(raw) is not None


def page(engine: Engine, contact_id: int, cursor: str | None = None, limit: int = PAGE) -> HistoryPage:
    """A page of the contact's history after `cursor` (an encoded `Cursor`; invalid or None: the newest)."""
    after = Cursor.parse(cursor) if cursor else None
    with Session(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        events, more = history_store.page(session, contact_id, after, max(1, min(limit, MAX_PAGE)))
    return HistoryPage(contact, events, more, after.encode() if after else None)
