"""A contact's history in Block Kit: on the contact card (one section) and in the last-ticket modal (a block
per event), newest first, with "older"/"newest" buttons whose value is the sealed keyset cursor."""

from __future__ import annotations

from typing import Any

from bot.i18n import t
from bot.services.broadcasts.chart import reason_label
from bot.services.history import HistoryPage
from handlers.blocks.contact_modals import message_body
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn
from handlers.integrity import Seal
from storage.history import Event

CARD_ACTION = "card_history"  # value: "<contact id>|<cursor>" (empty cursor: the newest page)
MODAL_ACTION = "ticket_history"  # value: "<cursor>"; the contact id is in the modal's sealed metadata
STATES = ("unknown", "held", "paused")  # a template's state without a timeline step of its own


def event_text(e: Event, lang: str, body_limit: int = 300) -> str:
    """Head (what, when), the text, the status timeline with each step's time, and why it failed.

    Each part is cut on its own (never the whole: a cut through a `<!date^…>` token would show it raw), so an
    event stays under about 600 + `body_limit` characters."""
    if e.kind == "template":
        head = t(
            "history.template",
            lang,
            template=escape(cut(e.template or "", 80)),
            lang=escape(cut(e.language or "", 15)),
            id=e.broadcast_id,
        )
        body = escape(cut(e.text, body_limit)) if e.text else ""
    else:
        head = t(f"history.{e.direction}", lang)
        body = message_body(e.kind, cut(e.text, body_limit) if e.text else None, lang)
    lines = [f"{head} · {date_token(e.at)}"]
    if body:
        lines.append("> " + body.replace("\n", "\n> "))
    steps = [f"{t(f'history.step.{name}', lang)} {date_token(when)}" for name, when in e.timeline()]
    if e.status in STATES:
        steps.append(t(f"history.state.{e.status}", lang))
    if steps:
        lines.append(" → ".join(steps))
    if e.error_code is not None or (e.status == "failed" and e.error_title):
        reason = reason_label(e.error_code, e.error_title or "", lang)
        lines.append(t("history.reason", lang, reason=escape(cut(reason, 120))))
    return "\n".join(lines)


def card_section(page: HistoryPage, lang: str) -> dict[str, Any]:
    """The card's history: one section (a card stays a handful of blocks, so several fit in one message);
    `history.CARD_PAGE` events of at most ~750 characters each stay within the section's 3,000."""
    cid = page.contact.id
    title = t("history.page" if page.cursor else "history.title", lang)
    if not page.events:
        return {
            "type": "section",
            "block_id": f"card|{cid}|history",
            "text": mrkdwn(f"{title}\n{t('history.none', lang)}"),
        }
    parts = [event_text(e, lang, 150) for e in page.events]
    return {"type": "section", "block_id": f"card|{cid}|history", "text": mrkdwn(title + "\n" + "\n\n".join(parts))}


def card_buttons(page: HistoryPage, lang: str, seal: Seal) -> list[dict[str, Any]]:
    """Paging buttons for the card's actions block."""
    cid = page.contact.id
    out = []
    if page.cursor:
        out.append(button(t("history.newest", lang), CARD_ACTION + "_new", seal(f"{cid}|", CARD_ACTION + "_new")))
    if page.next_cursor:
        out.append(button(t("history.older", lang), CARD_ACTION, seal(f"{cid}|{page.next_cursor}", CARD_ACTION)))
    return out


def modal_blocks(page: HistoryPage, lang: str, seal: Seal) -> list[dict[str, Any]]:
    """The modal's history: a title, one context block per event, and paging buttons."""
    title = t("history.page" if page.cursor else "history.title", lang)
    blocks: list[dict[str, Any]] = [{"type": "divider"}, {"type": "section", "text": mrkdwn(title)}]
    if not page.events:
        blocks.append({"type": "context", "elements": [mrkdwn(t("history.none", lang))]})
    for e in page.events:
        blocks.append({"type": "context", "elements": [mrkdwn(event_text(e, lang, 500))]})
    buttons = []
    if page.cursor:
        buttons.append(button(t("history.newest", lang), MODAL_ACTION + "_new", seal("", MODAL_ACTION + "_new")))
    if page.next_cursor:
        buttons.append(button(t("history.older", lang), MODAL_ACTION, seal(page.next_cursor, MODAL_ACTION)))
    if buttons:
        blocks.append({"type": "actions", "block_id": "history_nav", "elements": buttons})
    return blocks
