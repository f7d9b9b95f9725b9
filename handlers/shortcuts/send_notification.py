"""Global shortcut "Send notification" (callback_id `send_notification`).

Opens whatever `/contacts notify` opens (the broadcast composer) with the shortcut's trigger_id.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from handlers.commands.contacts import run_for_user
from handlers.listeners import ack_only

CALLBACK_ID = "send_notification"


def on_shortcut(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    user_id = str(body["user"]["id"])
    team_id = (body.get("team") or {}).get("id")
    run_for_user("notify", user_id, team_id, body.get("trigger_id"), context, client)


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(ack=ack_only, lazy=[on_shortcut])
