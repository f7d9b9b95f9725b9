"""Posting approval requests (issue 18): to the audit channel, or else to every other admin by DM.

Used by the composer and by the CLI (which has no Bolt app: a plain WebClient). The posts are stored
on the broadcast, so whoever decides (in Slack or on the command line) can update them all.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings
from bot.i18n import t
from bot.services.broadcasts import approval
from handlers.blocks.approval import decided_message, request_message
from handlers.blocks.people import who
from handlers.clients.web_api import web_client
from handlers.integrity import Seal, Sealer
from storage.db import Engine
from storage.models import Broadcast

log = logging.getLogger(__name__)


def approvers(settings: Settings, requester: str) -> list[str]:
    """Admins who may approve: every admin but the requester."""
    return sorted(a for a in settings.admins if f"slack:{a}" != requester)


def post_request(client: WebClient, engine: Engine, settings: Settings, broadcast_id: int, seal: Seal) -> str:
    """Post the request; returns where it went (mrkdwn for the requester's note), "" when nowhere."""
    req = approval.request(engine, settings, broadcast_id)
    lang = req.broadcast.report_lang
    payload = request_message(req, lang, settings.approval_hours, seal=seal)
    posts: list[list[str]] = []
    where = ""
    if settings.audit_channel:
        try:
            answer = client.chat_postMessage(channel=settings.audit_channel, **payload)
            posts.append([str(answer["channel"]), str(answer["ts"])])
            where = f"<#{settings.audit_channel}>"
        except SlackApiError as exc:  # not in the channel: fall back to the admins' DMs
            log.warning("approval request: audit channel refused (%s)", exc.response.get("error"))
    if not posts:
        for admin in approvers(settings, req.broadcast.created_by):
            try:
                dm = client.conversations_open(users=admin)["channel"]["id"]
                answer = client.chat_postMessage(channel=dm, **payload)
                posts.append([str(answer["channel"]), str(answer["ts"])])
            except SlackApiError as exc:
                log.warning("approval request: DM to an admin refused (%s)", exc.response.get("error"))
        where = ", ".join(who(f"slack:{a}") for a in approvers(settings, req.broadcast.created_by)) if posts else ""
    approval.set_posts(engine, broadcast_id, posts)
    return where


def note(where: str, broadcast_id: int, lang: str) -> str:
    """What the requester is told."""
    if where:
        return t("broadcast.approval.sent_to", lang, where=where)
    return t("broadcast.approval.nobody", lang, id=broadcast_id)


def update_posts(client: WebClient, row: Broadcast, decider: str | None, outdated: bool = False) -> None:
    """Every copy of the request shows the decision (or that a change outdated it); the buttons go."""
    payload = decided_message(row, row.report_lang, decider, outdated)
    for channel, ts in row.approval_posts or []:
        try:
            client.chat_update(channel=channel, ts=ts, **payload)
        except SlackApiError as exc:
            log.warning("approval request not updated (%s)", exc.response.get("error"))


def cli_client(settings: Settings) -> tuple[WebClient, Sealer] | None:
    """A Web API client and the workspace's sealer for the command line; None without a Slack token."""
    if not settings.slack_bot_token:
        return None
    client = web_client(settings)
    try:
        team = str(client.auth_test().get("team_id") or "")
    except SlackApiError as exc:
        log.warning("approval request not posted: auth.test failed (%s)", exc.response.get("error"))
        return None
    return client, Sealer.of(settings, team)
