"""Broadcast clicks and words: "Sende Benachrichtigung" on the list, `/contacts notify|broadcasts`,
and the report's buttons (pause, resume, cancel, retry failed, CSV). Changes are for admins only."""

from __future__ import annotations

import os
import tempfile
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import number, t
from bot.services.broadcasts import service
from bot.services.broadcasts.delivery_report import write_csv
from handlers.blocks.broadcasts import ACTIONS, broadcast_list, report_message
from handlers.commands.contacts import subcommand
from handlers.context import actor, deps, ephemeral, lang, refused, sealer
from handlers.errors import answers_errors
from handlers.integrity import action_purpose
from handlers.jobs import long_job
from handlers.listeners import ack_only
from handlers.views.broadcast_composer import open_composer

LIST_LIMIT = 11  # one more than shown, to know whether to say "only the latest"


def on_list_notify(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """The list's button: the modal must open while the trigger_id is fresh, so right after the ack."""
    ack()
    language = lang(context, client)
    if refused(context, language, respond):
        return
    action = body["actions"][0]
    meta = {
        "ch": (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id"),
        "blk": action.get("block_id", "")[:255],
    }
    open_composer(client, body["trigger_id"], deps(context), language, meta, sealer(context))


@subcommand("notify", "benachrichtigen", in_ack=True)
def notify_command(
    command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond, lang: str, **_: Any
) -> None:
    if refused(context, lang, respond):
        return
    open_composer(
        client, command["trigger_id"], deps(context), lang, {"ch": command.get("channel_id")}, sealer(context)
    )


@subcommand("broadcasts", "benachrichtigungen")
def broadcasts_command(respond: Respond, context: BoltContext, lang: str, **_: Any) -> None:
    respond(
        response_type="ephemeral",
        **broadcast_list(service.recent(deps(context).engine, LIST_LIMIT), lang, seal=sealer(context).seal),
    )


def _csv(client: WebClient, context: BoltContext, body: dict[str, Any], broadcast_id: int, language: str) -> None:
    """The recipients' numbers go to the requester's DM only: the report may sit in a channel others read."""
    channel = client.conversations_open(users=context.user_id)["channel"]["id"]
    fd, path = tempfile.mkstemp(suffix=".csv")
    try:
        with os.fdopen(fd, "w", encoding="utf-8-sig", newline="") as out:
            write_csv(deps(context).engine, broadcast_id, out, language)
        client.files_upload_v2(
            channel=channel,
            file=path,
            filename=f"broadcast-{broadcast_id}.csv",
            title=t("broadcast.report.csv", language),
        )
    finally:
        os.unlink(path)


@answers_errors
def on_button(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    action = body["actions"][0]
    language = lang(context, client)
    if refused(context, language, respond):
        return
    value = sealer(context).unseal(action.get("value"), action_purpose(body)) or ""
    if not value.isdigit():  # changed, foreign or too old
        respond(**ephemeral(t("error.stale", language)))
        return
    broadcast_id = int(value)
    what = action["action_id"].removeprefix("bc_")
    engine = deps(context).engine
    try:
        if what in service.TRANSITIONS:
            service.change(engine, broadcast_id, what, actor(context))
        elif what == "retry":
            n = service.retry_failed(engine, broadcast_id, actor(context))
            respond(**ephemeral(t("broadcast.done.requeued", language, n=number(n, language))))
        elif what == "csv":
            _csv(client, context, body, broadcast_id, language)
            return
    except service.BroadcastError as exc:
        respond(**ephemeral(t(exc.code, language, **exc.values)))
    if action.get("block_id", "").startswith("bcla|"):  # clicked in `/contacts broadcasts`
        respond(
            replace_original=True,
            response_type="ephemeral",
            **broadcast_list(service.recent(engine, LIST_LIMIT), language, seal=sealer(context).seal),
        )
    else:
        report = service.report(engine, broadcast_id)
        respond(
            replace_original=True, **report_message(report, report.broadcast.report_lang, seal=sealer(context).seal)
        )


@long_job("report")
def on_csv_button(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """The report's CSV: a long job (it reads every recipient), so it runs on the job pool."""
    on_button(body=body, context=context, client=client, respond=respond)


def register(app: App) -> None:
    app.action("list_notify")(on_list_notify)
    for action_id in ACTIONS:
        app.action(action_id)(ack=ack_only, lazy=[on_csv_button if action_id == "bc_csv" else on_button])
