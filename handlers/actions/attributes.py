"""Clicks that open attribute, contact details and table settings modals."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services import attributes
from bot.services.table_settings import layout
from handlers.blocks.attributes import attribute_delete_modal, attribute_modal, table_settings_modal
from handlers.clients.modals import open_then_fill
from handlers.context import admin_lang, deps, ephemeral, lang, refusal, refused, sealed_choice, sealer, stale

MENU_VALUE = re.compile(r"^(edit|delete):(\d{1,18})$")


def on_add(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    if (language := admin_lang(context, client, respond)) is None:
        return
    view = attribute_modal(None, language, {"url": body.get("response_url")})
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))


def on_menu(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    ack()
    match = sealed_choice(body, context, MENU_VALUE)
    if match is None:  # changed, foreign or too old
        stale(context, client, respond)
        return
    language = lang(context, client)
    if refused(context, language, respond):
        return
    what, attribute_id = match.group(1), int(match.group(2))
    attribute, holders = attributes.with_holders(deps(context).engine, attribute_id)
    if attribute is None:
        respond(**ephemeral(t("attr.gone", language)))
        return
    meta = {"id": attribute_id, "url": body.get("response_url")}
    view = (
        attribute_modal(attribute, language, meta)
        if what == "edit"
        else attribute_delete_modal(attribute, holders, language, meta)
    )
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(view))


def on_table_settings(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    language = lang(context, client)

    def build() -> dict[str, Any]:
        table = layout(deps(context).engine, context.team_id or "", context.user_id or "", language)
        is_admin = refusal(context, language) is None
        meta = {"url": body.get("response_url"), "blk": body["actions"][0].get("block_id", "")}
        return sealer(context).view(table_settings_modal(table, is_admin, language, meta))

    open_then_fill(client, body["trigger_id"], t("table.title", language), language, build)


def register(app: App) -> None:
    app.action("attribute_add")(on_add)
    app.action("attribute_menu")(on_menu)
    app.action("list_table_settings")(on_table_settings)
