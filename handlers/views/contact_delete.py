"""The delete confirmation modal's submit: erase the contact, then refresh the list it came from."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import contacts as contacts_service
from handlers.blocks.contact_modals import DELETE_CALLBACK
from handlers.context import actor, deps, lang, refusal
from handlers.errors import answers_errors
from handlers.views.submission import ack_sealed, metadata, refresh_list

log = logging.getLogger(__name__)


@answers_errors
def on_submit(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = metadata(body, context)
    if meta is None:
        return  # the ack said "out of date" in the modal
    try:
        cid = int(meta["cid"])
    except (KeyError, ValueError, TypeError):
        log.warning("delete confirmation with unreadable metadata")
        return
    why = refusal(context, language)
    if why is None:
        try:
            contacts_service.erase(deps(context).engine, cid, actor(context))
            notice = ":wastebasket: " + t("done.delete", language)
        except contacts_service.NotFound:
            notice = t("gone", language)
    else:
        notice = why
    refresh_list(meta, context, language, notice)


def register(app: App) -> None:
    app.view(DELETE_CALLBACK)(ack=ack_sealed, lazy=[on_submit])
