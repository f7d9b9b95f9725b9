"""Target group clicks: save the list's filter as a group, the groups message's menu, new group."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import attributes as attribute_service
from bot.services import audiences as audiences_service
from handlers.blocks.audiences import MESSENGER_NAMES, delete_modal, new_modal, rename_modal, save_modal
from handlers.context import admin_lang, deps, ephemeral, lang, refused, sealed_choice, sealer, stale, viewer
from handlers.list_state import BadState, ListState, split
from handlers.screens.contact_list import render

MENU_VALUE = re.compile(r"^(show|rename|delete):(\d{1,18})$")


def describe(state: ListState, lang: str) -> str:
    """The list filter in words, as the save dialog shows it."""
    parts = [t("list.status_label", lang, status=t(f"status.{state.status}", lang))]
    if state.messenger:
        parts.append(t("list.messenger_label", lang, messenger=MESSENGER_NAMES.get(state.messenger, state.messenger)))
    return ", ".join(parts)


def on_save_from_list(
    ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond
) -> None:
    ack()
    if (language := admin_lang(context, client, respond)) is None:
        return
    try:
        state = split(body["actions"][0]["block_id"])[1]
    except BadState:
        respond(**ephemeral(t("error.stale", language)))
        return
    meta = {"blk": body["actions"][0]["block_id"], "url": body.get("response_url")}
    view = save_modal(describe(state, language), language, meta)
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))


def on_menu(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    match = sealed_choice(body, context, MENU_VALUE)
    if match is None:  # changed, foreign or too old
        stale(context, client, respond)
        return
    language = lang(context, client)
    what, audience_id = match.group(1), int(match.group(2))
    info = audiences_service.find(deps(context).engine, str(audience_id))
    if info is None:
        respond(**ephemeral(t("audience.gone", language)))
        return
    if what == "show":
        state = ListState(status="all", audience_id=audience_id)
        respond(
            response_type="ephemeral",
            replace_original=False,
            **render(deps(context), state, language, viewer=viewer(context)),
        )
        return
    if refused(context, language, respond):
        return
    meta = {"id": audience_id, "url": body.get("response_url")}
    view = rename_modal(info, language, meta) if what == "rename" else delete_modal(info, language, meta)
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))


def on_new(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    if (language := admin_lang(context, client, respond)) is None:
        return
    attributes = attribute_service.definitions(deps(context).engine)
    view = new_modal(attributes, language, {"url": body.get("response_url")})
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))


def register(app: App) -> None:
    app.action("list_save_audience")(on_save_from_list)
    app.action("audience_menu")(on_menu)
    app.action("audience_new")(on_new)
