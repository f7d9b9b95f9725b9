"""Clicks on the list: sort, filter, page, refresh, and the per-contact overflow menu."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.domain.contacts import MESSENGERS, SORT_FIELDS
from bot.i18n import t
from bot.services import contacts as contacts_service
from handlers.blocks.contact_list import MENU, contact_label, menu_subject
from handlers.context import actor, deps, ephemeral, lang, refused, sealer, stale, viewer
from handlers.errors import answers_errors
from handlers.list_state import BadState, ListState, split
from handlers.listeners import ack_only
from handlers.screens.contact_list import render
from handlers.screens.contact_modal import MODALS, open_contact_modal

log = logging.getLogger(__name__)
DESC_BY_DEFAULT = {"first_contact", "last_chat"}
MENU_VALUE = re.compile(r"^(ticket|details|block|unblock|activate|deactivate|delete):(\d{1,18})$")


def _state(body: dict[str, Any]) -> ListState:
    return split(body["actions"][0]["block_id"])[1]


def _update(respond: Respond, payload: dict[str, Any]) -> None:
    respond(replace_original=True, response_type="ephemeral", **payload)


@answers_errors
def on_list_click(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    action = body["actions"][0]
    language = lang(context, client)
    try:
        state = _state(body)
    except BadState:
        respond(**ephemeral(t("error.stale", language)))
        return
    action_id: str = action["action_id"]
    after = before = None
    if action_id.startswith("list_sort_"):
        sort = action_id.removeprefix("list_sort_")
        desc = (not state.desc) if sort == state.sort else sort in DESC_BY_DEFAULT
        if sort not in SORT_FIELDS:
            respond(**ephemeral(t("error.stale", language)))
            return
        state = state.first_page(sort=sort, desc=desc)
    elif action_id == "list_status":
        value = action["selected_option"]["value"]
        if value not in ("active", "inactive", "blocked", "all"):
            respond(**ephemeral(t("error.stale", language)))
            return
        state = state.first_page(status=value)
    elif action_id == "list_messenger":
        value = action["selected_option"]["value"]
        if value != "any" and value not in MESSENGERS:
            respond(**ephemeral(t("error.stale", language)))
            return
        state = state.first_page(messenger=None if value == "any" else value)
    elif action_id == "list_audience":
        value = action["selected_option"]["value"]
        if value != "none" and not value.isdigit():
            respond(**ephemeral(t("error.stale", language)))
            return
        state = state.first_page(audience_id=None if value == "none" else int(value))
    elif action_id == "list_clear":
        state = ListState(sort=state.sort, desc=state.desc)
    elif action_id in ("list_next", "list_prev"):
        anchor = int(action.get("value") or 0)
        after, before = (anchor, None) if action_id == "list_next" else (None, anchor)
    _update(respond, render(deps(context), state, language, viewer=viewer(context), after=after, before=before))


def _menu_subject(value: str) -> str | None:
    match = MENU_VALUE.match(value)
    return menu_subject(match.group(2)) if match else None


def _menu_choice(body: dict[str, Any], context: BoltContext) -> tuple[str, int] | None:
    """(what, contact id) when the value is sealed for this workspace and names the row's own contact."""
    action = body["actions"][0]
    value = sealer(context).unseal_for((action.get("selected_option") or {}).get("value"), MENU, _menu_subject)
    match = MENU_VALUE.match(value or "")
    if match is None:
        return None
    what, cid = match.group(1), int(match.group(2))
    kind = str(action.get("block_id", "")).partition("|")[0]
    if kind.startswith("row") and kind != f"row{cid}":
        return None
    return what, cid


def on_menu_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """Ticket and delete open a modal, which must happen while the trigger_id is fresh (3 s)."""
    ack()
    choice = _menu_choice(body, context)
    if choice is None:  # changed, foreign or too old: refused here, the lazy listener does nothing
        stale(context, client, respond)
        return
    what, cid = choice
    if what in MODALS:
        open_contact_modal(what, cid, body, context, client, respond)


@answers_errors
def on_menu_change(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    choice = _menu_choice(body, context)
    if choice is None or choice[0] not in contacts_service.CHANGES:
        return  # a failed check was answered by on_menu_ack
    what, cid = choice
    language = lang(context, client)
    if refused(context, language, respond):
        return
    try:
        state = _state(body)
    except BadState:
        state = ListState()
    try:
        contact = contacts_service.change(deps(context).engine, cid, what, actor(context))
    except contacts_service.NotFound:
        notice = t("gone", language)
    else:
        notice = ":white_check_mark: " + t(f"done.{what}", language, who=contact_label(contact, language))
    _update(respond, render(deps(context), state, language, viewer=viewer(context), notice=notice))


def register(app: App) -> None:
    app.action(re.compile(r"^list_(sort_\w+|status|messenger|audience|clear|refresh|next|prev)$"))(
        ack=ack_only, lazy=[on_list_click]
    )
    app.action("contact_menu")(ack=on_menu_ack, lazy=[on_menu_change])
