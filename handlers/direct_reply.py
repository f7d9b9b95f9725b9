"""Answers from surfaces without a response_url (Home tab, global shortcut) go to the bot's DM.

The Home tab has no channel and no response_url; a global shortcut has neither either. Rather than
teach every feature a second way to answer, these surfaces hand features a `respond` stand-in that
posts the same message into the user's direct message with the bot (the app's Messages tab).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


def dm_channel(client: WebClient, user_id: str) -> str:
    """The id of the bot's DM with the user (`D...`); the user id itself works for chat.postMessage."""
    try:
        channel = client.conversations_open(users=user_id).get("channel") or {}
        return str(channel.get("id") or user_id)
    except (SlackApiError, OSError) as exc:
        log.warning("conversations.open failed, posting to the user id: %s", type(exc).__name__)
        return user_id


class DirectReply:
    """Called like Bolt's `respond`; posts a new message into a DM (replace/delete do not apply)."""

    def __init__(self, client: WebClient, channel: str) -> None:
        self.client = client
        self.channel = channel

    def __call__(
        self,
        text: str | dict[str, Any] = "",
        blocks: Sequence[dict[str, Any]] | None = None,
        attachments: Sequence[dict[str, Any]] | None = None,
        **_ignored: Any,
    ) -> Any:
        if isinstance(text, dict):
            message = text
            text, blocks = message.get("text", ""), message.get("blocks")
            attachments = message.get("attachments")
        kwargs: dict[str, Any] = {}
        if blocks:
            kwargs["blocks"] = list(blocks)
        if attachments:
            kwargs["attachments"] = list(attachments)
        return self.client.chat_postMessage(channel=self.channel, text=str(text or " "), **kwargs)
