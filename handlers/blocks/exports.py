"""Export messages: where should the file go (DM or this channel), and what it holds."""

from __future__ import annotations

from typing import Any

from bot.i18n import number, t
from handlers.blocks.contact_list import MESSENGER_NAMES
from handlers.blocks.text import button, escape, mrkdwn
from handlers.integrity import MAC_CHARS, Seal
from handlers.list_state import ListState, join

PURPOSE = "export_choice"  # both buttons of the block share the sealed block_id


def choice(state: ListState, lang: str, *, seal: Seal) -> dict[str, Any]:
    """Two buttons; the list's state rides along in the block_id (sealed: what is exported is what was
    shown), so any process can do the export."""
    block_id = seal(join("exp", state)[: 255 - MAC_CHARS - 1], PURPOSE)
    return {
        "text": t("export.where", lang),
        "blocks": [
            {"type": "section", "text": mrkdwn(f"*{t('export.where', lang)}*  ({describe(state, lang)})")},
            {
                "type": "actions",
                "block_id": block_id,
                "elements": [
                    button(t("export.to_dm", lang), "export_dm", "dm", "primary"),
                    button(t("export.to_channel", lang), "export_channel", "channel"),
                ],
            },
        ],
    }


def describe(state: ListState, lang: str) -> str:
    """The filter in words (customer-typed search escaped)."""
    parts = [t("list.status_label", lang, status=t(f"status.{state.status}", lang))]
    if state.messenger:
        parts.append(t("list.messenger_label", lang, messenger=MESSENGER_NAMES.get(state.messenger, state.messenger)))
    if state.search:
        parts.append(t("list.search", lang, query=escape(state.search)))
    return " · ".join(parts)


def done_text(count: int, state: ListState, lang: str) -> str:
    return t("export.done", lang, count=number(count, lang), filter=describe(state, lang))


def notice(text_: str) -> dict[str, Any]:
    return {"text": text_.replace("*", ""), "blocks": [{"type": "section", "text": mrkdwn(text_)}]}
