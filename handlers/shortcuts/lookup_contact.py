"""Message shortcut "Look up contact" (callback_id `lookup_contact`): the cards of the numbers in a message.

The answer is ephemeral, in the message's channel, through the shortcut's response_url.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.phone import display
from bot.i18n import t
from bot.services import contact_card
from handlers.blocks.contact_card import contact_cards
from handlers.context import deps, ephemeral, lang, sealer
from handlers.errors import answers_errors
from handlers.listeners import ack_only

CALLBACK_ID = "lookup_contact"
MAX_CARDS = 3


@answers_errors
def on_lookup(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    d = deps(context)
    text = str((body.get("message") or {}).get("text") or "")
    numbers = contact_card.numbers_in(text, d.settings.default_region)
    if not numbers:
        respond(**ephemeral(t("card.lookup.no_number", language)))
        return
    ids, missing = contact_card.by_numbers(d.engine, numbers)
    notes = []
    if missing:
        notes.append(t("card.lookup.not_found", language, numbers=", ".join(display(n) for n in missing)))
    if len(ids) > MAX_CARDS:
        notes.append(t("card.lookup.more", language, count=MAX_CARDS))
    cards = []
    for cid in ids[:MAX_CARDS]:
        try:
            cards.append(contact_card.load(d.engine, cid))
        except contact_card.NotFound:
            continue
    if not cards:
        respond(**ephemeral(" ".join(notes) or t("gone", language)))
        return
    respond(
        response_type="ephemeral",
        replace_original=False,
        **contact_cards(cards, language, " ".join(notes) or None, seal=sealer(context).seal),
    )


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(ack=ack_only, lazy=[on_lookup])
