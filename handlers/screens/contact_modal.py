"""Open a modal about one contact (last ticket, details, delete confirmation).

Shared by the list's overflow menu and the contact card's buttons, so both open the same modals
with the same checks. Runs in the ack listener: a trigger_id lives only 3 seconds.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import contacts as contacts_service
from bot.services import history
from handlers.blocks.attributes import details_modal
from handlers.blocks.contact_modals import delete_confirmation, last_ticket
from handlers.blocks.history import modal_blocks
from handlers.context import deps, ephemeral, lang, refusal, sealer
from handlers.integrity import Seal
from storage.db import Engine

MODALS = ("ticket", "details", "delete")


def ticket_modal(
    engine: Engine,
    cid: int,
    language: str,
    can_close: bool,
    seal: Seal,
    notice: str | None = None,
    cursor: str | None = None,
) -> dict[str, Any]:
    """The last-ticket modal with a page of the contact's history (`cursor`: older pages); raises NotFound."""
    contact, found = contacts_service.last_ticket(engine, cid)
    timeline = modal_blocks(history.page(engine, cid, cursor), language, seal)
    return last_ticket(contact, found, language, can_close=can_close, notice=notice, seal=seal, history=timeline)


def open_contact_modal(
    what: str, cid: int, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    language = lang(context, client)
    is_admin = refusal(context, language) is None
    if what == "delete" and not is_admin:
        respond(**ephemeral(refusal(context, language) or ""))
        return
    engine = deps(context).engine
    try:
        if what == "ticket":
            view = ticket_modal(engine, cid, language, is_admin, sealer(context).seal)
        elif what == "details":
            contact, attributes, values = contacts_service.details(engine, cid)
            view = details_modal(
                contact, attributes, values, is_admin, language, {"cid": cid, "url": body.get("response_url")}
            )
        else:
            contact = contacts_service.contact_or_raise(engine, cid)
            metadata = {"cid": cid, "url": body.get("response_url"), "blk": body["actions"][0]["block_id"]}
            view = delete_confirmation(contact, language, metadata)
    except contacts_service.NotFound:
        respond(**ephemeral(t("gone", language)))
        return
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))
