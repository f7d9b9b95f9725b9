"""Global shortcut "Send notification" (callback_id `send_notification`).

Opens whatever `/contacts notify` opens (the broadcast composer) with the shortcut's trigger_id;
while no feature has registered `notify`, a small modal says it is coming.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.i18n import t
from handlers.actions.app_home import feature_word
from handlers.blocks.app_home import coming_soon
from handlers.commands.contacts import run_for_user
from handlers.context import lang

CALLBACK_ID = "send_notification"


def _ack(ack: Ack) -> None:
    ack()


def on_shortcut(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    user_id = str(body["user"]["id"])
    team_id = (body.get("team") or {}).get("id")
    word = feature_word("notify")
    if word is not None:
        run_for_user(word, user_id, team_id, body.get("trigger_id"), context, client)
        return
    language = lang(context, client)
    view = coming_soon(t("home.button.notify", language), language)
    client.views_open(trigger_id=body["trigger_id"], view=view)


def register(app: App) -> None:
    app.shortcut(CALLBACK_ID)(ack=_ack, lazy=[on_shortcut])
