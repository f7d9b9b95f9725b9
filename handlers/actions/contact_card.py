"""Buttons on a contact card: block/unblock, activate/deactivate, delete, ticket details.

Changes re-render the card in place with a notice. Delete and ticket details reuse the list's
modals (`handlers.blocks.contact_modals`); the delete modal's submit (`handlers.views.contact_delete`)
then replaces the card with the list and its "deleted" notice.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import contact_card
from bot.services import contacts as contacts_service
from handlers.blocks.contact_card import contact_card as card_message
from handlers.blocks.contact_list import contact_label
from handlers.context import actor, deps, lang, refused, sealer, stale
from handlers.errors import answers_errors
from handlers.integrity import action_purpose
from handlers.screens.contact_modal import MODALS, open_contact_modal

ACTION = re.compile(r"^card_(block|unblock|activate|deactivate|delete|ticket)$")
CONTACT_ID = re.compile(r"^\d{1,18}$")


def _parse(body: dict[str, Any], context: BoltContext) -> tuple[str, int] | None:
    """(what, contact id) when the button's value is sealed for this workspace and names the card's contact."""
    action = body["actions"][0]
    match = ACTION.match(action.get("action_id", ""))
    value = sealer(context).unseal(action.get("value"), action_purpose(body)) or ""
    if match is None or not CONTACT_ID.match(value):
        return None
    block = str(action.get("block_id", ""))
    if block.startswith("card|") and block.split("|")[1] != value:
        return None
    return match.group(1), int(value)


def on_card_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """Modals open here, while the trigger_id is fresh (3 s); changes run in the lazy listener."""
    ack()
    parsed = _parse(body, context)
    if parsed is None:  # changed, foreign or too old: refused here, the lazy listener does nothing
        stale(context, client, respond)
        return
    what, cid = parsed
    if what in MODALS:
        open_contact_modal(what, cid, body, context, client, respond)


@answers_errors
def on_card_change(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    parsed = _parse(body, context)
    if parsed is None or parsed[0] not in contacts_service.CHANGES:
        return  # a failed check was answered by on_card_ack
    what, cid = parsed
    language = lang(context, client)
    if refused(context, language, respond):
        return
    engine = deps(context).engine
    try:
        contact = contacts_service.change(engine, cid, what, actor(context))
        card = contact_card.load(engine, cid)
    except contacts_service.NotFound:
        respond(replace_original=True, response_type="ephemeral", text=t("gone", language))
        return
    notice = ":white_check_mark: " + t(f"done.{what}", language, who=contact_label(contact, language))
    respond(
        replace_original=True,
        response_type="ephemeral",
        **card_message(card, language, notice, seal=sealer(context).seal),
    )


def register(app: App) -> None:
    app.action(ACTION)(ack=on_card_ack, lazy=[on_card_change])
