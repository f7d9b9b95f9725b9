"""The delete confirmation modal's submit: erase the contact, then refresh the list it came from."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import contacts as service
from bot.i18n import t
from handlers.blocks.contact_modals import DELETE_CALLBACK
from handlers.contact_list_view import render
from handlers.context import actor, deps, lang, refusal, viewer
from handlers.list_state import BadState, ListState, split

log = logging.getLogger(__name__)


def _ack(ack: Ack) -> None:
    ack()


def on_submit(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    try:
        meta = json.loads(body["view"]["private_metadata"])
        cid = int(meta["cid"])
    except (KeyError, ValueError, TypeError):
        log.warning("delete confirmation with unreadable metadata")
        return
    url = meta.get("url")
    why = refusal(context, language)
    if why is None:
        try:
            service.erase(deps(context).engine, cid, actor(context))
            notice = ":wastebasket: " + t("done.delete", language)
        except service.NotFound:
            notice = t("gone", language)
    else:
        notice = why
    if not url or not isinstance(url, str) or not url.startswith(("https://", "http://")):
        return
    try:
        state = split(str(meta.get("blk", "")))[1]
    except BadState:
        state = ListState()
    payload = render(deps(context), state, language, viewer=viewer(context), notice=notice)
    WebhookClient(url).send(replace_original=True, response_type="ephemeral", **payload)


def register(app: App) -> None:
    app.view(DELETE_CALLBACK)(ack=_ack, lazy=[on_submit])
