"""A CSV shared with the bot: fetch it, dry-run it, and post the preview in the file's thread.

One upload fires `message`/`file_share` and `file_shared`, and Slack retries events. We handle
the message (it carries the thread ts and the file's name), ack `file_shared` without work, and
claim `file:<id>` in `processed_event` so a file is previewed exactly once.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.csv_format import FileProblem
from bot.i18n import t
from bot.services import imports
from handlers.blocks import imports as blocks
from handlers.blocks.text import cut, escape
from handlers.clients.files import SharedFile, download, file_info
from handlers.clients.update_budget import budget_for, update
from handlers.context import actor, deps, lang, refusal, sealer
from handlers.jobs import busy_text, long_job
from handlers.listeners import ack_only

log = logging.getLogger(__name__)
SHOWN_ERRORS = imports.SHOWN_ERRORS
PROGRESS_EVERY_S = 2.0


def _relevant(event: dict[str, Any], shared: dict[str, Any], context: BoltContext) -> bool:
    """DMs: any file (a wrong one gets a reason). Channels: only files that look like CSV."""
    if event.get("bot_id") or event.get("user") in (None, context.bot_user_id):
        return False  # our own export uploads, and other bots
    if event.get("channel_type") == "im":
        return True
    return SharedFile.from_api(shared).looks_like_csv()


def _resolved(shared: dict[str, Any], client: WebClient) -> dict[str, Any]:
    """In Slack Connect channels a shared file can arrive as a stub `{"id": ..., "file_access": "check_file_info"}`
    (https://docs.slack.dev/reference/events/file_shared, https://docs.slack.dev/apis/slack-connect/): its name and
    type come from files.info. Anything else is the file object itself."""
    if shared.get("file_access") != "check_file_info" or not shared.get("id"):
        return shared
    try:
        info = client.files_info(file=str(shared["id"]))["file"]
    except SlackApiError as exc:
        log.info("files.info for a shared stub failed: %s", exc.response.get("error"))
        return shared
    return {**shared, **info}


def _share_targets(event: dict[str, Any], context: BoltContext, client: WebClient) -> list[tuple[str, str, str]]:
    """(file id, thread ts, name) of each file in a `file_share` message that is ours to read."""
    found = []
    for stub in event.get("files") or []:
        shared = _resolved(stub, client)
        if shared.get("id") and _relevant(event, shared, context):
            found.append(
                (str(shared["id"]), str(event.get("thread_ts") or event["ts"]), str(shared.get("name") or "file"))
            )
    return found


def on_file_share_busy(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """The job queue was full: tell the uploader, in the file's thread, that this file was not read."""
    for file_id, thread_ts, name in _share_targets(event, context, client):
        if imports.claim_file(deps(context).engine, file_id):  # once, though both events of the upload get here
            _tell_busy(client, str(event["channel"]), context, thread_ts, name)


@long_job("preview", busy=on_file_share_busy)
def on_file_share(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    for file_id, thread_ts, name in _share_targets(event, context, client):
        if not imports.claim_file(deps(context).engine, file_id):
            log.info("file %s already handled (retry or second event)", file_id)
            continue
        _start_preview(file_id, str(event["channel"]), thread_ts, context, client, name)


def _tell_busy(client: WebClient, channel: str, context: BoltContext, thread_ts: str | None, name: str) -> None:
    load = context["busy_job"][1]
    _tell(client, channel, context, thread_ts, busy_text("preview", lang(context, client), load, file=_shown(name)))


def _start_preview(
    file_id: str,
    channel: str,
    thread_ts: str | None,
    context: BoltContext,
    client: WebClient,
    name: str,
    known: SharedFile | None = None,
) -> None:
    """A preview reads the whole file and stages every row: admins only (they alone may apply it), and one at a
    time per person, so nobody can fill the workers or hold the database. Both upload events come through here."""
    engine = deps(context).engine
    language = lang(context, client)
    if refusal(context, language):
        _tell(client, channel, context, thread_ts, t("import.admins_only", language, file=_shown(name)))
        return
    if not imports.hold_preview_slot(engine, str(context.user_id)):
        _tell(client, channel, context, thread_ts, t("import.busy", language, file=_shown(name)))
        return
    try:
        preview_file(file_id, channel, thread_ts, context, client, name, known=known)
    finally:
        imports.release_preview_slot(engine, str(context.user_id))


def _shown(name: str) -> str:
    return escape(cut(name, 100))


def _tell(client: WebClient, channel: str, context: BoltContext, thread_ts: str | None, text: str) -> None:
    """A line only the uploader sees, in the file's thread."""
    client.chat_postEphemeral(channel=channel, user=str(context.user_id), text=text, thread_ts=thread_ts)


def preview_file(
    file_id: str,
    channel: str,
    thread_ts: str | None,
    context: BoltContext,
    client: WebClient,
    name: str = "file",
    known: SharedFile | None = None,
) -> None:
    """Read the file and show the import preview in its thread. `known`: files.info already asked (file_shared)."""
    d = deps(context)
    language = lang(context, client)
    shared = SharedFile(file_id, name, 0, "", "", "")
    posted = client.chat_postMessage(channel=channel, thread_ts=thread_ts, **blocks.reading(shared.name, language))
    ts = str(posted["ts"])
    last = [0.0]

    def show(message: dict[str, Any]) -> None:
        try:
            client.chat_update(channel=channel, ts=ts, **message)
        except SlackApiError as exc:
            log.warning("chat.update failed: %s", exc.response.get("error"))

    def progress(stage: str, rows: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
            last[0] = time.monotonic()
            message = blocks.progress(shared.name, stage, rows, language)
            update(client, budget_for(d.settings.slack_bot_token or ""), False, channel=channel, ts=ts, **message)

    path = None
    try:
        shared = known or file_info(client, file_id)
        if shared.filetype in ("xlsx", "xls", "ods") or shared.name.lower().endswith((".xlsx", ".xls")):
            raise FileProblem("import.error.spreadsheet")
        if not shared.looks_like_csv() and shared.filetype not in ("", "binary"):
            raise FileProblem("import.error.not_csv", kind=shared.filetype or shared.mimetype)
        path = download(shared, d.settings.slack_bot_token, d.settings.slack_api_url, d.settings.max_upload_bytes)
        result = imports.preview(
            d.engine,
            path,
            shared.name,
            actor=actor(context),
            region=d.settings.default_region,
            file_id=file_id,
            channel_id=channel,
            thread_ts=thread_ts,
            progress=progress,
        )
    except FileProblem as exc:
        show(blocks.file_error(shared.name, t(exc.code, language, **exc.values), language))
        return
    except Exception:
        log.exception("import preview failed for file %s", file_id)
        show(blocks.failed(shared.name, language))
        raise
    finally:
        if path is not None and os.path.exists(path):
            os.unlink(path)
    imports.set_message(d.engine, result.run_id, channel, ts)
    attached = result.counts.rejected > SHOWN_ERRORS
    show(blocks.preview_message(result, language, attached=attached, seal=sealer(context).seal))
    if attached:
        client.files_upload_v2(
            channel=channel,
            thread_ts=thread_ts,
            filename=t("import.rejected_file", language),
            content=imports.rejected_csv(d.engine, result.run_id, language),
            title=t("import.rejected_file", language),
        )


def _message_ts(info: dict[str, Any], channel: str) -> str | None:
    """The ts of the message that shared the file in this channel (files.info `shares`), to answer in its thread."""
    for kind in ("public", "private"):
        for share in ((info.get("shares") or {}).get(kind) or {}).get(channel) or []:
            if share.get("ts"):
                return str(share.get("thread_ts") or share["ts"])
    return None


def _shared_target(
    event: dict[str, Any], context: BoltContext, client: WebClient
) -> tuple[str, str, str | None, SharedFile] | None:
    """(file id, channel, thread ts, file) of a `file_shared` event that is ours to read, else None."""
    file_id, channel = str(event.get("file_id") or ""), str(event.get("channel_id") or "")
    user = event.get("user_id")
    if not file_id or not channel or user in (None, context.bot_user_id):
        return None  # our own export uploads, and files shared by nobody we can answer
    try:
        info = client.files_info(file=file_id)["file"]
    except SlackApiError as exc:
        log.info("files.info for a shared file failed: %s", exc.response.get("error"))
        return None
    shared = SharedFile.from_api(info)
    if not channel.startswith("D") and not shared.looks_like_csv():
        return None  # channels: only files that look like CSV; DMs: any file (a wrong one gets a reason)
    return file_id, channel, _message_ts(info, channel), shared


def on_file_shared_busy(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """The job queue was full: tell the uploader that this file was not read."""
    if (target := _shared_target(event, context, client)) is None:
        return
    file_id, channel, thread_ts, shared = target
    if imports.claim_file(deps(context).engine, file_id):
        _tell_busy(client, channel, context, thread_ts, shared.name)


@long_job("preview", busy=on_file_shared_busy)
def on_file_shared(event: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """`file_shared` drives imports: it needs only `files:read`, where the `message.*` events need history scopes
    that let the bot read every message in its channels (and count against Slack's 30,000 events an hour).
    The event names the file only (`{"id": ...}`), so files.info tells its name, type and where it was shared."""
    if (target := _shared_target(event, context, client)) is None:
        return
    file_id, channel, thread_ts, shared = target
    if not imports.claim_file(deps(context).engine, file_id):
        log.info("file %s already handled (retry or second event)", file_id)
        return
    _start_preview(file_id, channel, thread_ts, context, client, shared.name, known=shared)


def register(app: App) -> None:
    # Both events of one upload are handled; the file id is claimed once, so only the first does the work. A
    # manifest without message.* events (least privilege) sends only `file_shared`.
    app.event({"type": "message", "subtype": "file_share"})(ack=ack_only, lazy=[on_file_share])
    app.event("file_shared")(ack=ack_only, lazy=[on_file_shared])


def register_fallback(app: App) -> None:
    """Ack every other message event (subscribing to message.* delivers all channel chatter).

    Unmatched events get a 404 from Bolt, which Slack retries and counts against the app. Bolt
    runs only the first matching listener, so this goes last (handlers/__init__.py).
    """
    app.event("message")(ack_only)
