"""The contact card: one contact with every field, attributes, consent, last ticket and its buttons.

Buttons carry the contact id, sealed (handlers/integrity.py), as value and `card_<what>` as
action_id; their block_id starts with `card|` so a click re-renders this card (not the list).
Delete reuses the list's confirmation modal.
"""

from __future__ import annotations

from typing import Any

from bot.domain.phone import display
from bot.i18n import t
from bot.services.contact_card import ContactCard
from handlers.blocks.contact_list import MESSENGER_NAMES, contact_label
from handlers.blocks.history import card_buttons, card_section
from handlers.blocks.people import who
from handlers.blocks.text import MESSAGE_TEXT_BUDGET, button, cut, date_token, escape, mrkdwn, text_size
from handlers.integrity import Seal
from storage.models import Attribute

MAX_ATTRIBUTE_FIELDS = 20


def _field(label: str, value: str) -> dict[str, str]:
    return mrkdwn(f"*{label[:1].upper()}{label[1:]}*\n{value}", 2000)


def _label(attr: Attribute, lang: str) -> str:
    return escape(cut(attr.label_en if lang == "en" and attr.label_en else attr.label_de or attr.key, 60))


def _consent(card: ContactCard, lang: str) -> str:
    c = card.contact
    unknown = t("card.unknown", lang)
    lines = [t("card.consent.title", lang)]
    if c.consent_at is not None:
        lines.append(
            t(
                "card.consent.given",
                lang,
                when=date_token(c.consent_at),
                source=escape(cut(c.consent_source, 200)) if c.consent_source else unknown,
                by=who(c.consent_by) if c.consent_by else unknown,
            )
        )
    else:
        lines.append(t("card.consent.none", lang))
    if c.opted_out_at is not None:
        lines.append(t("card.consent.withdrawn", lang, when=date_token(c.opted_out_at)))
    return "\n".join(lines)


def _ticket(card: ContactCard, lang: str) -> str:
    lines = [t("card.ticket.title", lang)]
    found = card.last_ticket
    if found is None:
        lines.append(t("card.ticket.none", lang))
        return "\n".join(lines)
    ticket, never = found.ticket, t("never", lang)
    lines.append(
        t(
            "card.ticket.line",
            lang,
            id=ticket.id,
            status=t(f"ticket.status.{ticket.status}", lang),
            opened=date_token(ticket.opened_at, never),
            last=date_token(ticket.last_message_at, never),
            count=ticket.message_count,
        )
    )
    if found.messages:
        message = found.messages[-1]
        body = escape(cut(message.text or f"[{message.kind}]", 300))
        author = t(f"ticket.direction.{message.direction}", lang)
        lines.append("> " + t("card.ticket.last_text", lang, author=author, text=body).replace("\n", "\n> "))
    return "\n".join(lines)


def _buttons(card: ContactCard, lang: str, seal: Seal) -> dict[str, Any]:
    c = card.contact
    cid = str(c.id)
    block_what = "unblock" if c.blocked else "block"
    active_what = "deactivate" if c.active else "activate"

    def card_button(text: str, action_id: str, style: str | None = None) -> dict[str, Any]:
        return button(text, action_id, seal(cid, action_id), style)  # sealed for this button's action

    paging = card_buttons(card.history, lang, seal) if card.history is not None else []
    return {
        "type": "actions",
        "block_id": f"card|{cid}|buttons",
        "elements": [
            card_button(t(f"menu.{block_what}", lang), f"card_{block_what}"),
            card_button(t(f"menu.{active_what}", lang), f"card_{active_what}"),
            card_button(t("menu.delete", lang), "card_delete", "danger"),
            card_button(t("card.button.details", lang), "card_ticket"),
            *paging,
        ],
    }


def card_blocks(card: ContactCard, lang: str, *, seal: Seal) -> list[dict[str, Any]]:
    """The card's blocks (at most 10), so several cards fit in one message."""
    c = card.contact
    cid = c.id
    never = t("never", lang)
    name = f"*{escape(cut(c.name, 150))}*" if c.name else f"_{t('no_name', lang)}_"
    status = t("status.active" if c.active else "status.inactive", lang)
    icon = ":large_green_circle:" if c.active else ":white_circle:"
    blocked = f":no_entry: {t('yes', lang)}" if c.blocked else t("no", lang)
    if c.blocked_messages:
        blocked += "\n" + t(
            "card.blocked_messages", lang, count=c.blocked_messages, when=date_token(c.blocked_last_at, never)
        )
    blocks: list[dict[str, Any]] = [
        {
            "type": "section",
            "block_id": f"card|{cid}|head",
            "text": mrkdwn(f":bust_in_silhouette: {name}   `{display(c.phone)}`"),
        },
        {
            "type": "section",
            "block_id": f"card|{cid}|fields",
            "fields": [
                _field(t("field.phone", lang), f"`{display(c.phone)}`"),
                _field(t("field.messenger", lang), MESSENGER_NAMES.get(c.messenger, escape(c.messenger))),
                _field(t("field.status", lang), f"{icon} {status}"),
                _field(t("field.blocked", lang), blocked),
                _field(t("field.first_contact", lang), date_token(c.first_contact_at, never)),
                _field(t("field.last_chat", lang), date_token(c.last_chat_at, never)),
                _field(t("card.created", lang), date_token(c.created_at, never)),
                _field(t("card.updated", lang), date_token(c.updated_at, never)),
            ],
        },
        {"type": "section", "block_id": f"card|{cid}|consent", "text": mrkdwn(_consent(card, lang))},
    ]
    attrs = card.attributes[:MAX_ATTRIBUTE_FIELDS]
    title = t("card.attributes.title", lang)
    if not attrs:
        blocks.append(
            {
                "type": "context",
                "block_id": f"card|{cid}|attrs",
                "elements": [mrkdwn(f"{title}: {t('card.attributes.none', lang)}")],
            }
        )
    else:
        blocks.append({"type": "section", "block_id": f"card|{cid}|attrs", "text": mrkdwn(title)})
        for start in range(0, len(attrs), 10):
            chunk = attrs[start : start + 10]
            blocks.append(
                {
                    "type": "section",
                    "block_id": f"card|{cid}|attrs{start}",
                    "fields": [_field(_label(attr, lang), escape(cut(value, 300))) for attr, value in chunk],
                }
            )
        if len(card.attributes) > MAX_ATTRIBUTE_FIELDS:
            blocks.append(
                {
                    "type": "context",
                    "block_id": f"card|{cid}|attrs_more",
                    "elements": [
                        mrkdwn(t("card.attributes.more", lang, count=len(card.attributes) - MAX_ATTRIBUTE_FIELDS))
                    ],
                }
            )
    blocks.append({"type": "section", "block_id": f"card|{cid}|ticket", "text": mrkdwn(_ticket(card, lang))})
    if card.history is not None:
        blocks.append(card_section(card.history, lang))
    blocks.append(_buttons(card, lang, seal))
    return blocks


def contact_card(card: ContactCard, lang: str, notice: str | None = None, *, seal: Seal) -> dict[str, Any]:
    """A whole message with one card (`text` is the notification fallback)."""
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append({"type": "context", "elements": [mrkdwn(notice)]})
    blocks.extend(card_blocks(card, lang, seal=seal))
    blocks.append({"type": "divider"})
    return {"blocks": blocks, "text": t("card.fallback", lang, who=contact_label(card.contact, lang))}


def contact_cards(cards: list[ContactCard], lang: str, notice: str | None = None, *, seal: Seal) -> dict[str, Any]:
    """Several cards in one message (the message shortcut), within the 50-block limit."""
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append({"type": "context", "elements": [mrkdwn(notice)]})
    used = text_size(blocks)
    for card in cards:
        more = card_blocks(card, lang, seal=seal) + [{"type": "divider"}]
        size = text_size(more)
        if len(blocks) + len(more) > 50 or (blocks and used + size > MESSAGE_TEXT_BUDGET):
            break  # 3 cards x 20 attributes passed Slack's text limit (msg_blocks_too_long): fewer cards
        blocks.extend(more)
        used += size
    labels = ", ".join(contact_label(c.contact, lang) for c in cards)
    return {"blocks": blocks, "text": t("card.fallback", lang, who=labels)[:3000]}
