"""Contact services shared by Slack, the CLI and (later) webhooks: list, change, erase; all audited."""

from __future__ import annotations

from dataclasses import dataclass

from bot.domain.contacts import ContactFilter, PageRequest
from storage import attributes as attribute_store
from storage import audit, tickets
from storage import contacts as contacts_store
from storage.attributes import values_for_many
from storage.contacts import Page
from storage.db import Engine, Session, session_scope
from storage.models import Contact, Message, Ticket, utcnow

CHANGES: dict[str, tuple[str, bool]] = {
    "block": ("blocked", True),
    "unblock": ("blocked", False),
    "activate": ("active", True),
    "deactivate": ("active", False),
}


class NotFound(LookupError):
    """The contact is gone (deleted meanwhile) or never existed."""


def list_contacts(engine: Engine, flt: ContactFilter, req: PageRequest, region: str) -> Page:
    with Session(engine) as session:
        return contacts_store.list_page(session, flt, req, region)


def change(engine: Engine, contact_id: int, action: str, actor: str) -> Contact:
    """Block/unblock/activate/deactivate one contact; a no-op change is not audited twice."""
    attr, value = CHANGES[action]
    with session_scope(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        if getattr(contact, attr) != value:
            setattr(contact, attr, value)
            contact.updated_at = utcnow()
            session.add(contact)
            audit.record(session, actor, f"contact.{action}", "contact", contact_id)
        session.flush()
        session.refresh(contact)
        return contact


def erase(engine: Engine, contact_id: int, actor: str) -> dict[str, int]:
    """GDPR erasure: the contact and every row about it; the audit keeps only counts and the id."""
    with session_scope(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        removed = contacts_store.erase(session, contact)
        audit.record(session, actor, "contact.delete", "contact", contact_id, removed=removed)
        return removed


@dataclass
class LastTicket:
    ticket: Ticket
    messages: list[Message]


def last_ticket(engine: Engine, contact_id: int, messages: int = 5) -> tuple[Contact, LastTicket | None]:
    with Session(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        found = tickets.last_for_contact(session, contact_id)
        if found is None:
            return contact, None
        return contact, LastTicket(found, tickets.last_messages(session, found.id or 0, messages))


def by_phone(engine: Engine, phone: str, messenger: str | None = None) -> list[Contact]:
    """Contacts with this E.164 number (one per messenger unless `messenger` narrows it)."""
    with session_scope(engine) as session:
        return contacts_store.by_phone(session, phone, messenger)


def find(engine: Engine, contact_id: int) -> Contact | None:
    with Session(engine) as session:
        return contacts_store.get(session, contact_id)


def contact_or_raise(engine: Engine, contact_id: int) -> Contact:
    with Session(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        return contact


def attribute_values(engine: Engine, contact_ids: list[int]) -> dict[int, dict[int, str]]:
    with Session(engine) as session:
        return values_for_many(session, contact_ids)


def details(engine: Engine, contact_id: int) -> tuple[Contact, list, dict[int, str]]:
    """A contact with every attribute definition and its values (for the details modal)."""
    with Session(engine) as session:
        contact = contacts_store.get(session, contact_id)
        if contact is None:
            raise NotFound(contact_id)
        return contact, attribute_store.all_attributes(session), attribute_store.values_for(session, contact_id)
