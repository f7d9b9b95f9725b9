"""The "close ticket" button in the last-ticket modal: admins only, checked here on the server.

The button's ticket id and the modal's contact id are sealed (handlers/integrity.py); a click whose
values fail the check closes nothing and the modal says it is out of date.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import contacts as contact_service
from bot.services import tickets as tickets_service
from handlers.blocks.contact_modals import CLOSE_TICKET_ACTION
from handlers.context import actor, deps, lang, refusal, sealer
from handlers.listeners import ack_only
from handlers.screens.contact_modal import ticket_modal
from handlers.views.submission import stale_view

log = logging.getLogger(__name__)


def _contact_id(body: dict[str, Any], context: BoltContext) -> int | None:
    try:
        return int((sealer(context).metadata(body.get("view")) or {})["cid"])
    except (KeyError, ValueError, TypeError):
        return None


def on_close(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    engine = deps(context).engine
    view_id = body.get("view", {}).get("id")
    cid = _contact_id(body, context)
    ticket_value = sealer(context).unseal(body["actions"][0].get("value"), CLOSE_TICKET_ACTION)
    if cid is None or ticket_value is None or not ticket_value.isdigit():
        if view_id is not None:  # changed, foreign or too old: close nothing, say so in the modal
            client.views_update(view_id=view_id, view=stale_view(language))
        return
    why = refusal(context, language)
    notice = why
    if why is None:
        try:
            ticket_id = int(ticket_value)
            ticket, changed = tickets_service.close(engine, ticket_id, actor(context))
        except (ValueError, tickets_service.TicketNotFound):
            notice = t("inbound.ticket.gone", language)
        else:
            cid = ticket.contact_id
            notice = ":white_check_mark: " + t(
                "inbound.ticket.closed" if changed else "inbound.ticket.already_closed", language, id=ticket.id
            )
    if view_id is None or cid is None:
        log.warning("ticket close click without a view to update")
        return
    try:
        view = ticket_modal(engine, cid, language, why is None, sealer(context).seal, notice)
    except contact_service.NotFound:
        return
    client.views_update(view_id=view_id, view=sealer(context).view(view))


def register(app: App) -> None:
    app.action(CLOSE_TICKET_ACTION)(ack=ack_only, lazy=[on_close])
