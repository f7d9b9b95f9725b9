"""Clicks on the list message, through the real server with signed requests: sort, filter, page, menu."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import AuditEntry, Contact, Message, Ticket
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, USER, RunningApp, block_actions, menu_value
from tests.factories import add_contact, add_many, add_ticket


def _open_list(app: RunningApp, text: str = "", user: str = ADMIN) -> dict[str, Any]:
    app.fake.clear()
    app.command(text, user=user)
    return app.fake.wait_for("response_url")[0].body


def _block(message: dict[str, Any], prefix: str) -> dict[str, Any]:
    return next(b for b in message["blocks"] if b.get("block_id", "").startswith(prefix))


def _rows(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b.get("block_id", "").startswith("row")]


def _click(
    app: RunningApp, message: dict[str, Any], block_prefix: str, action_id: str, user: str = ADMIN, **extra: Any
) -> dict[str, Any]:
    block = _block(message, block_prefix)
    element = next((e for e in block.get("elements", []) if e["action_id"] == action_id), None)
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block["block_id"],
        "value": (element or {}).get("value", ""),
        "action_ts": str(time.time()),
        **extra,
    }
    app.fake.clear()
    response = app.interact(block_actions(action, user=user, response_url=app.fake.response_url("list")))
    assert response.status_code == 200
    return app.fake.wait_for("response_url")[0].body


def _menu(app: RunningApp, message: dict[str, Any], contact_id: int, choice: str, user: str = ADMIN) -> None:
    block = _block(message, f"row{contact_id}|")
    option = next(o for o in block["accessory"]["options"] if o["value"] == menu_value(choice, contact_id))
    action = {
        "type": "overflow",
        "action_id": "contact_menu",
        "block_id": block["block_id"],
        "selected_option": option,
        "action_ts": str(time.time()),
    }
    app.fake.clear()
    response = app.interact(block_actions(action, user=user, response_url=app.fake.response_url("list")))
    assert response.status_code == 200


def test_sort_buttons_sort_and_flip_direction(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Bertha")
    add_contact(running_app.engine, "+4917022222222", "anton")
    add_contact(running_app.engine, "+4917033333333", "Ärger Ärna")
    add_contact(running_app.engine, "+4917044444444", None)
    message = _open_list(running_app)
    by_name = _click(running_app, message, "sort|", "list_sort_name")
    check_blocks(by_name["blocks"])
    assert by_name["replace_original"] is True
    names = [r.split("*")[1] if r.startswith("*") else "(none)" for r in _rows(by_name)]
    assert names == ["anton", "Ärger Ärna", "Bertha", "(none)"]  # DIN 5007: Ä with A, case-insensitive, no name last
    assert "Name ▲" in json.dumps(_block(by_name, "sort|"), ensure_ascii=False)
    flipped = _click(running_app, by_name, "sort|", "list_sort_name")
    names = [r.split("*")[1] if r.startswith("*") else "(none)" for r in _rows(flipped)]
    assert names == ["Bertha", "Ärger Ärna", "anton", "(none)"]
    assert "sortiert nach Name ▼" in flipped["blocks"][0]["text"]["text"]


def test_paging_forward_and_back_updates_in_place(running_app: RunningApp) -> None:
    add_many(running_app.engine, 45)
    first = _open_list(running_app)
    assert len(_rows(first)) == 20
    assert "1–20 von 45" in first["blocks"][0]["text"]["text"]
    second = _click(running_app, first, "nav|", "list_next")
    assert "21–40 von 45" in second["blocks"][0]["text"]["text"]
    third = _click(running_app, second, "nav|", "list_next")
    assert "41–45 von 45" in third["blocks"][0]["text"]["text"]
    assert len(_rows(third)) == 5
    assert all(e["action_id"] != "list_next" for e in _block(third, "nav|")["elements"])
    back = _click(running_app, third, "nav|", "list_prev")
    assert _rows(back) == _rows(second)
    assert "21–40 von 45" in back["blocks"][0]["text"]["text"]
    seen = _rows(first) + _rows(second) + _rows(third)
    assert len(set(seen)) == 45


def test_status_and_messenger_filters(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Aktiv Anna")
    add_contact(running_app.engine, "+4917022222222", "Inaktiv Ingo", active=False)
    add_contact(running_app.engine, "+4917033333333", "Blockiert Bernd", blocked=True)
    add_contact(running_app.engine, "+4917044444444", "Telegram Tina", messenger="telegram")
    message = _open_list(running_app)
    assert len(_rows(message)) == 3
    inactive = _click(
        running_app,
        message,
        "ctl|",
        "list_status",
        selected_option={"value": "inactive", "text": {"type": "plain_text", "text": "inaktiv"}},
    )
    assert [r for r in _rows(inactive) if "Ingo" in r] and len(_rows(inactive)) == 1
    blocked = _click(
        running_app,
        inactive,
        "ctl|",
        "list_status",
        selected_option={"value": "blocked", "text": {"type": "plain_text", "text": "blockiert"}},
    )
    assert len(_rows(blocked)) == 1 and "Bernd" in _rows(blocked)[0]
    everyone = _click(
        running_app,
        blocked,
        "ctl|",
        "list_status",
        selected_option={"value": "all", "text": {"type": "plain_text", "text": "alle"}},
    )
    assert len(_rows(everyone)) == 4
    telegram = _click(
        running_app,
        everyone,
        "ctl|",
        "list_messenger",
        selected_option={"value": "telegram", "text": {"type": "plain_text", "text": "Telegram"}},
    )
    assert len(_rows(telegram)) == 1 and "Tina" in _rows(telegram)[0]
    cleared = _click(running_app, telegram, "ctl|", "list_clear")
    assert len(_rows(cleared)) == 3  # back to the default: active contacts


def test_search_by_name_and_number_forms(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917012345678", "Jürgen Müller")
    add_contact(running_app.engine, "+4915198765432", "Anna Schmidt")
    for query in ("müller", "MÜLL", "0170 1234", "+49170123", "4917012345678", "12345"):
        rows = _rows(_open_list(running_app, query))
        assert len(rows) == 1 and "Jürgen Müller" in rows[0], query
    header = _open_list(running_app, "schmidt")["blocks"][0]["text"]["text"]
    assert "Suche: „schmidt“" in header
    assert "Keine Kontakte gefunden" in json.dumps(_open_list(running_app, "niemand"), ensure_ascii=False)


def test_block_by_admin_changes_the_contact_and_is_audited(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max Mustermann")
    message = _open_list(running_app)
    _menu(running_app, message, cid, "block")
    updated = running_app.fake.wait_for("response_url")[0].body
    assert updated["replace_original"] is True
    assert "Max Mustermann" in updated["blocks"][0]["elements"][0]["text"]
    assert "blockiert" in updated["blocks"][0]["elements"][0]["text"]
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid).blocked is True
        entry = s.scalars(select(AuditEntry)).one()
    assert (entry.actor, entry.action, entry.object_id) == (f"slack:{ADMIN}", "contact.block", str(cid))
    row = _block(updated, f"row{cid}|")
    assert any(o["value"] == menu_value("unblock", cid) for o in row["accessory"]["options"])


def test_non_admin_is_refused_and_nothing_changes(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max Mustermann")
    message = _open_list(running_app, user=USER)
    for choice in ("block", "deactivate", "delete"):
        _menu(running_app, message, cid, choice, user=USER)
        refusal = running_app.fake.wait_for("response_url")[0].body
        assert refusal["replace_original"] is False
        assert "CONTACTBOT_ADMINS" in refusal["text"]
    running_app.settle()
    assert not running_app.fake.of("views.open")
    with Session(running_app.engine) as s:
        contact = s.get(Contact, cid)
        assert (contact.blocked, contact.active) == (False, True)
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 0


def test_delete_asks_naming_the_contact_then_erases_everything(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Erika Musterfrau")
    other = add_contact(running_app.engine, "+4917022222222", "Bleibt Hier")
    add_ticket(running_app.engine, cid, ["Hallo", "Hi!", "Danke"])
    add_ticket(running_app.engine, other, ["Servus"])
    message = _open_list(running_app)
    _menu(running_app, message, cid, "delete")
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    assert "Erika Musterfrau" in view["blocks"][0]["text"]["text"]
    assert "+49 170 11111111" in view["blocks"][0]["text"]["text"]
    running_app.fake.clear()
    submission = {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "acme"},
        "user": {"id": ADMIN, "username": "admin", "name": "admin", "team_id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "trigger_id": "555.666.ghi",
        "view": {
            **view,
            "id": "V1",
            "team_id": "T111",
            "state": {"values": {}},
            "hash": "1.abc",
            "app_id": "A111",
            "bot_id": "B111",
        },
        "response_urls": [],
    }
    assert running_app.interact(submission).status_code == 200
    refreshed = running_app.fake.wait_for("response_url")[0].body
    assert "endgültig gelöscht" in refreshed["blocks"][0]["elements"][0]["text"]
    assert "Erika" not in json.dumps(refreshed, ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid) is None
        assert s.scalar(select(func.count()).select_from(Ticket).where(Ticket.contact_id == cid)) == 0
        assert s.scalar(select(func.count()).select_from(Message).where(Message.contact_id == cid)) == 0
        assert s.scalar(select(func.count()).select_from(Message)) == 1  # the other contact's message stays
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "contact.delete")).one()
    stored = json.dumps({"detail": entry.detail, "id": entry.object_id}, ensure_ascii=False)
    assert "Erika" not in stored and "1111111" not in stored
    assert entry.detail["removed"] == {"messages": 3, "tickets": 1}


def test_last_ticket_modal_shows_messages_escaped(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Kim <!channel>")
    add_ticket(running_app.engine, cid, ["Hallo <@U123> & <https://evil.example|klick>", "Antwort"])
    message = _open_list(running_app)
    _menu(running_app, message, cid, "ticket")
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    dumped = json.dumps(view, ensure_ascii=False)
    assert "&lt;!channel&gt;" in dumped and "<!channel>" not in dumped
    assert "&lt;@U123&gt; &amp; &lt;https://evil.example|klick&gt;" in dumped
    assert "offen" in dumped and "<!date^" in dumped


def test_english_locale_gets_english(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.fake.locales[ADMIN] = "en-US"
    message = _open_list(running_app)
    header = message["blocks"][0]["text"]["text"]
    assert "1–1 of 1" in header and "sorted by last chat ▼" in header
    assert "<!date^" in _rows(message)[0]


def test_customer_text_cannot_ping_or_link(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "<!channel> <@U999> <https://x.example|y> *fett* &")
    row = _rows(_open_list(running_app))[0]
    assert "<!channel>" not in row and "<@U999>" not in row and "<https://" not in row
    assert "&lt;!channel&gt; &lt;@U999&gt; &lt;https://x.example|y&gt; *fett* &amp;" in row


def test_bad_or_stale_signature_is_rejected_and_changes_nothing(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    payload = block_actions(
        {
            "type": "overflow",
            "action_id": "contact_menu",
            "block_id": f"row{cid}|l|d|a||||0|",
            "selected_option": {
                "value": menu_value("block", cid),
                "text": {"type": "plain_text", "text": "x"},
            },
        }
    )
    from urllib.parse import urlencode

    from tests.conftest import sign

    body = urlencode({"payload": json.dumps(payload)})
    forged = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, secret="wrong-secret")}
    stale = {"Content-Type": "application/x-www-form-urlencoded", **sign(body, timestamp=int(time.time()) - 600)}
    for headers in (forged, stale, {"Content-Type": "application/x-www-form-urlencoded"}):
        response = running_app.http.post(f"{running_app.url}/slack/events", content=body, headers=headers)
        assert response.status_code == 401
    running_app.settle()
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid).blocked is False
    assert not running_app.fake.of("response_url")
