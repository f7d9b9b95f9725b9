"""The list's "CSV herunterladen" (and "CSV hochladen") buttons: export exactly what the list shows.

The first click asks where the file goes (a DM or this channel); the second exports in a lazy
listener and uploads with files_upload_v2. The list state travels in the block_ids.
"""

from __future__ import annotations

import logging
import os
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.uploads import limit_text
from bot.i18n import t
from bot.services import exports
from handlers.blocks import exports as blocks
from handlers.context import actor, deps, ephemeral, lang, refusal, sealer
from handlers.jobs import long_job
from handlers.list_state import BadState, ListState, split
from handlers.listeners import ack_only

log = logging.getLogger(__name__)


def _state(body: dict[str, Any]) -> ListState:
    return split(body["actions"][0]["block_id"])[1]


def on_export_click(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    try:
        state = _state(body)
    except BadState:
        respond(**ephemeral(t("error.stale", language)))
        return
    respond(
        response_type="ephemeral", replace_original=False, **blocks.choice(state, language, seal=sealer(context).seal)
    )


def on_import_help(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    respond(**ephemeral(import_help(context, language)))


def import_help(context: BoltContext, language: str) -> str:
    return t("import.help", language, limit=limit_text(deps(context).settings.max_upload_bytes))


@long_job("export")
def on_export_target(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    try:
        state = split(sealer(context).unseal(body["actions"][0]["block_id"], blocks.PURPOSE) or "")[1]
    except BadState:  # changed, foreign or too old
        respond(**ephemeral(t("error.stale", language)))
        return
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id")
    to_channel = body["actions"][0]["action_id"] == "export_channel" and channel
    if to_channel and refusal(context, language):  # every name and number, for all in the channel: admins only
        respond(**ephemeral(t("export.channel_admins_only", language)))
        return
    respond(replace_original=True, response_type="ephemeral", **blocks.notice(t("export.started", language)))
    run_export(context, client, state, language, channel if to_channel else None, respond)


def run_export(
    context: BoltContext, client: WebClient, state: ListState, language: str, channel: str | None, respond: Respond
) -> None:
    """Export and upload to `channel`, or to the user's DM when None (or when the channel refuses us)."""
    d = deps(context)
    keys = exports.layout_keys(d.engine, context.team_id, context.user_id, language)
    result = exports.export(
        d.engine,
        state.contact_filter(),
        sort=state.sort,
        desc=state.desc,
        lang=language,
        delimiter=exports.delimiter_for(language, d.settings.csv_delimiter),
        region=d.settings.default_region,
        keys=keys,
        actor=actor(context),
    )
    text_ = blocks.done_text(result.count, state, language)
    try:
        for target in ([channel] if channel else []) + [None]:
            dest = target or client.conversations_open(users=context.user_id)["channel"]["id"]
            try:
                client.files_upload_v2(
                    channel=dest,
                    file=result.path,
                    filename=result.file_name,
                    title=result.file_name,
                    initial_comment=text_,
                )
                break
            except SlackApiError as exc:
                if target is None:
                    raise
                log.info("upload to channel refused (%s); sending as DM", exc.response.get("error"))
                respond(**ephemeral(t("export.channel_failed", language)))
        respond(replace_original=True, response_type="ephemeral", **blocks.notice(text_))
    except SlackApiError as exc:
        log.warning("export upload failed: %s", exc.response.get("error"))
        respond(replace_original=True, response_type="ephemeral", **blocks.notice(t("export.failed", language)))
    finally:
        os.unlink(result.path)


def register(app: App) -> None:
    app.action("list_export")(ack=ack_only, lazy=[on_export_click])
    app.action("list_import_help")(ack=ack_only, lazy=[on_import_help])
    app.action("export_dm")(ack=ack_only, lazy=[on_export_target])
    app.action("export_channel")(ack=ack_only, lazy=[on_export_target])
