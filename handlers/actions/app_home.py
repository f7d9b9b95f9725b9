"""Buttons on the Home tab. Home has no channel and no response_url, so answers go to the bot's DM.

"Open the list" runs `/contacts` for the user and posts the list into the DM (the app's Messages
tab), where every list button works as usual. Send notification, import instructions, target
groups and the broadcast list run the feature's own `/contacts` subcommand when it is registered
(with the click's trigger_id, so a modal opens); otherwise a small modal says what there is.
Table settings reuses the list's own `list_table_settings` action (it needs only the trigger_id).
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.i18n import t
from handlers.blocks.app_home import coming_soon, info_modal
from handlers.commands.contacts import SUBCOMMANDS, run_for_user
from handlers.context import deps, lang
from handlers.events.app_home import refresh_home

# Home button -> the subcommand words that feature may have registered, in order of preference.
FEATURE_WORDS: dict[str, tuple[str, ...]] = {
    "notify": ("notify", "benachrichtigen"),
    "import_help": ("import", "importieren"),
    "table_settings": ("settings", "columns", "table", "einstellungen", "spalten"),
    "groups": ("groups", "zielgruppen", "audiences"),
    "broadcasts": ("broadcasts", "benachrichtigungen"),
}


def _ack(ack: Ack) -> None:
    ack()


def feature_word(button: str) -> str | None:
    return next((w for w in FEATURE_WORDS.get(button, ()) if w in SUBCOMMANDS), None)


def on_home_click(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    button = body["actions"][0]["action_id"].removeprefix("home_")
    user_id = str(body["user"]["id"])
    team_id = (body.get("team") or {}).get("id") or body["user"].get("team_id")
    trigger_id = body.get("trigger_id")
    if button == "refresh":
        refresh_home(client, deps(context), user_id)
        return
    if button == "open_list":
        run_for_user("", user_id, team_id, trigger_id, context, client)
        return
    word = feature_word(button)
    if word is not None:
        run_for_user(word, user_id, team_id, trigger_id, context, client)
        return
    language = lang(context, client)
    title = t(f"home.button.{button}", language)
    if button == "import_help":
        view = info_modal(title, t("home.import_help.body", language), language)
    else:
        view = coming_soon(title, language)
    client.views_open(trigger_id=trigger_id, view=view)


def register(app: App) -> None:
    app.action(re.compile(r"^home_(open_list|notify|import_help|table_settings|groups|broadcasts|refresh)$"))(
        ack=_ack, lazy=[on_home_click]
    )
