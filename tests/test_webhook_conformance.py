"""Meta's own webhook examples, pywa's captured bodies and the signature test vector (from ../shared)
through the real HTTP route; each test skips cleanly on a fresh clone without ../shared."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import insert, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.inbound import KINDS
from bot.web.webhooks import signature, signature_problem
from storage.models import Contact, Message, Ticket
from tests.conftest import RunningApp, shared_path
from tests.factories import add_contact
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import contact, count, messages, post_meta, tickets, webhook_settings

EXAMPLES = ("conformance", "whatsapp", "meta-openapi-examples")
PYWA = ("conformance", "whatsapp", "pywa-fixtures")
SHEENA = "+16505551234"
# file -> (kind, text the ticket shows, contact opted out?); None: a change without customer messages
EXPECTED: dict[str, tuple[str, str | None, bool] | None] = {
    "webhook_button_message.json": ("button", "Unsubscribe", True),  # the quick reply is the keyword
    "webhook_contact_sharing_message.json": ("contacts", "Lucía Gómez (+1 (983) 555-2319)", False),
    "webhook_group_create_message.json": None,
    "webhook_group_remove_participants.json": None,
    "webhook_group_settings_update.json": None,
    "webhook_image_message.json": ("image", "Taj Mahal", False),
    "webhook_interactive_button_reply_message.json": ("interactive", "Cancel", False),
    "webhook_interactive_list_reply_message.json": ("interactive", "Priority Mail Express (Next Day to 2 Days)", False),
    "webhook_location_message.json": ("location", "Philz Coffee, 101 Forest Ave, Palo Alto, CA 94301", False),
    "webhook_order_message.json": ("order", "di9ozbzfi4 ×2, nqryix03ez ×1", False),
    "webhook_reaction_message.json": ("reaction", "👍", False),
    "webhook_system_message.json": ("system", "User Sheena Nelson changed from 16505551234 to 12195555358", False),
    "webhook_text_message.json": ("text", "Does it come in another color?", False),
    "webhook_text_message_from_click_to_whatsapp_ad.json": ("text", "Hello! Can I get more info on this?", False),
    "webhook_text_message_with_context_product_inquiry.json": ("text", "Is this still available?", False),
    "webhook_unsupported_message.json": ("unsupported", None, False),
}

MOVED = {"webhook_system_message.json": "+12195555358"}


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return webhook_settings(db_url, fake_slack)


def test_signature_matches_the_shared_test_vector() -> None:
    folder = shared_path("conformance", "whatsapp", "signature-test-vector")
    vector = json.loads((folder / "vector.json").read_text())
    body = (folder / vector["body_file"]).read_bytes()
    secret, expected = vector["app_secret"], vector["expected_header_X-Hub-Signature-256"]
    assert signature(secret, body) == expected
    assert signature_problem(secret, body, expected) is None
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    assert signature(secret, reserialised) == vector["negative_case_digest_if_reserialised_indent2"]
    assert signature_problem(secret, reserialised, expected) == 403


def test_every_example_file_is_expected() -> None:
    folder = shared_path(*EXAMPLES)
    assert sorted(p.name for p in folder.glob("webhook_*.json")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_meta_example_gives_the_expected_rows(running_app: RunningApp, name: str) -> None:
    body = shared_path(*EXAMPLES, name).read_bytes()
    assert post_meta(running_app, body).status_code == 200
    assert post_meta(running_app, body).status_code == 200  # redelivered: nothing doubles
    expected = EXPECTED[name]
    if expected is None:
        assert count(running_app.engine, Contact) == count(running_app.engine, Message) == 0
        return
    kind, text, opted_out = expected
    moved = MOVED.get(name)  # user_changed_number: the contact now has the new number (issue 14)
    assert moved is None or contact(running_app.engine, SHEENA) is None
    sheena = contact(running_app.engine, moved or SHEENA)
    assert sheena is not None and sheena.messenger == "whatsapp"
    payload = json.loads(body)["entry"][0]["changes"][0]["value"]
    raw = payload["messages"][0]
    assert sheena.name == ("Sheena Nelson" if "contacts" in payload else None)
    assert sheena.first_contact_at == sheena.last_chat_at == datetime.fromtimestamp(int(raw["timestamp"]), UTC)
    assert (sheena.active, sheena.opted_out_at is not None) == (not opted_out, opted_out)
    [ticket] = tickets(running_app.engine, sheena.id)
    [message] = messages(running_app.engine)
    assert (ticket.status, ticket.message_count) == ("open", 1)
    assert (message.ticket_id, message.kind, message.text, message.wa_message_id) == (ticket.id, kind, text, raw["id"])


def _cases(name: str) -> dict[str, Any]:
    return json.loads(shared_path(*PYWA, name).read_text())


def test_pywa_message_bodies_all_become_messages(running_app: RunningApp) -> None:
    files = ("message.json", "callback_button.json", "callback_selection.json", "flow_completion.json", "system.json")
    expected: dict[str, str] = {}
    for name in files:
        for case, body in _cases(name).items():
            value = body["entry"][0]["changes"][0]["value"]
            for i, raw in enumerate(value.get("messages", [])):  # unique ids per case, then signed as sent
                raw["id"] = f"pywa.{name}.{case}.{i}"
                expected[raw["id"]] = raw["type"] if raw["type"] in KINDS else "unsupported"
            assert post_meta(running_app, json.dumps(body).encode()).status_code == 200, (name, case)
    stored = {m.wa_message_id: m.kind for m in messages(running_app.engine)}
    assert stored == expected
    # system.json's user_changed_number moved the person (with the name) to the new number; its next
    # case writes from the old number again, which is now someone new to us (issue 14).
    person = contact(running_app.engine, "+972912345678")
    assert person is not None and person.name == "Test Name"
    newcomer = contact(running_app.engine, "+972987654321")
    assert newcomer is not None and newcomer.id != person.id
    assert count(running_app.engine, Ticket) == 2


def test_pywa_bodies_we_do_not_use_are_acknowledged(running_app: RunningApp) -> None:
    for name in (
        "account_update.json",
        "outgoing_message.json",
        "template_category_update.json",
        "template_quality_update.json",
        "template_status_update.json",
        "user_marketing_preferences.json",
    ):
        for case, body in _cases(name).items():
            assert post_meta(running_app, json.dumps(body).encode()).status_code == 200, (name, case)
    assert count(running_app.engine, Contact) == count(running_app.engine, Message) == 0


def test_pywa_statuses_move_the_outgoing_message_to_its_final_state(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+972987654321", "Test Name")
    with running_app.engine.begin() as conn:
        conn.execute(
            insert(Message.__table__),
            {  # type: ignore[attr-defined]
                "contact_id": cid,
                "direction": "out",
                "kind": "text",
                "text": "Hi",
                "wa_message_id": "wamid.xyzxyz",
                "sent_at": datetime(2023, 7, 1, tzinfo=UTC),
            },
        )
    seen = []
    for case, body in _cases("message_status.json").items():
        assert post_meta(running_app, json.dumps(body).encode()).status_code == 200, case
        with Session(running_app.engine) as s:
            seen.append((case, s.scalars(select(Message.status)).one()))
    assert seen == [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("played", "read"),
        ("failed", "failed"),
        ("with_tracker", "failed"),
        ("group", "failed"),
    ]
    with Session(running_app.engine) as s:
        message = s.scalars(select(Message)).one()
    assert (message.error_code, message.error_title) == (130472, "User's number is part of an experiment")
