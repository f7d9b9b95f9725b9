"""`/contacts help` and the help a mistyped command gets, through the real server."""

from __future__ import annotations

import json
import time
from typing import Any

from handlers.commands.contacts import registered_commands
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, RunningApp
from tests.factories import add_contact


def _answer(app: RunningApp, text: str) -> dict[str, Any]:
    app.fake.clear()
    assert app.command(text).status_code == 200
    body = app.fake.wait_for("response_url")[0].body
    assert body["response_type"] == "ephemeral"
    check_blocks(body["blocks"])
    return body


def test_help_explains_every_subcommand_with_examples(running_app: RunningApp) -> None:
    for word in ("help", "hilfe", "HILFE", "--help", "?"):
        text = json.dumps(_answer(running_app, word)["blocks"], ensure_ascii=False)
        assert "So benutzt du /contacts" in text, word
    assert "`/contacts +49 170 1234567`" in text and "`/contacts Müller`" in text and "CONTACTBOT_ADMINS" in text
    for name in registered_commands():  # whatever features registered, each gets its line
        assert f"`/contacts {name}" in text, name


def test_help_in_english_for_an_english_slack_user(running_app: RunningApp) -> None:
    running_app.fake.locales[ADMIN] = "en-GB"
    text = json.dumps(_answer(running_app, "help")["blocks"], ensure_ascii=False)
    assert "How to use /contacts" in text and "Look up contact" in text


def test_a_mistyped_command_keeps_the_empty_search_and_adds_the_help(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Anna Bergmann")
    found = _answer(running_app, "bergmann")  # a word that finds someone: just the list
    assert "ist kein Befehl" not in json.dumps(found, ensure_ascii=False)
    body = json.dumps(_answer(running_app, "exprot"), ensure_ascii=False)
    assert "Keine Kontakte gefunden" in body
    assert "„exprot“ ist kein Befehl, und kein Kontakt passt dazu" in body and "`/contacts help`" in body


def test_send_notification_shortcut_opens_a_modal(running_app: RunningApp) -> None:
    """The broadcast composer (the feature is installed), not the modal saying it is coming."""
    running_app.fake.clear()
    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    payload = {
        "type": "shortcut",
        "callback_id": "send_notification",
        "trigger_id": "777.888.jkl",
        "user": {"id": ADMIN, "username": "admin", "team_id": "T111"},
        "team": {"id": "T111"},
        "action_ts": str(time.time()),
        "token": "legacy",
    }
    assert running_app.interact(payload).status_code == 200
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    assert (view["callback_id"], view["title"]["text"]) == ("bc_pick", "Benachrichtigung")  # the composer itself
