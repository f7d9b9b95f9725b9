"""Modals about one contact: delete confirmation and last ticket."""

from __future__ import annotations

import json
from typing import Any

from bot.contacts import LastTicket
from bot.i18n import t
from handlers.blocks.contact_list import contact_label
from handlers.blocks.text import cut, date_token, escape, mrkdwn, plain
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


def last_ticket(contact: Contact, found: LastTicket | None, lang: str) -> dict[str, Any]:
    who = contact_label(contact, lang)
    blocks: list[dict[str, Any]] = []
    if found is None:
        blocks.append({"type": "section", "text": mrkdwn(t("ticket.none", lang, who=who))})
    else:
        ticket = found.ticket
        never = t("never", lang)
        blocks.append({"type": "section", "text": mrkdwn(t("ticket.summary", lang, who=who, id=ticket.id))})
        blocks.append({
            "type": "section",
            "fields": [
                mrkdwn(f"*{t('ticket.status', lang)}*\n{t(f'ticket.status.{ticket.status}', lang)}"),
                mrkdwn(f"*{t('ticket.opened', lang)}*\n{date_token(ticket.opened_at, never)}"),
                mrkdwn(f"*{t('ticket.last_message', lang)}*\n{date_token(ticket.last_message_at, never)}"),
                mrkdwn(f"*{t('ticket.count', lang)}*\n{ticket.message_count}"),
            ],
        })
        if found.messages:
            blocks.append({"type": "divider"})
            blocks.append({"type": "section", "text": mrkdwn(f"*{t('ticket.recent', lang)}*")})
            for message in found.messages:
                author = t(f"ticket.direction.{message.direction}", lang)
                body = escape(cut(message.text or f"[{message.kind}]", 500))
                blocks.append({
                    "type": "context",
                    "elements": [mrkdwn(f"*{author}* · {date_token(message.sent_at, never)}\n{body}")],
                })
    return {
        "type": "modal",
        "callback_id": "contact_ticket",
        "title": plain(t("ticket.title", lang), 24),
        "close": plain(t("ticket.close", lang), 24),
        "blocks": blocks,
    }
