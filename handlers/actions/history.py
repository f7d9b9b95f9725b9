"""Paging a contact's history: "Older ▶" / "◀ Newest" on the contact card and in the last-ticket modal.

The card's buttons carry `<contact id>|<cursor>` sealed for the button; the modal's carry the cursor, and
the contact id comes from the modal's sealed metadata. A value that fails its seal changes nothing.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import contact_card, history
from bot.services import contacts as contacts_service
from handlers.blocks.contact_card import contact_card as card_message
from handlers.blocks.history import CARD_ACTION, MODAL_ACTION
from handlers.context import deps, lang, refusal, sealer, stale
from handlers.errors import answers_errors
from handlers.integrity import action_purpose
from handlers.listeners import ack_only
from handlers.screens.contact_modal import ticket_modal
from handlers.views.submission import stale_view

CARD_VALUE = re.compile(r"^(\d{1,18})\|(.*)$")


def _value(body: dict[str, Any], context: BoltContext) -> str | None:
    return sealer(context).unseal(body["actions"][0].get("value"), action_purpose(body))


def on_card_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    if CARD_VALUE.match(_value(body, context) or "") is None:
        stale(context, client, respond)


@answers_errors
def on_card_page(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    match = CARD_VALUE.match(_value(body, context) or "")
    if match is None:
        return  # answered by the ack
    cid, cursor = int(match.group(1)), match.group(2)
    language = lang(context, client)
    if cursor and not history.valid_cursor(cursor):
        stale(context, client, respond)
        return
    try:
        card = contact_card.load(deps(context).engine, cid, cursor or None)
    except contacts_service.NotFound:
        respond(replace_original=True, response_type="ephemeral", text=t("gone", language))
        return
    respond(replace_original=True, response_type="ephemeral", **card_message(card, language, seal=sealer(context).seal))


@answers_errors
def on_modal_page(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    view = body.get("view") or {}
    view_id = view.get("id")
    if view_id is None:
        return
    cursor = _value(body, context)
    try:
        cid = int((sealer(context).metadata(view) or {})["cid"])
    except (KeyError, ValueError, TypeError):
        cid = None
    if cid is None or cursor is None or (cursor and not history.valid_cursor(cursor)):
        client.views_update(view_id=view_id, view=stale_view(language))
        return
    try:
        page = ticket_modal(
            deps(context).engine,
            cid,
            language,
            refusal(context, language) is None,
            sealer(context).seal,
            None,
            cursor or None,
        )
    except contacts_service.NotFound:
        client.views_update(view_id=view_id, view=stale_view(language))
        return
    client.views_update(view_id=view_id, view=sealer(context).view(page))


def register(app: App) -> None:
    for action_id in (CARD_ACTION, CARD_ACTION + "_new"):
        app.action(action_id)(ack=on_card_ack, lazy=[on_card_page])
    for action_id in (MODAL_ACTION, MODAL_ACTION + "_new"):
        app.action(action_id)(ack=ack_only, lazy=[on_modal_page])
