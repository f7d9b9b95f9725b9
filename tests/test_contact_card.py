"""The contact card: `/contacts <number or exact name>`, its buttons, and the "Look up contact" shortcut."""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import insert
from sqlmodel import Session

from storage.models import Attribute, Contact, ContactAttribute, utcnow
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, USER, RunningApp, block_actions
from tests.factories import add_contact, add_ticket


def _answer(app: RunningApp, text: str, user: str = ADMIN) -> dict[str, Any]:
    app.fake.clear()
    assert app.command(text, user=user).status_code == 200
    body = app.fake.wait_for("response_url")[0].body
    check_blocks(body["blocks"])
    return body


def _card_ids(message: dict[str, Any]) -> list[str]:
    return [b["block_id"].split("|")[1] for b in message["blocks"] if b.get("block_id", "").endswith("|head")]


def _text(message: dict[str, Any]) -> str:
    return json.dumps(message["blocks"], ensure_ascii=False)


def _max(app: RunningApp) -> int:
    cid = add_contact(
        app.engine,
        "+4917012345678",
        "Max <Mustermann>",
        consent_at=utcnow(),
        consent_source="import kunden.csv",
        consent_by="slack:UADMIN01",
    )
    with app.engine.begin() as conn:
        table = Attribute.__table__  # type: ignore[attr-defined]
        aid = conn.execute(
            insert(table).returning(table.c.id),
            {"key": "city", "label_de": "Stadt", "label_en": "City", "type": "text", "created_at": utcnow()},
        ).scalar_one()
        conn.execute(
            insert(ContactAttribute.__table__),
            {
                "contact_id": cid,
                "attribute_id": aid,  # type: ignore[attr-defined]
                "value": "Köln & <Umland>",
            },
        )
    add_ticket(app.engine, cid, ["Hallo", "Wie geht's?", "Paket <b>fehlt</b>"])
    return cid


def test_full_number_shows_the_card_with_every_field(running_app: RunningApp) -> None:
    cid = _max(running_app)
    add_contact(running_app.engine, "+4915111111111", "Jemand Anders")
    for query in ("+49 170 12345678", "0170 1234 5678", "+4917012345678", "max <mustermann>"):
        message = _answer(running_app, query)
        assert _card_ids(message) == [str(cid)], query
    text = _text(message)
    assert "Max &lt;Mustermann&gt;" in text and "+49 170 12345678" in text
    assert "Stadt" in text and "Köln &amp; &lt;Umland&gt;" in text
    assert "Quelle: import kunden.csv" in text and "bestätigt von <@UADMIN01>" in text
    assert "3 Nachrichten" in text and "Paket &lt;b&gt;fehlt&lt;/b&gt;" in text
    buttons = next(b for b in message["blocks"] if b.get("block_id") == f"card|{cid}|buttons")["elements"]
    assert [b["action_id"] for b in buttons] == ["card_block", "card_deactivate", "card_delete", "card_ticket"]


def test_partial_or_ambiguous_input_stays_a_list_search(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917012345678", "Max Mustermann")
    add_contact(running_app.engine, "+4917012345678", "Max Telegram", messenger="telegram")
    add_contact(running_app.engine, "+4917099999999", "Erika Mustermann")
    for query in ("Mustermann", "+49 170 12345678", "0170 123"):
        message = _answer(running_app, query)
        assert not _card_ids(message), query
        assert any(b.get("block_id", "").startswith("row") for b in message["blocks"]), query


def _press(app: RunningApp, message: dict[str, Any], action_id: str, user: str = ADMIN) -> None:
    block = next(b for b in message["blocks"] if b.get("block_id", "").endswith("|buttons"))
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": block["block_id"],
        "value": element["value"],
        "action_ts": str(time.time()),
    }
    app.fake.clear()
    response = app.interact(block_actions(action, user=user, response_url=app.fake.response_url("card")))
    assert response.status_code == 200


def test_block_button_blocks_and_redraws_the_card(running_app: RunningApp) -> None:
    cid = _max(running_app)
    card = _answer(running_app, "+4917012345678")
    _press(running_app, card, "card_block")
    redrawn = running_app.fake.wait_for("response_url")[0].body
    check_blocks(redrawn["blocks"])
    assert redrawn["replace_original"] is True and _card_ids(redrawn) == [str(cid)]
    assert "ist jetzt blockiert" in _text(redrawn) and "Blockierung aufheben" in _text(redrawn)
    with Session(running_app.engine) as session:
        assert session.get(Contact, cid).blocked is True  # type: ignore[union-attr]


def test_non_admin_cannot_change_from_the_card(running_app: RunningApp) -> None:
    cid = _max(running_app)
    card = _answer(running_app, "+4917012345678", user=USER)
    _press(running_app, card, "card_deactivate", user=USER)
    refusal = running_app.fake.wait_for("response_url")[0].body
    assert "CONTACTBOT_ADMINS" in refusal["text"]
    with Session(running_app.engine) as session:
        assert session.get(Contact, cid).active is True  # type: ignore[union-attr]


def test_delete_and_details_buttons_open_the_shared_modals(running_app: RunningApp) -> None:
    cid = _max(running_app)
    card = _answer(running_app, "+4917012345678")
    _press(running_app, card, "card_ticket")
    ticket = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(ticket)
    assert "Paket &lt;b&gt;fehlt&lt;/b&gt;" in json.dumps(ticket, ensure_ascii=False)
    _press(running_app, card, "card_delete")
    confirm = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(confirm)
    assert (
        confirm["callback_id"] == "contact_delete"
        and json.loads(confirm["private_metadata"].rpartition("~")[0])["cid"] == cid
    )


def _lookup(app: RunningApp, text: str, user: str = ADMIN) -> dict[str, Any]:
    payload = {
        "type": "message_action",
        "callback_id": "lookup_contact",
        "trigger_id": "555.666.ghi",
        "user": {"id": user, "username": user.lower(), "team_id": "T111"},
        "team": {"id": "T111", "domain": "acme"},
        "channel": {"id": "C111", "name": "support"},
        "message_ts": "1700000000.000200",
        "message": {"type": "message", "user": "UOTHER1", "ts": "1700000000.000200", "text": text},
        "response_url": app.fake.response_url("lookup"),
        "token": "legacy",
    }
    app.fake.clear()
    assert app.interact(payload).status_code == 200
    return app.fake.wait_for("response_url")[0].body


def test_message_shortcut_shows_cards_for_numbers_in_the_message(running_app: RunningApp) -> None:
    cid = _max(running_app)
    answer = _lookup(running_app, "Kunde ruft an: 0170 12345678, Rückruf auch an +49 151 99999999 möglich")
    assert answer["response_type"] == "ephemeral" and answer.get("replace_original") is False
    check_blocks(answer["blocks"])
    assert _card_ids(answer) == [str(cid)]
    assert "Zu +49 1519 9999999 gibt es keinen Kontakt" in _text(answer)
    by_wa_id = _lookup(running_app, "Neue Nachricht von wa_id 4917012345678")  # as WhatsApp writes it
    assert _card_ids(by_wa_id) == [str(cid)]


def test_message_shortcut_without_a_number_explains_what_to_do(running_app: RunningApp) -> None:
    running_app.fake.locales[ADMIN] = "en-US"
    answer = _lookup(running_app, "no number in here, just a date 2026-01-01")
    assert "I find no phone number" in answer["text"]


def test_confirmed_delete_from_the_card_erases_and_says_so(running_app: RunningApp) -> None:
    cid = _max(running_app)
    card = _answer(running_app, "+4917012345678")
    _press(running_app, card, "card_delete")
    confirm = running_app.fake.wait_for("views.open")[0].body["view"]
    running_app.fake.clear()
    submission = {
        "type": "view_submission",
        "user": {"id": ADMIN, "username": "admin", "team_id": "T111"},
        "team": {"id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "view": {**confirm, "id": "V1", "state": {"values": {}}},
    }
    assert running_app.interact(submission).status_code == 200
    answer = running_app.fake.wait_for("response_url")[0].body
    check_blocks(answer["blocks"])
    assert answer["replace_original"] is True and "endgültig gelöscht" in _text(answer)
    assert not _card_ids(answer)
    with Session(running_app.engine) as session:
        assert session.get(Contact, cid) is None


def test_command_text_is_searched_as_typed_not_as_slack_escaped_it(running_app: RunningApp) -> None:
    """Issue 16 item 10: `/contacts Müller & Co` arrives as `Müller &amp; Co`; the search must see `&`."""
    cid = add_contact(running_app.engine, "+4917012345670", "Müller & Co <Köln>")
    message = _answer(running_app, "Müller & Co <Köln>")
    assert "Müller &amp; Co &lt;Köln&gt;" in _text(message), cid  # found (card or list), shown escaped
