"""Issue 16, items 3-5: the composer under Slack's real limits.

- Parameters too long for the modal's sealed private_metadata (3,000 characters) are refused in the modal
  (`response_action: errors`), not cut into a seal that makes every Send say "out of date".
- A refusal after Send reaches the user where the bot is not a member of the channel (DM fallback).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.config.settings import Settings
from bot.services.broadcasts import service
from tests.broadcast_helpers import add_reachable, draft
from tests.conftest import RunningApp, block_actions, sealed, sealed_metadata, select_value, text_value, view_submission
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _submit(app: RunningApp, view: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    response = app.interact(view_submission(view, values))
    assert response.status_code == 200
    return response.json() if response.content else {}


def _params_view(app: RunningApp) -> dict[str, Any]:
    action = {"type": "button", "action_id": "list_notify", "value": "notify", "action_ts": "1"}
    app.interact(block_actions(action, response_url=app.fake.response_url("list")))
    pick = app.fake.wait_for("views.update")[-1].body["view"]
    chosen = {
        "tpl": select_value("termin_erinnerung|de"),
        "aud": select_value("all"),
        "when": {"v": {"type": "radio_buttons", "selected_option": {"value": "now"}}},
        "at": {"v": {"type": "datetimepicker", "selected_date_time": None}},
        "test": text_value(""),
    }
    return _submit(app, pick, chosen)["view"]


def _texts(first: str, second: str) -> dict[str, Any]:
    return {
        "src:1": select_value("text"),
        "val:1": text_value(first),
        "src:2": select_value("text"),
        "val:2": text_value(second),
    }


def test_parameters_too_long_for_the_modal_are_refused_in_the_modal(running_app: RunningApp) -> None:
    add_reachable(running_app.engine, 1)
    params = _params_view(running_app)
    refused = _submit(running_app, params, _texts("a" * 1400, "b" * 1400))
    assert refused["response_action"] == "errors" and {"val:1", "val:2"} & set(refused["errors"])
    assert "kürzen" in json.dumps(refused["errors"], ensure_ascii=False)
    fits = _submit(running_app, params, _texts("a" * 1000, "b" * 1000))
    assert fits["response_action"] == "update" and fits["view"]["submit"]["text"] == "Senden"
    _submit(running_app, fits["view"], {})  # Send: the seal holds, a broadcast is created and reported
    report = running_app.fake.wait_for("chat.postMessage")[0].body
    assert "#1" in report["blocks"][0]["text"]["text"]


def test_a_refusal_after_send_reaches_the_user_by_dm_where_the_bot_is_not(running_app: RunningApp) -> None:
    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    view = {
        "type": "modal",
        "callback_id": "bc_confirm",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [],
        "private_metadata": sealed_metadata(
            {"ch": "C999", "tpl": "gibt_es_nicht|de", "aud": "all", "p": {}}, purpose="bc_confirm"
        ),
    }
    _submit(running_app, view, {})
    dm = running_app.fake.wait_for("chat.postMessage")[0].body
    assert dm["channel"] == "D0ADMIN" and "gibt_es_nicht" in dm["text"]
    assert running_app.fake.of("chat.postEphemeral")[0].body["channel"] == "C999"  # tried first, not_in_channel


def test_the_reports_csv_goes_to_the_requesters_dm_not_the_channel(running_app: RunningApp) -> None:
    """Issue 16 item 10: the CSV lists recipients' numbers; the report may sit in a channel others read."""
    add_reachable(running_app.engine, 2)
    row, _ = service.create(running_app.engine, running_app.settings, draft(running_app.settings))
    action = {
        "type": "button",
        "action_id": "bc_csv",
        "block_id": "bcr",
        "value": sealed(str(row.id), purpose="bc_csv"),
    }
    action["action_ts"] = "1"
    running_app.interact(block_actions(action, response_url=running_app.fake.response_url("report")))
    done = running_app.fake.wait_for("files.completeUploadExternal")[0].body
    assert done["channel_id"].startswith("D")  # the requester's DM (conversations.open), never C111
