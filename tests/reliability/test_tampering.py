"""Our own values in clicks and modals cannot be turned against another record or workspace.

Every test drives the running app with correctly signed Slack requests whose ids were changed
(`block:43` with the seal of `block:42`), sealed for another workspace, or never sealed (a message
from before sealing): each is refused as out of date and the database is unchanged; the genuine
value, sent the same way, works.
"""

from __future__ import annotations

import json
import time
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.i18n import t
from bot.services import audiences, imports
from bot.services.broadcasts import service as broadcast_service
from handlers.integrity import Sealer, derive_key, unseal
from storage.models import Audience, AuditEntry, Contact, ImportRun, Ticket
from tests.broadcast_helpers import add_reachable
from tests.conftest import (
    ADMIN,
    SIGNING_SECRET,
    RunningApp,
    block_actions,
    menu_value,
    sealed,
    sealed_metadata,
    view_submission,
)
from tests.factories import add_contact, add_ticket
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
CSV = "+4917055500001;Neu Eins\n+4917055500002;Neu Zwei\n"
STALE = t("error.stale")


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def swap(genuine: str, value: str) -> str:
    """`value` carrying the seal of another value: what an attacker who edits a payload can make."""
    return f"{value}~{genuine.rpartition('~')[2]}"


def forgeries(genuine: str, changed: str, purpose: str) -> dict[str, str]:
    value = genuine.rpartition("~")[0]
    return {
        "changed id": swap(genuine, changed),
        "other workspace": sealed(value, "T999", purpose=purpose),
        "other purpose": sealed(value, purpose="card_block" if purpose != "card_block" else "import_cancel"),
        "unsealed": value,
    }


def _audit_count(app: RunningApp) -> int:
    with Session(app.engine) as s:
        return int(s.scalar(select(func.count()).select_from(AuditEntry)) or 0)


def _answer(app: RunningApp) -> dict[str, Any]:
    return app.fake.wait_for("response_url")[0].body


def test_sealing_is_bound_to_value_and_workspace() -> None:
    key = derive_key(SIGNING_SECRET)
    value = sealed("block:42", purpose="contact_menu")
    assert unseal(value, "T111", key, "contact_menu") == "block:42"
    assert len(value) == len("block:42") + 13
    assert unseal(swap(value, "block:43"), "T111", key, "contact_menu") is None
    assert unseal(value, "T999", key, "contact_menu") is None
    assert unseal(value, "T111", key, "card_block") is None and unseal(value, "T111", key, "") is None
    assert unseal(value, "T111", derive_key("another-secret"), "contact_menu") is None
    assert unseal("block:42", "T111", key, "contact_menu") is None and unseal(None, "T111", key, "contact_menu") is None
    assert unseal(value, "", key, "contact_menu") is None
    assert derive_key(SIGNING_SECRET) != SIGNING_SECRET.encode()  # the secret is never the key itself


def _overflow(app: RunningApp, cid: int, value: str) -> None:
    app.fake.clear()
    action = {
        "type": "overflow",
        "action_id": "contact_menu",
        "block_id": f"row{cid}|l|d|a||||0|",
        "selected_option": {"value": value},
        "action_ts": str(time.time()),
    }
    assert app.interact(block_actions(action, response_url=app.fake.response_url("list"))).status_code == 200


def test_block_from_the_overflow_menu(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    other = add_contact(running_app.engine, "+4917022222222", "Erika")
    genuine = sealed(f"block:{cid}", purpose="contact_menu")
    for case, value in forgeries(genuine, f"block:{other}", "contact_menu").items():
        _overflow(running_app, other if case == "changed id" else cid, value)
        assert _answer(running_app)["text"] == STALE, case
    running_app.settle()  # the lazy listeners have run
    with Session(running_app.engine) as s:
        assert not s.get(Contact, cid).blocked and not s.get(Contact, other).blocked
    assert _audit_count(running_app) == 0
    # a genuine value in another contact's row is refused too: the row names the contact shown
    _overflow(running_app, other, genuine)
    assert _answer(running_app)["text"] == STALE
    _overflow(running_app, cid, genuine)
    assert "blockiert" in json.dumps(_answer(running_app), ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid).blocked and not s.get(Contact, other).blocked


def test_row_menu_with_one_seal_per_row(running_app: RunningApp) -> None:
    """The list draws one MAC per row, over the contact, shared by the row's five options (issue 21: a hundred
    HMACs a page were 7% of the CPU in a burst). It still names the contact: the MAC of one row moved onto
    another contact's value, to another workspace or purpose, or dropped, is refused; the genuine one works."""
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    other = add_contact(running_app.engine, "+4917022222222", "Erika")
    genuine = menu_value("block", cid)
    mac = genuine.rpartition("~")[2]
    cases = {
        "mac moved to another contact": f"block:{other}~{mac}",
        "other workspace": menu_value("block", cid).rpartition("~")[0]
        + "~"
        + sealed(f"row:{cid}", "T999", purpose="contact_menu").rpartition("~")[2],
        "other purpose": f"block:{cid}~" + sealed(f"row:{cid}", purpose="card_block").rpartition("~")[2],
        "unsealed": f"block:{cid}",
    }
    for case, value in cases.items():
        _overflow(running_app, other if case.startswith("mac moved") else cid, value)
        assert _answer(running_app)["text"] == STALE, case
    running_app.settle()
    with Session(running_app.engine) as s:
        assert not s.get(Contact, cid).blocked and not s.get(Contact, other).blocked
    _overflow(running_app, cid, genuine)
    assert "blockiert" in json.dumps(_answer(running_app), ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid).blocked


def _delete_modal(app: RunningApp, cid: int) -> dict[str, Any]:
    _overflow(app, cid, sealed(f"delete:{cid}", purpose="contact_menu"))
    return app.fake.wait_for("views.open")[0].body["view"]


def test_delete_modal_submission(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    other = add_contact(running_app.engine, "+4917022222222", "Erika")
    view = _delete_modal(running_app, cid)
    genuine = view["private_metadata"]
    plain = json.loads(genuine.rpartition("~")[0])
    assert plain["cid"] == cid
    forged = {
        "changed id": swap(genuine, json.dumps({**plain, "cid": other}, separators=(",", ":"))),
        "other workspace": sealed_metadata(plain, "T999", purpose=view["callback_id"]),
        "other modal (details)": sealed_metadata(plain, purpose="contact_details"),
        "unsealed": json.dumps(plain),
    }
    for case, metadata in forged.items():
        running_app.fake.clear()
        answer = running_app.interact(view_submission({**view, "private_metadata": metadata})).json()
        assert answer["response_action"] == "update" and STALE in json.dumps(answer, ensure_ascii=False), case
    running_app.settle()
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid) is not None and s.get(Contact, other) is not None
    assert _audit_count(running_app) == 0 and not running_app.fake.of("response_url")
    assert running_app.interact(view_submission(view)).status_code == 200
    assert "gelöscht" in json.dumps(_answer(running_app), ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid) is None and s.get(Contact, other) is not None


def _import_run(app: RunningApp, tmp_path: Any) -> int:
    path = tmp_path / "kunden.csv"
    path.write_text("Nummer;Name\n" + CSV, encoding="utf-8")
    return imports.preview(app.engine, str(path), "kunden.csv", actor="test", region="DE").run_id


def test_import_confirm(running_app: RunningApp, tmp_path: Any) -> None:
    run_id = _import_run(running_app, tmp_path)
    other = _import_run(running_app, tmp_path)
    genuine = sealed(str(run_id), purpose="import_confirm")

    def click(value: str) -> None:
        running_app.fake.clear()
        action = {
            "type": "button",
            "action_id": "import_confirm",
            "block_id": f"import|{run_id}",
            "value": value,
            "action_ts": str(time.time()),
        }
        container = {"type": "message", "message_ts": "1700000000.000300", "channel_id": "C111", "is_ephemeral": False}
        running_app.interact(
            block_actions(action, response_url=running_app.fake.response_url("imp"), container=container)
        )

    for case, value in forgeries(genuine, str(other), "import_confirm").items():
        click(value)
        assert _answer(running_app)["text"] == STALE, case
    with Session(running_app.engine) as s:
        assert {r.status for r in s.scalars(select(ImportRun))} == {"preview"}
        assert s.scalar(select(func.count()).select_from(Contact)) == 0
    click(genuine)
    deadline = time.monotonic() + 60  # a hang guard, not a time limit
    while time.monotonic() < deadline and imports.load(running_app.engine, run_id).status == "preview":
        time.sleep(0.05)
    assert imports.load(running_app.engine, run_id).status == "applied"
    assert imports.load(running_app.engine, other).status == "preview"


def test_broadcast_confirmation(running_app: RunningApp) -> None:
    add_reachable(running_app.engine, 2)
    plain = {"ch": "C111", "tpl": "hello_world|en_US", "aud": "all", "p": {}}
    genuine = sealed_metadata(plain, purpose="bc_confirm")
    view = {
        "type": "modal",
        "callback_id": "bc_confirm",
        "title": {"type": "plain_text", "text": "x"},
        "blocks": [],
        "private_metadata": genuine,
    }
    forged = {
        "changed audience": swap(genuine, json.dumps({**plain, "aud": "aud:1"}, separators=(",", ":"))),
        "other workspace": sealed_metadata(plain, "T999", purpose="bc_confirm"),
        "other modal": sealed_metadata(plain, purpose="bc_params"),
        "unsealed": json.dumps(plain),
    }
    for case, metadata in forged.items():
        answer = running_app.interact(view_submission({**view, "private_metadata": metadata})).json()
        assert answer["response_action"] == "update" and STALE in json.dumps(answer, ensure_ascii=False), case
    running_app.settle()
    assert broadcast_service.recent(running_app.engine, 5) == []
    assert not running_app.fake.of("chat.postMessage")
    assert running_app.interact(view_submission(view)).status_code == 200
    running_app.fake.wait_for("chat.postMessage")
    assert len(broadcast_service.recent(running_app.engine, 5)) == 1


def test_audience_delete_menu_and_modal(running_app: RunningApp) -> None:
    keep = audiences.create(running_app.engine, "Bleibt", {"conditions": []}, "test")
    target = audiences.create(running_app.engine, "Weg", {"conditions": []}, "test")

    def menu(value: str) -> None:
        running_app.fake.clear()
        running_app.interact(
            block_actions(
                {
                    "type": "overflow",
                    "action_id": "audience_menu",
                    "block_id": f"aud{target.id}",
                    "selected_option": {"value": value},
                },
                response_url=running_app.fake.response_url("g"),
            )
        )

    genuine = sealed(f"delete:{target.id}", purpose="audience_menu")
    for case, value in forgeries(genuine, f"delete:{keep.id}", "audience_menu").items():
        menu(value)
        assert _answer(running_app)["text"] == STALE, case
        running_app.settle()
        assert not running_app.fake.of("views.open"), case
    menu(genuine)
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    meta = view["private_metadata"]
    plain = json.loads(meta.rpartition("~")[0])
    forged = {
        "changed id": swap(meta, json.dumps({**plain, "id": keep.id}, separators=(",", ":"))),
        "other workspace": sealed_metadata(plain, "T999", purpose=view["callback_id"]),
        "unsealed": json.dumps(plain),
    }
    for case, metadata in forged.items():
        answer = running_app.interact(view_submission({**view, "private_metadata": metadata})).json()
        assert answer["response_action"] == "update", case
    with Session(running_app.engine) as s:
        assert s.scalar(select(func.count()).select_from(Audience)) == 2
    running_app.fake.clear()
    assert running_app.interact(view_submission(view)).status_code == 200
    running_app.fake.wait_for("response_url")
    with Session(running_app.engine) as s:
        assert s.get(Audience, keep.id) is not None and s.get(Audience, target.id) is None


def test_ticket_close(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    mine = add_ticket(running_app.engine, cid, ["Hallo"])
    other_cid = add_contact(running_app.engine, "+4917022222222", "Erika")
    theirs = add_ticket(running_app.engine, other_cid, ["Servus"])
    _overflow(running_app, cid, sealed(f"ticket:{cid}", purpose="contact_menu"))
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    button = next(e for b in view["blocks"] for e in b.get("elements", []) if e.get("action_id") == "ticket_close")
    assert button["value"] == sealed(str(mine), purpose="ticket_close")

    def click(value: str, metadata: str) -> dict[str, Any]:
        running_app.fake.clear()
        action = {
            "type": "button",
            "action_id": "ticket_close",
            "block_id": "ticket_actions",
            "value": value,
            "action_ts": str(time.time()),
        }
        payload = block_actions(action, container={"type": "view", "view_id": "V1"})
        payload["view"] = {
            **view,
            "private_metadata": metadata,
            "id": "V1",
            "team_id": "T111",
            "state": {"values": {}},
            "hash": "1.abc",
        }
        payload.pop("response_url")
        running_app.interact(payload)
        return running_app.fake.wait_for("views.update")[0].body["view"]

    meta = view["private_metadata"]
    for case, value in forgeries(button["value"], str(theirs), "ticket_close").items():
        assert STALE in json.dumps(click(value, meta), ensure_ascii=False), case
    assert STALE in json.dumps(
        click(button["value"], sealed_metadata({"cid": cid}, "T999", purpose=view["callback_id"])), ensure_ascii=False
    )
    with Session(running_app.engine) as s:
        assert {s.get(Ticket, mine).status, s.get(Ticket, theirs).status} == {"open"}
    assert "geschlossen" in json.dumps(click(button["value"], meta), ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert (s.get(Ticket, mine).status, s.get(Ticket, theirs).status) == ("closed", "open")


def _foreign(payload: dict[str, Any]) -> dict[str, Any]:
    payload = json.loads(json.dumps(payload))
    payload["team"] = {"id": "T999", "domain": "evil"}
    payload["user"]["team_id"] = "T999"
    return payload


def test_requests_from_another_workspace_are_refused(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    foreign = Sealer.of(running_app.settings, "T999").seal(f"block:{cid}", "contact_menu")
    action = {
        "type": "overflow",
        "action_id": "contact_menu",
        "block_id": f"row{cid}|l|d|a||||0|",
        "selected_option": {"value": foreign},
        "action_ts": str(time.time()),
    }
    response = running_app.interact(_foreign(block_actions(action, response_url=running_app.fake.response_url("x"))))
    assert response.status_code == 200
    from urllib.parse import urlencode

    form = {
        "token": "legacy",
        "team_id": "T999",
        "team_domain": "evil",
        "channel_id": "C111",
        "user_id": ADMIN,
        "command": "/contacts",
        "text": "",
        "api_app_id": "A111",
        "response_url": running_app.fake.response_url("cmd"),
        "trigger_id": "1.2.3",
    }
    answer = running_app.post(urlencode(form), "application/x-www-form-urlencoded")
    assert answer.json()["text"] == t("auth.other_workspace")
    running_app.settle()
    assert not running_app.fake.of("response_url")  # no listener ran: no list, no change
    with Session(running_app.engine) as s:
        assert not s.get(Contact, cid).blocked
    assert _audit_count(running_app) == 0
