"""WhatsApp's `user_changed_number`: the person keeps everything, the old number keeps nothing.

The contact moves to the new number with its consent, opt-outs, attributes, tickets and history;
pending broadcast deliveries follow it, so the old number (which the carrier may give to a stranger)
gets nothing more. When the new number already is a contact, the two are merged:

- the contact that had the old number is kept (its id, name, consent record and history);
- the other one's tickets, messages, attribute values the kept one lacks and deliveries of other
  broadcasts move over; if both have an open ticket, the other's is closed first;
- restrictions add up: blocked if either was, opted out (and out of marketing) from the earlier
  date if either was, active only if both were; first contact is the earlier, last chat the later;
- then the other contact is erased like any contact.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table, and_, exists, select, update
from sqlalchemy.orm import aliased
from sqlmodel import Session, col

from bot.domain.phone import export_number
from bot.domain.wa_ids import digits
from storage import audit, suppression
from storage.contacts import erase
from storage.models import Contact, ContactAttribute, Delivery, Message, Ticket, utcnow

C: Table = Contact.__table__  # type: ignore[attr-defined]


def _earlier(a: Any, b: Any) -> Any:
    return min(x for x in (a, b) if x is not None) if (a or b) else None


def _move_unless_kept(session: Session, model: Any, key: str, oid: int | None, kid: int | None) -> None:
    """Move the other contact's rows of this table to the kept one, except those whose `key` the kept contact
    already has a row for (a unique (contact, key) pair): they stay, and go with the other contact."""
    mine = aliased(model)
    session.execute(
        update(model)
        .where(
            col(model.contact_id) == oid,
            ~exists(
                select(col(mine.contact_id)).where(
                    and_(col(mine.contact_id) == kid, col(getattr(mine, key)) == col(getattr(model, key)))
                )
            ),
        )
        .values(contact_id=kid)
    )


def _merge(session: Session, keep: Contact, other: Contact) -> None:
    kid, oid = keep.id, other.id
    if session.scalar(select(col(Ticket.id)).where(col(Ticket.contact_id) == kid, col(Ticket.status) == "open")):
        session.execute(
            update(Ticket)
            .where(col(Ticket.contact_id) == oid, col(Ticket.status) == "open")
            .values(status="closed", closed_at=utcnow())
        )
    session.execute(update(Ticket).where(col(Ticket.contact_id) == oid).values(contact_id=kid))
    session.execute(update(Message).where(col(Message.contact_id) == oid).values(contact_id=kid))
    _move_unless_kept(session, ContactAttribute, "attribute_id", oid, kid)  # one value per attribute
    _move_unless_kept(session, Delivery, "broadcast_id", oid, kid)  # one delivery per broadcast
    keep.blocked = keep.blocked or other.blocked
    keep.active = keep.active and other.active
    keep.opted_out_at = _earlier(keep.opted_out_at, other.opted_out_at)
    keep.marketing_opted_out_at = _earlier(keep.marketing_opted_out_at, other.marketing_opted_out_at)
    keep.first_contact_at = _earlier(keep.first_contact_at, other.first_contact_at)
    if other.last_chat_at and (keep.last_chat_at is None or other.last_chat_at > keep.last_chat_at):
        keep.last_chat_at = other.last_chat_at
    if keep.name is None and other.name:
        keep.name, keep.name_sort = other.name, other.name_sort
    keep.blocked_messages += other.blocked_messages
    session.flush()
    erase(session, other)


def number_change(session: Session, old: str, new: str, messenger: str, actor: str) -> bool:
    """Move the contact of `old` to `new` (merging with an existing `new` contact); False if none."""
    keep = session.scalars(
        select(Contact).where(col(Contact.phone) == old, col(Contact.messenger) == messenger)
    ).first()
    if keep is None or old == new:
        return False
    other = session.scalars(
        select(Contact).where(col(Contact.phone) == new, col(Contact.messenger) == messenger)
    ).first()
    merged = other.id if other is not None else None
    if other is not None:
        _merge(session, keep, other)
    keep.phone = new
    keep.phone_display = export_number(new)  # the stored display form follows the number (storage/display_numbers)
    keep.wa_id = digits(new) or None
    keep.updated_at = utcnow()
    session.add(keep)
    session.flush()
    session.execute(  # frozen recipients follow the person, never the old number
        update(Delivery).where(col(Delivery.contact_id) == keep.id, col(Delivery.status) == "pending").values(phone=new)
    )
    if keep.opted_out_at is not None:
        suppression.record(session, [new], keep.opted_out_at)
    if keep.marketing_opted_out_at is not None:
        suppression.record(session, [new], keep.marketing_opted_out_at, marketing_only=True)
    audit.record(session, actor, "contact.number_changed", "contact", keep.id, merged_from=merged)
    return True
