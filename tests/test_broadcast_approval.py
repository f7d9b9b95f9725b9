"""Four-eyes approval of broadcasts (issue 18): two admins and a plain user through signed Slack requests
to the real app, the CLI's approve/reject with `--as`, expiry, and a changed broadcast needing a new approval."""

from __future__ import annotations

import json
from typing import Any

import pytest
from sqlalchemy import Engine, update
from sqlmodel import Session

from bot.cli import main
from bot.config.settings import Settings, load_settings
from bot.services.broadcasts import approval, service
from bot.services.broadcasts.sender import Runner
from storage import audit
from storage.models import Broadcast, utcnow
from tests.blockkit import check_blocks, check_view
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import (
    ADMIN,
    BOT_TOKEN,
    USER,
    RunningApp,
    block_actions,
    select_value,
    text_value,
    view_submission,
    wait_until,
)
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.test_broadcast_slack import _click_notify, _composer, _pick, _submit
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
ADMIN2 = "UADMIN02"


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(
        db_url,
        fake_slack,
        WHATSAPP_DAILY_LIMIT=0,
        CONTACTBOT_ADMINS=f"{ADMIN},{ADMIN2}",
        CONTACTBOT_BROADCAST_APPROVAL="always",
        **fake_graph.env(),
    )


def _status(engine: Engine, broadcast_id: int) -> str:
    return service.report(engine, broadcast_id).broadcast.status


def _run(settings: Settings, engine: Engine) -> None:
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)


def _actions(engine: Engine) -> list[tuple[str, str, dict[str, Any]]]:
    with Session(engine) as session:
        return [(e.actor, e.action, e.detail) for e in reversed(audit.recent(session, 100))]


def _request_in_slack(app: RunningApp) -> dict[str, Any]:
    """An admin composes and confirms a broadcast; returns the approval request posted to the other admin."""
    _click_notify(app)
    params = _submit(app, _composer(app), _pick("termin_erinnerung|de"))["view"]
    values = {
        "src:1": select_value("name"),
        "val:1": text_value("Kunde"),
        "src:2": select_value("text"),
        "val:2": text_value("Montag"),
    }
    confirm = _submit(app, params, values)["view"]
    check_view(confirm)
    assert confirm["submit"]["text"] == "Freigabe anfragen"
    assert "Freigabe einer anderen Admin-Person" in confirm["blocks"][0]["text"]["text"]
    _submit(app, confirm, {})
    wait_until(
        lambda: any(c.body.get("channel") == f"D{ADMIN2[1:]}" for c in app.fake.of("chat.postMessage")),
        "no approval request was posted to the other admin",
    )
    return next(c.body for c in app.fake.of("chat.postMessage") if c.body.get("channel") == f"D{ADMIN2[1:]}")


def _button(message: dict[str, Any], action_id: str) -> dict[str, Any]:
    for block in message["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == action_id:
                return {**element, "block_id": block["block_id"], "action_ts": "1"}
    raise AssertionError(f"no {action_id} button")


def _click(app: RunningApp, message: dict[str, Any], action_id: str, user: str, name: str) -> None:
    container = {"type": "message", "message_ts": "1.0", "channel_id": message["channel"], "is_ephemeral": False}
    payload = block_actions(
        _button(message, action_id), user=user, response_url=app.fake.response_url(name), container=container
    )
    assert app.interact(payload).status_code == 200


def _answer(app: RunningApp, name: str) -> str:
    wait_until(lambda: any(c.path == f"/response/{name}" for c in app.fake.of("response_url")), f"no answer {name}")
    return next(
        json.dumps(c.body, ensure_ascii=False) for c in app.fake.of("response_url") if c.path == f"/response/{name}"
    )


def test_approval_in_slack_needs_another_admin_and_a_plain_user_cannot(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    add_reachable(running_app.engine, 3)
    request = _request_in_slack(running_app)
    check_blocks(request["blocks"])
    shown = "\n".join(b["text"]["text"] for b in request["blocks"] if b["type"] == "section")
    assert "Kunde 0" in shown and "Montag" in shown  # the template filled in with a real recipient's values
    assert f"<@{ADMIN}>" in shown and "*3* Empfänger" in shown and "sofort" in shown
    assert [c.body["users"] for c in running_app.fake.of("conversations.open")] == [ADMIN2]  # not the requester
    bid = 1
    _run(running_app.settings, running_app.engine)
    assert _status(running_app.engine, bid) == "awaiting" and fake_graph.stats()["counts"] == {}

    _click(running_app, request, "bc_approve", USER, "plain")
    assert "darfst" in _answer(running_app, "plain")
    _click(running_app, request, "bc_approve", ADMIN, "own")
    assert "selbst angefragt" in _answer(running_app, "own")
    running_app.settle()
    assert _status(running_app.engine, bid) == "awaiting"

    _click(running_app, request, "bc_approve", ADMIN2, "other")
    wait_until(lambda: _status(running_app.engine, bid) == "queued", "the second admin's approval did not take")
    updated = running_app.fake.wait_for("chat.update")
    decided = next(c.body for c in updated if c.body.get("channel") == f"D{ADMIN2[1:]}")
    assert f"Freigegeben von <@{ADMIN2}>" in json.dumps(decided["blocks"], ensure_ascii=False)
    assert not any(b["type"] == "actions" for b in decided["blocks"])
    _run(running_app.settings, running_app.engine)
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1, phone(2): 1}
    acts = _actions(running_app.engine)
    assert ("slack:" + ADMIN, "broadcast.approval_request", {}) in acts
    assert any(a == ("slack:" + ADMIN2, "broadcast.approve") for a, *_ in [(x[:2],) for x in acts])


def test_reject_in_slack_asks_for_a_reason_and_sends_nothing(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    add_reachable(running_app.engine, 2)
    request = _request_in_slack(running_app)
    _click(running_app, request, "bc_reject", ADMIN2, "rej")
    modal = running_app.fake.wait_for("views.open", 2)[-1].body["view"]  # the composer was the first
    check_view(modal)
    assert modal["callback_id"] == "bc_reject_reason"
    empty = running_app.interact(view_submission(modal, {"reason": text_value(" ")}, user=ADMIN2)).json()
    assert empty["response_action"] == "errors" and "reason" in empty["errors"]
    running_app.interact(view_submission(modal, {"reason": text_value("Falscher Termin <b>")}, user=ADMIN2))
    wait_until(lambda: _status(running_app.engine, 1) == "rejected", "not rejected")
    wait_until(
        lambda: any(
            "Abgelehnt von" in json.dumps(c.body, ensure_ascii=False) for c in running_app.fake.of("chat.update")
        ),
        "the request was not marked rejected",
    )
    decided = next(c.body for c in running_app.fake.of("chat.update") if "Abgelehnt" in json.dumps(c.body))
    assert "Falscher Termin &lt;b&gt;" in json.dumps(decided["blocks"], ensure_ascii=False)  # escaped
    _run(running_app.settings, running_app.engine)
    assert fake_graph.stats()["counts"] == {}
    assert (f"slack:{ADMIN2}", "broadcast.reject", {"reason": "Falscher Termin <b>"}) in _actions(running_app.engine)


# --- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, fake_graph: FakeGraph) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "200",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "4",
        "SLACK_BOT_TOKEN": "",
        "CONTACTBOT_LANG": "de",
        "CONTACTBOT_ADMINS": f"{ADMIN},{ADMIN2}",
        "CONTACTBOT_BROADCAST_APPROVAL": "above:2",
        **fake_graph.env(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


SEND = ["broadcast", "send", "--template", "termin_erinnerung", "--lang", "de", "--param", "1=contact:name|Kunde"]


def test_cli_approve_and_reject_with_as_and_the_self_approval_refusal(
    cli_env: dict[str, str], engine: Engine, fake_graph: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    add_reachable(engine, 2)
    assert main([*SEND, "--param", "2=Montag", "--yes"]) == 0  # two recipients: not above 2, no approval
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}
    add_reachable(engine, 1, start=2)
    capsys.readouterr()
    assert main([*SEND, "--param", "2=Dienstag", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "wartet auf Freigabe" in out and "#2" in out
    assert sum(fake_graph.stats()["counts"].values()) == 2

    assert main(["broadcast", "approve", "2"]) == 2  # the CLI's own identity asked for it
    assert "selbst angefragt" in capsys.readouterr().err
    assert main(["broadcast", "approve", "2", "--as", USER]) == 2
    assert "nicht in CONTACTBOT_ADMINS" in capsys.readouterr().err
    assert main(["broadcast", "reject", "2", "--as", ADMIN2]) == 2
    assert "Grund" in capsys.readouterr().err
    assert main(["broadcast", "approve", "2", "--as", ADMIN2]) == 0
    assert "freigegeben" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert sum(fake_graph.stats()["counts"].values()) == 5

    # requested in Slack by ADMIN: the CLI acting as that same admin may not approve it; it may reject it
    settings = load_settings()
    d = draft(settings, by=f"slack:{ADMIN}")
    row, _ = service.create(engine, settings, d)
    assert row.status == "awaiting"
    assert main(["broadcast", "approve", str(row.id), "--as", ADMIN]) == 2
    assert "selbst angefragt" in capsys.readouterr().err
    assert main(["broadcast", "reject", str(row.id), "--as", ADMIN2, "--reason", "zu spät"]) == 0
    assert "abgelehnt: zu spät" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert sum(fake_graph.stats()["counts"].values()) == 5
    assert _status(engine, row.id or 0) == "rejected"


# --- expiry and changes -------------------------------------------------------------------------


def _approval_settings(db_url: str, fake_graph: FakeGraph, **extra: Any) -> Settings:
    return load_settings(
        DATABASE_URL=db_url,
        WHATSAPP_MAX_MPS=200,
        WHATSAPP_DAILY_LIMIT=0,
        BROADCAST_CONCURRENCY=4,
        CONTACTBOT_ADMINS=f"{ADMIN},{ADMIN2}",
        CONTACTBOT_BROADCAST_APPROVAL="always",
        **fake_graph.env(),
        **extra,
    )


def test_an_expired_approval_sends_nothing_until_approved_again(
    engine: Engine, db_url: str, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 2)
    short = _approval_settings(db_url, fake_graph, CONTACTBOT_APPROVAL_HOURS=0.0003)  # about a second
    row, _ = service.create(engine, short, draft(short, by=f"slack:{ADMIN}"))
    approved = approval.approve(engine, short, row.id or 0, f"slack:{ADMIN2}")
    assert approved.status == "queued" and approved.approval_expires_at is not None
    wait_until(lambda: utcnow() > approved.approval_expires_at, "the approval did not expire")  # type: ignore[operator]
    _run(short, engine)
    assert fake_graph.stats()["counts"] == {}
    assert _status(engine, row.id or 0) == "awaiting"
    assert ("system", "broadcast.approval_expired", {}) in _actions(engine)

    normal = _approval_settings(db_url, fake_graph)
    approval.approve(engine, normal, row.id or 0, f"slack:{ADMIN2}")
    _run(normal, engine)
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}


def test_a_changed_broadcast_needs_a_new_approval(engine: Engine, db_url: str, fake_graph: FakeGraph) -> None:
    add_reachable(engine, 2)
    settings = _approval_settings(db_url, fake_graph)
    row, _ = service.create(engine, settings, draft(settings, by=f"slack:{ADMIN}"))
    shown = approval.request(engine, settings, row.id or 0).fingerprint
    approval.approve(engine, settings, row.id or 0, f"slack:{ADMIN2}", seen=shown[:16])
    changed = approval.edit(
        engine, settings, row.id or 0, f"slack:{ADMIN}", params={"1": service.ParamSource(text="Liebe Kundschaft")}
    )
    assert changed.status == "awaiting" and changed.approved_fingerprint is None
    with pytest.raises(service.BroadcastError) as refused:  # the old request's button: not what it showed
        approval.approve(engine, settings, row.id or 0, f"slack:{ADMIN2}", seen=shown[:16])
    assert refused.value.code == "broadcast.error.approval_outdated"
    _run(settings, engine)
    assert fake_graph.stats()["counts"] == {}
    approval.approve(engine, settings, row.id or 0, f"slack:{ADMIN2}")
    _run(settings, engine)
    assert sum(fake_graph.stats()["counts"].values()) == 2


@pytest.mark.parametrize("started", [False, True], ids=["before-start", "at-claim"])
def test_a_change_behind_the_apps_back_is_caught_at_the_start_and_at_every_claim(
    engine: Engine, db_url: str, fake_graph: FakeGraph, started: bool
) -> None:
    add_reachable(engine, 2)
    settings = _approval_settings(db_url, fake_graph)
    row, _ = service.create(engine, settings, draft(settings, by=f"slack:{ADMIN}"))
    approval.approve(engine, settings, row.id or 0, f"slack:{ADMIN2}")
    if started:
        assert service.start(engine, settings, row.id or 0) == 2  # frozen, running, nothing sent yet
    with engine.begin() as conn:  # e.g. someone edits the row in the database
        table = Broadcast.__table__  # type: ignore[attr-defined]
        changed = {"1": {"text": "Gewinnspiel!", "field": None, "fallback": ""}, "2": {"text": "x"}}
        conn.execute(update(table).where(table.c.id == row.id).values(params=changed))
    _run(settings, engine)
    assert fake_graph.stats()["counts"] == {}
    assert _status(engine, row.id or 0) == "awaiting"
    assert ("system", "broadcast.approval_changed", {}) in _actions(engine)


def test_cli_request_goes_to_the_audit_channel_and_the_decision_updates_it(
    cli_env: dict[str, str],
    engine: Engine,
    fake_graph: FakeGraph,
    fake_slack: FakeSlack,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    fake_slack.members.add("CAUDIT01")  # the bot is invited to the audit channel (docs/deploy.md)
    monkeypatch.setenv("SLACK_BOT_TOKEN", BOT_TOKEN)
    monkeypatch.setenv("SLACK_API_URL", fake_slack.api_url)
    monkeypatch.setenv("CONTACTBOT_AUDIT_CHANNEL", "CAUDIT01")
    add_reachable(engine, 3)
    assert main([*SEND, "--param", "2=Montag", "--yes"]) == 0
    assert "Zur Freigabe an <#CAUDIT01> geschickt" in capsys.readouterr().out
    requests = [c.body for c in fake_slack.of("chat.postMessage") if "blocks" in c.body]
    assert [r["channel"] for r in requests] == ["CAUDIT01"] and fake_slack.of("conversations.open") == []
    check_blocks(requests[0]["blocks"])
    shown = json.dumps(requests[0]["blocks"], ensure_ascii=False)
    assert "Kunde 0" in shown and "*3* Empfänger" in shown and "bc_approve" in shown
    assert main(["broadcast", "approve", "1", "--as", ADMIN2]) == 0
    wait_until(lambda: fake_slack.of("chat.update"), "the request was not updated")
    decided = fake_slack.of("chat.update")[0].body
    assert decided["channel"] == "CAUDIT01" and f"Freigegeben von <@{ADMIN2}>" in json.dumps(decided["blocks"])
    assert main(["worker", "--once"]) == 0
    assert sum(fake_graph.stats()["counts"].values()) == 3
