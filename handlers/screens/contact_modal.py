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
from handlers.blocks.attributes import details_modal
from handlers.blocks.contact_modals import delete_confirmation, last_ticket
from handlers.context import deps, ephemeral, lang, refusal, sealer

MODALS = ("ticket", "details", "delete")


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
            contact, found = contacts_service.last_ticket(engine, cid)
            view = last_ticket(contact, found, language, can_close=is_admin, seal=sealer(context).seal)
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
