"""Global shortcut "Send notification" (callback_id `send_notification`).

Opens whatever `/contacts notify` opens (the broadcast composer) with the shortcut's trigger_id, in the ack path
(right after the ack), while the trigger_id is fresh.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers.commands.contacts import run_for_user

CALLBACK_ID = "send_notification"


def on_shortcut(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    user_id = str(body["user"]["id"])
    team_id = (body.get("team") or {}).get("id")
    run_for_user("notify", user_id, team_id, body.get("trigger_id"), context, client)


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(on_shortcut)
