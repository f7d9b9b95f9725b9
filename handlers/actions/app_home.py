"""Buttons on the Home tab. Home has no channel and no response_url, so answers go to the bot's DM.

"Open the list" runs `/contacts` for the user and posts the list into the DM (the app's Messages
tab), where every list button works as usual. Send notification, import instructions, target
groups and the broadcast list run the feature's own `/contacts` subcommand (with the click's
trigger_id, so a modal opens). Table settings reuses the list's own `list_table_settings` action
(it needs only the trigger_id). A button whose subcommand opens a modal (`IN_ACK`) runs in the ack
path, while its trigger_id is fresh; the others in a lazy listener.
"""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from handlers.commands.contacts import opens_modal, run_for_user
from handlers.context import deps
from handlers.events.app_home import refresh_home
from handlers.listeners import ack_only

# Home button -> the `/contacts` subcommand it runs.
FEATURE_WORDS: dict[str, str] = {
    "notify": "notify",
    "import_help": "import",
    "groups": "groups",
    "broadcasts": "broadcasts",
}


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
    run_for_user(FEATURE_WORDS[button], user_id, team_id, trigger_id, context, client)


def on_home_click_in_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    ack()
    on_home_click(body=body, context=context, client=client)


def register(app: App) -> None:
    buttons = {"open_list", "refresh", *FEATURE_WORDS}
    modal = sorted(b for b in buttons if b in FEATURE_WORDS and opens_modal(FEATURE_WORDS[b]))
    lazy = sorted(buttons.difference(modal))
    if modal:
        app.action(re.compile(rf"^home_({'|'.join(modal)})$"))(on_home_click_in_ack)
    app.action(re.compile(rf"^home_({'|'.join(lazy)})$"))(ack=ack_only, lazy=[on_home_click])
