"""What every modal submission needs: its metadata, the submitted values, and a way to answer.

Modals carry the interaction's `response_url` (and the list state's block_id) in
`private_metadata`, so the answer lands in the conversation the modal was opened from. The
metadata is sealed (handlers/integrity.py): a modal whose metadata fails the check is answered
"out of date" in the modal itself and nothing is changed.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.i18n import t
from handlers.blocks.app_home import info_modal
from handlers.context import deps, lang, refusal, sealer, viewer
from handlers.list_state import BadState, ListState, split
from handlers.respond import webhook
from handlers.response_urls import is_slack
from handlers.screens.contact_list import render

log = logging.getLogger(__name__)


def metadata(body: dict[str, Any], context: BoltContext) -> dict[str, Any] | None:
    """The modal's metadata as we sealed it for this workspace, or None (changed, foreign or too old)."""
    return sealer(context).metadata(body.get("view"))


def stale_view(language: str) -> dict[str, Any]:
    """What a modal shows when its metadata failed the check: open it again."""
    return info_modal(t("stale.title", language), t("error.stale", language), language)


def sealed_metadata(ack: Ack, body: dict[str, Any], context: BoltContext, language: str) -> dict[str, Any] | None:
    """The modal's metadata as we sealed it; otherwise the modal says it is out of date, and None."""
    meta = metadata(body, context)
    if meta is None:
        ack(response_action="update", view=stale_view(language))
    return meta


def admin_metadata(ack: Ack, body: dict[str, Any], context: BoltContext, language: str) -> dict[str, Any] | None:
    """Sealed metadata of a modal an admin submitted; otherwise answered here (stale or refused), and None.

    The admin list is checked again on submit: the modal may be older than a change to it.
    """
    if (meta := sealed_metadata(ack, body, context, language)) is None:
        return None
    if why := refusal(context, language):
        ack()
        tell(meta, context, why)
        return None
    return meta


def ack_sealed(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> bool:
    """Ack a submission whose work runs later: True when its metadata is ours, else say so in the modal."""
    if metadata(body, context) is None:
        ack(response_action="update", view=stale_view(lang(context, client)))
        return False
    ack()
    return True


def values(body: dict[str, Any]) -> dict[str, Any]:
    """block_id -> submitted value: text, a selected option's value, a list for multi-selects, the file ids of a
    file_input (https://docs.slack.dev/reference/block-kit/block-elements/file-input-element: `files`)."""
    found: dict[str, Any] = {}
    for block_id, actions in body["view"]["state"]["values"].items():
        for state in actions.values():
            if state.get("type") in ("checkboxes", "multi_static_select"):
                found[block_id] = [o["value"] for o in state.get("selected_options") or []]
            elif state.get("type") == "file_input":
                found[block_id] = [str(f.get("id")) for f in state.get("files") or [] if f.get("id")]
            elif "selected_option" in state:
                found[block_id] = (state.get("selected_option") or {}).get("value")
            else:
                found[block_id] = state.get("value")
    return found


def reply_url(meta: dict[str, Any]) -> str | None:
    url = meta.get("url")
    return url if is_slack(url) else None


def tell(meta: dict[str, Any], context: BoltContext, text: str) -> None:
    """A new ephemeral line in the conversation the modal came from; the user's DM when there is no response_url,
    or it is spent (a response_url takes 5 posts within 30 minutes, and a modal may stay open longer)."""
    if (url := reply_url(meta)) and webhook(url).send(
        text=text, response_type="ephemeral", replace_original=False
    ).status_code == 200:
        return
    dm_note(context, text)


def dm_note(context: BoltContext, text: str) -> None:
    client, user = context.client, context.user_id
    if client is None or not user or not text:
        return
    try:
        client.chat_postMessage(channel=client.conversations_open(users=user)["channel"]["id"], text=text)
    except SlackApiError as exc:
        log.warning("note to the user's DM failed: %s", exc.response.get("error"))


def refresh_list(
    meta: dict[str, Any], context: BoltContext, language: str, notice: str, state: ListState | None = None
) -> None:
    """Redraw the list message the modal was opened from (its state is in `meta["blk"]`)."""
    url = reply_url(meta)
    if url is None:
        return
    if state is None:
        try:
            state = split(str(meta.get("blk", "")))[1]
        except BadState:
            state = ListState()
    payload = render(deps(context), state, language, viewer=viewer(context), notice=notice)
    if webhook(url).send(replace_original=True, response_type="ephemeral", **payload).status_code != 200:
        dm_note(context, notice)  # the list's response_url expired (30 minutes) or is used up: say it by DM
