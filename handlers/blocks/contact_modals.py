"""Modals about one contact: delete confirmation and last ticket."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.statuses import TicketStatus
from bot.i18n import t
from bot.services.contacts import LastTicket
from bot.services.inbound import KINDS
from handlers.blocks.contact_list import contact_label
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, plain
from handlers.integrity import Seal
from storage.models import Contact

DELETE_CALLBACK = "contact_delete"


def delete_confirmation(contact: Contact, lang: str, metadata: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": DELETE_CALLBACK,
        "private_metadata": json.dumps(metadata, separators=(",", ":"))[:3000],
        "title": plain(t("delete.title", lang), 24),
        "submit": plain(t("delete.submit", lang), 24),
        "close": plain(t("delete.cancel", lang), 24),
        "blocks": [
            {"type": "section", "text": mrkdwn(t("delete.body", lang, who=contact_label(contact, lang)))},
        ],
    }


TICKET_CALLBACK = "contact_ticket"
CLOSE_TICKET_ACTION = "ticket_close"


def _close_button(ticket_id: int, lang: str, seal: Seal) -> dict[str, Any]:
    return {
        "type": "actions",
        "block_id": "ticket_actions",
        "elements": [
            {
                **button(
                    t("inbound.ticket.close_button", lang),
                    CLOSE_TICKET_ACTION,
                    seal(str(ticket_id), CLOSE_TICKET_ACTION),
                    "danger",
                ),
                "confirm": {
                    "title": plain(t("inbound.ticket.close_confirm_title", lang), 100),
                    "text": plain(t("inbound.ticket.close_confirm_text", lang, id=ticket_id), 300),
                    "confirm": plain(t("inbound.ticket.close_confirm_yes", lang), 30),
                    "deny": plain(t("inbound.ticket.close_confirm_no", lang), 30),
                    "style": "danger",
                },
            }
        ],
    }


def _contact_notes(contact: Contact, lang: str) -> list[dict[str, Any]]:
    """What inbound traffic taught us about the contact: it is blocked but wrote, or it opted out."""
    notes = []
    if contact.blocked_messages:
        notes.append(
            t(
                "inbound.blocked_wrote",
                lang,
                count=contact.blocked_messages,
                when=date_token(contact.blocked_last_at, t("never", lang)),
            )
        )
    if contact.opted_out_at is not None:
        notes.append(t("inbound.opted_out", lang, when=date_token(contact.opted_out_at)))
    return [{"type": "context", "elements": [mrkdwn(note)]} for note in notes]


def message_body(kind: str, text_: str | None, lang: str) -> str:
    """A message's text, or what it was (image, location, ...) with its caption/description."""
    if kind == "text":
        return escape(cut(text_ or "", 500))
    label = f"_[{t(f'inbound.kind.{kind}', lang) if kind in KINDS else escape(kind)}]_"
    return f"{label} {escape(cut(text_, 500))}" if text_ else label


def last_ticket(
    contact: Contact,
    found: LastTicket | None,
    lang: str,
    can_close: bool = False,
    notice: str | None = None,
    *,
    seal: Seal,
    history: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The last-ticket modal; admins (`can_close`) get a button closing an open ticket (its value sealed);
    `history` (handlers/blocks/history.py: `modal_blocks`) shows the contact's timeline under the ticket.

    The metadata is plain here: the listener seals the whole view before opening it."""
    who = contact_label(contact, lang)
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append({"type": "section", "text": mrkdwn(notice)})
    blocks.extend(_contact_notes(contact, lang))
    if found is None:
        blocks.append({"type": "section", "text": mrkdwn(t("ticket.none", lang, who=who))})
    else:
        ticket = found.ticket
        never = t("never", lang)
        blocks.append({"type": "section", "text": mrkdwn(t("ticket.summary", lang, who=who, id=ticket.id))})
        blocks.append(
            {
                "type": "section",
                "fields": [
                    mrkdwn(f"*{t('ticket.status', lang)}*\n{t(f'ticket.status.{ticket.status}', lang)}"),
                    mrkdwn(f"*{t('ticket.opened', lang)}*\n{date_token(ticket.opened_at, never)}"),
                    mrkdwn(f"*{t('ticket.last_message', lang)}*\n{date_token(ticket.last_message_at, never)}"),
                    mrkdwn(f"*{t('ticket.count', lang)}*\n{ticket.message_count}"),
                ],
            }
        )
        if found.messages:
            blocks.append({"type": "divider"})
            blocks.append({"type": "section", "text": mrkdwn(f"*{t('ticket.recent', lang)}*")})
            for message in found.messages:
                author = t(f"ticket.direction.{message.direction}", lang)
                body = message_body(message.kind, message.text, lang)
                blocks.append(
                    {
                        "type": "context",
                        "elements": [mrkdwn(f"*{author}* · {date_token(message.sent_at, never)}\n{body}")],
                    }
                )
        if can_close and ticket.status == TicketStatus.OPEN:
            blocks.append(_close_button(ticket.id or 0, lang, seal))
    blocks.extend(history or [])
    return {
        "type": "modal",
        "callback_id": TICKET_CALLBACK,
        "private_metadata": json.dumps({"cid": contact.id}),
        "title": plain(t("ticket.title", lang), 24),
        "close": plain(t("ticket.close", lang), 24),
        "blocks": blocks,
    }
