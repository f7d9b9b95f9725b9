"""Four-eyes approval in Slack (issue 18): Approve and Reject on the request, the reason modal.

Only admins decide (`refused`), never the requester (the service refuses it with its own text); the
clicked value is sealed `<id>:<fingerprint>`, so a request outdated by a change approves nothing.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.i18n import t
from bot.services.broadcasts import approval, service
from handlers.blocks.approval import APPROVE, REASON_CALLBACK, REJECT, reason_modal
from handlers.clients.approval import update_posts
from handlers.clients.live_report import SlackReporter
from handlers.context import actor, deps, ephemeral, lang, refusal, refused, sealer
from handlers.errors import answers_errors
from handlers.listeners import ack_only
from handlers.views.submission import admin_metadata, dm_note, values


def _decision(value: str) -> tuple[int, str] | None:
    bid, sep, fingerprint = value.partition(":")
    return (int(bid), fingerprint) if sep and bid.isdigit() and fingerprint else None


def _redraw(client: WebClient, context: BoltContext, broadcast_id: int) -> None:
    """The broadcast's own report shows its new status (its buttons too)."""
    d = deps(context)
    SlackReporter(client, d.engine, d.settings)(broadcast_id, True)


@answers_errors
def on_approve(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    if refused(context, language, respond):
        return
    action = body["actions"][0]
    decision = _decision(sealer(context).unseal(action.get("value"), APPROVE) or "")
    if decision is None:
        respond(**ephemeral(t("error.stale", language)))
        return
    d = deps(context)
    try:
        row = approval.approve(d.engine, d.settings, decision[0], actor(context), seen=decision[1])
    except service.BroadcastError as exc:
        respond(**ephemeral(t(exc.code, language, **exc.values)))
        return
    update_posts(client, row, actor(context))
    _redraw(client, context, decision[0])


def on_reject_click(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """The reason modal must open while the trigger is fresh: right after the ack, not in a lazy listener."""
    ack()
    language = lang(context, client)
    if refused(context, language, respond):
        return
    action = body["actions"][0]
    value = sealer(context).unseal(action.get("value"), REJECT) or ""
    if _decision(value) is None:
        respond(**ephemeral(t("error.stale", language)))
        return
    meta = {"ru": body.get("response_url") or ""}
    client.views_open(trigger_id=body["trigger_id"], view=sealer(context).view(reason_modal(value, language, meta)))


def on_reason_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if admin_metadata(ack, body, context, language) is None:
        return
    if not (values(body).get("reason") or "").strip():
        ack(response_action="errors", errors={"reason": t("broadcast.error.reason_required", language)})
        return
    ack()


@answers_errors
def on_reason(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = sealer(context).metadata(body.get("view"))
    if meta is None or refusal(context, language):
        return
    decision = _decision(str(meta.get("v") or ""))
    reason = (values(body).get("reason") or "").strip()
    if decision is None or not reason:
        return
    d = deps(context)
    try:
        row = approval.reject(d.engine, decision[0], actor(context), reason)
    except service.BroadcastError as exc:
        dm_note(context, t(exc.code, language, **exc.values))
        return
    update_posts(client, row, actor(context))
    _redraw(client, context, decision[0])


def register(app: App) -> None:
    app.action(APPROVE)(ack=ack_only, lazy=[on_approve])
    app.action(REJECT)(on_reject_click)
    app.view(REASON_CALLBACK)(ack=on_reason_ack, lazy=[on_reason])
