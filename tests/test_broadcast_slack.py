"""The broadcast composer, confirmation, live report and list through the real server with signed requests."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.config.settings import Settings
from bot.services.broadcasts.sender import Runner
from handlers.clients.live_report import SlackReporter
from handlers.clients.web_api import web_client
from handlers.list_state import ListState, join
from tests.blockkit import check_blocks, check_view
from tests.broadcast_helpers import add_reachable
from tests.conftest import (
    ADMIN,
    USER,
    RunningApp,
    app_seal,
    block_actions,
    sealed,
    sealed_metadata,
    select_value,
    text_value,
    view_submission,
)
from tests.factories import BASE, add_contact
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _click_notify(app: RunningApp, user: str = ADMIN, state: ListState | None = None) -> None:
    action = {
        "type": "button",
        "action_id": "list_notify",
        "value": "notify",
        "block_id": join("acts", state or ListState()),
        "action_ts": "1",
    }
    assert app.interact(block_actions(action, user=user, response_url=app.fake.response_url("list"))).status_code == 200


def _composer(app: RunningApp) -> dict[str, Any]:
    view = app.fake.wait_for("views.update")[-1].body["view"]
    check_view(view)
    return view


def _submit(app: RunningApp, view: dict[str, Any], values: dict[str, Any], user: str = ADMIN) -> dict[str, Any]:
    response = app.interact(view_submission(view, values, user=user))
    assert response.status_code == 200
    return response.json() if response.content else {}


def _pick(template: str, audience: str = "all", test: str = "") -> dict[str, Any]:
    return {
        "tpl": select_value(template),
        "aud": select_value(audience),
        "when": {"v": {"type": "radio_buttons", "selected_option": {"value": "now"}}},
        "at": {"v": {"type": "datetimepicker", "selected_date_time": None}},
        "test": text_value(test),
    }


def test_notify_button_opens_the_composer_with_approved_templates_only(running_app: RunningApp) -> None:
    _click_notify(running_app)
    assert running_app.fake.wait_for("views.open")[0].body["trigger_id"] in running_app.fake.used_triggers
    view = _composer(running_app)
    templates = [o["value"] for o in view["blocks"][0]["element"]["options"]]
    assert "termin_erinnerung|de" in templates and not any(v.startswith("alt_abgelehnt") for v in templates)
    audiences = [o["value"] for o in view["blocks"][1]["element"]["options"]]
    assert audiences[:2] == ["all", "filter"]  # opened from the list: its filter is an audience


def test_only_admins_may_open_the_composer(running_app: RunningApp) -> None:
    _click_notify(running_app, user=USER)
    answer = running_app.fake.wait_for("response_url")[0].body
    assert "darfst" in answer["text"]
    running_app.settle()
    assert running_app.fake.of("views.open") == []


def test_compose_confirm_send_and_watch_the_report(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    add_reachable(running_app.engine, 3)
    add_contact(running_app.engine, "+4915100000009", "Ohne Zustimmung")
    _click_notify(running_app)
    pick = _composer(running_app)
    answer = _submit(running_app, pick, _pick("termin_erinnerung|de", test="0170 5550001"))
    assert answer["response_action"] == "update"
    params = answer["view"]
    check_view(params)
    assert [b["block_id"] for b in params["blocks"] if b["type"] == "input"] == ["src:1", "val:1", "src:2", "val:2"]
    empty = _submit(
        running_app,
        params,
        {
            "src:1": select_value("name"),
            "val:1": text_value("Kunde"),
            "src:2": select_value("text"),
            "val:2": text_value(""),
        },
    )
    assert empty["response_action"] == "errors" and "val:2" in empty["errors"]
    answered = _submit(
        running_app,
        params,
        {
            "src:1": select_value("name"),
            "val:1": text_value("Kunde"),
            "src:2": select_value("text"),
            "val:2": text_value("Montag <b>"),
        },
    )
    assert answered["response_action"] == "update"
    confirm = answered["view"]  # built in the ack: no views.update racing it (slackapi/bolt-python#866)
    running_app.settle()
    assert len(running_app.fake.of("views.update")) == 1  # only the composer's own fill-in after opening
    check_view(confirm)
    text = confirm["blocks"][0]["text"]["text"]
    assert "termin_erinnerung" in text and "*3* Empfänger" in text and "keine Einwilligung 1" in text
    assert "Testnachricht an +49 170 5550001 gesendet" in text
    assert confirm["submit"]["text"] == "Senden"
    assert fake_graph.stats()["counts"] == {"+491705550001": 1}  # the test message, nothing else yet

    for _ in range(2):  # a double submit (or Slack's retry) creates one broadcast
        _submit(running_app, confirm, {})
    post = running_app.fake.wait_for("chat.postMessage")[0].body
    check_blocks(post["blocks"])
    assert "#1" in post["blocks"][0]["text"]["text"]
    reporter = SlackReporter(web_client(running_app.settings), running_app.engine, running_app.settings)
    Runner(running_app.settings, running_app.engine, reporter).run_forever(poll=0.05, until_idle=True)
    assert sum(fake_graph.stats()["counts"].values()) == 4
    update = running_app.fake.wait_for("chat.update")[-1].body
    check_blocks(update["blocks"])
    assert "gesendet 3" in update["blocks"][0]["text"]["text"] and "fertig" in update["blocks"][0]["text"]["text"]
    assert len(running_app.fake.of("chat.postMessage")) == 1


def test_a_plain_user_cannot_send_even_with_a_forged_confirmation(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    add_reachable(running_app.engine, 2)
    view = {
        "type": "modal",
        "callback_id": "bc_confirm",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [],
        "private_metadata": sealed_metadata(
            {"ch": "C111", "tpl": "hello_world|en_US", "aud": "all", "p": {}}, purpose="bc_confirm"
        ),
    }
    answer = _submit(running_app, view, {}, user=USER)
    assert answer["response_action"] == "update"  # said in the modal: the channel may not have the bot
    assert "darfst" in json.dumps(answer["view"], ensure_ascii=False)
    running_app.settle()
    assert running_app.fake.of("chat.postMessage") == [] and fake_graph.stats()["requests"] == 0


def test_broadcasts_command_lists_with_cancel_and_the_button_works(running_app: RunningApp) -> None:
    from bot.services.broadcasts import service
    from tests.broadcast_helpers import draft

    add_reachable(running_app.engine, 1)
    d = draft(running_app.settings, name="hello_world", lang="en_US")
    d.scheduled_at = BASE.replace(year=2099)
    row, _ = service.create(running_app.engine, running_app.settings, d)
    running_app.command("broadcasts")
    listed = running_app.fake.wait_for("response_url")[0].body
    check_blocks(listed["blocks"])
    buttons = [e for b in listed["blocks"] if b["type"] == "actions" for e in b["elements"]]
    cancel = next(b for b in buttons if b["action_id"] == "bc_cancel")
    block = next(b["block_id"] for b in listed["blocks"] if b["type"] == "actions")
    running_app.interact(
        block_actions(
            {**cancel, "block_id": block, "action_ts": "1"}, response_url=running_app.fake.response_url("list2")
        )
    )
    redrawn = running_app.fake.wait_for("response_url", 2)[-1].body
    assert redrawn["replace_original"] is True and "abgebrochen" in json.dumps(redrawn["blocks"], ensure_ascii=False)
    assert service.report(running_app.engine, row.id or 0).broadcast.status == "cancelled"


def test_notify_subcommand_opens_the_composer(running_app: RunningApp) -> None:
    running_app.command("notify")
    assert running_app.fake.wait_for("views.open")[0].body["trigger_id"] in running_app.fake.used_triggers
    _composer(running_app)


def test_an_expired_token_stops_the_broadcast_and_the_report_says_why(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    from bot.services.broadcasts import service
    from handlers.clients.live_report import post_report
    from tests.broadcast_helpers import draft

    add_reachable(running_app.engine, 3)
    fake_graph.configure(fail_all=190)
    row, _ = service.create(
        running_app.engine, running_app.settings, draft(running_app.settings, name="hello_world", lang="en_US")
    )
    client = web_client(running_app.settings)
    post_report(client, running_app.engine, row.id or 0, "C111", ADMIN, app_seal)
    Runner(
        running_app.settings, running_app.engine, SlackReporter(client, running_app.engine, running_app.settings)
    ).run_forever(poll=0.05, until_idle=True)
    final = running_app.fake.wait_for("chat.update")[-1].body
    check_blocks(final["blocks"])
    text = final["blocks"][0]["text"]["text"]
    assert "gestoppt" in text and "Zugangstoken abgelaufen (190)" in text and "offen 3" in text
    buttons = [e["action_id"] for b in final["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "bc_retry" not in buttons and "bc_resume" in buttons  # nothing failed: all three are still to send

    fake_graph.configure(fail_all=None)  # the token is replaced: resume from the report
    resume = {
        "type": "button",
        "action_id": "bc_resume",
        "value": sealed(str(row.id), purpose="bc_resume"),
        "block_id": f"bca|{row.id}",
        "action_ts": "1",
    }
    running_app.interact(block_actions(resume, response_url=running_app.fake.response_url("report")))
    running_app.fake.wait_for("response_url")
    Runner(running_app.settings, running_app.engine).run_forever(poll=0.05, until_idle=True)
    assert service.report(running_app.engine, row.id or 0).counts == {"sent": 3}


def test_a_refused_test_message_is_named_on_the_confirmation(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    """Meta refuses the test message: the confirmation says so with Meta's code (it crashed on the code before)."""
    add_reachable(running_app.engine, 1)
    fake_graph.configure(rules={"+491705550001": [{"error": 131026}]})
    _click_notify(running_app)
    pick = _composer(running_app)
    params = _submit(running_app, pick, _pick("termin_erinnerung|de", test="0170 5550001"))["view"]
    loading = _submit(
        running_app,
        params,
        {
            "src:1": select_value("name"),
            "val:1": text_value("Kunde"),
            "src:2": select_value("text"),
            "val:2": text_value("Montag"),
        },
    )
    assert loading["response_action"] == "update"
    confirm = loading["view"]  # built in the ack (issue 16): the refusal is known before the modal changes
    check_view(confirm)
    text = confirm["blocks"][0]["text"]["text"]
    assert "Testnachricht abgelehnt (131026)" in text and "*1* Empfänger" in text
    assert fake_graph.stats()["counts"] == {}  # refused, so nothing was accepted


def test_a_template_name_of_512_characters_can_be_picked_and_sent(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    """Issue 16 item 10: Meta allows template names of up to 512 characters; the select's option value (at most
    150) was the name cut to 150, which named no template, so such a template could never be sent."""
    from tests.fakes.graph_api import DEFAULT_TEMPLATES

    long_name = "sommer_" + "x" * 505
    assert len(long_name) == 512
    template = {
        "name": long_name,
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": "77",
        "components": [{"type": "BODY", "text": "Sommer!"}],
    }
    fake_graph.configure(templates=[*DEFAULT_TEMPLATES, template])
    add_reachable(running_app.engine, 2)
    _click_notify(running_app)
    pick = _composer(running_app)
    option = next(o for o in pick["blocks"][0]["element"]["options"] if o["text"]["text"].startswith("sommer_"))
    assert len(option["value"]) <= 150
    confirm = _submit(running_app, pick, _pick(option["value"]))["view"]
    check_view(confirm)
    assert confirm["callback_id"] == "bc_confirm" and "*2* Empfänger" in confirm["blocks"][0]["text"]["text"]
    _submit(running_app, confirm, {})
    running_app.fake.wait_for("chat.postMessage")
    Runner(running_app.settings, running_app.engine).run_forever(poll=0.05, until_idle=True)
    assert sum(fake_graph.stats()["counts"].values()) == 2 and fake_graph.stats()["invalid"] == []
