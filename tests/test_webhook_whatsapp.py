"""The WhatsApp Cloud API webhook through the real HTTP server: signatures, contacts, tickets, statuses."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlmodel import Session

from bot.config.settings import Settings
from storage.models import AuditEntry, Contact, Message, Ticket
from tests.conftest import RunningApp
from tests.factories import add_contact
from tests.fakes.slack_api import FakeSlack
from tests.test_cli import run
from tests.webhooks import (
    BASE_TS,
    VERIFY_TOKEN,
    contact,
    count,
    data,
    messages,
    meta_body,
    post_meta,
    sign,
    text_message,
    tickets,
    webhook_settings,
)

ERIKA = "+4917612345678"
AT_10 = datetime(2026, 1, 1, 10, 0, tzinfo=UTC)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return webhook_settings(db_url, fake_slack)


def _nothing_written(app: RunningApp) -> None:
    assert count(app.engine, Contact) == count(app.engine, Ticket) == count(app.engine, Message) == 0


def test_verification_handshake_answers_the_challenge_only_with_our_token(running_app: RunningApp) -> None:
    url = f"{running_app.url}/whatsapp/webhook"
    ok = running_app.http.get(
        url, params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
    )
    assert (ok.status_code, ok.text) == (200, "1158201444")
    for params in (
        {"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1"},
        {"hub.mode": "unsubscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1"},
        {},
    ):
        assert running_app.http.get(url, params=params).status_code == 403


def test_text_message_creates_contact_ticket_and_message(running_app: RunningApp) -> None:
    response = post_meta(running_app, data("text.json"))
    assert response.status_code == 200
    erika = contact(running_app.engine, ERIKA)
    assert erika is not None and erika.name == "Erika Muster" and erika.messenger == "whatsapp"
    assert erika.first_contact_at == erika.last_chat_at == AT_10
    [ticket] = tickets(running_app.engine, erika.id)
    assert (ticket.status, ticket.message_count, ticket.opened_at, ticket.last_message_at) == ("open", 1, AT_10, AT_10)
    [message] = messages(running_app.engine)
    assert (message.direction, message.kind, message.text) == ("in", "text", "Hallo, ist mein Paket unterwegs?")
    assert (message.ticket_id, message.wa_message_id, message.sent_at) == (ticket.id, "wamid.test.text.1", AT_10)


def test_redelivered_message_is_stored_once(running_app: RunningApp) -> None:
    for _ in range(3):
        assert post_meta(running_app, data("text.json")).status_code == 200
    twice = meta_body(
        [text_message("4917612345678", "wamid.dup", "Doppelt"), text_message("4917612345678", "wamid.dup", "Doppelt")]
    )
    assert post_meta(running_app, twice).status_code == 200
    assert count(running_app.engine, Contact) == 1
    [ticket] = tickets(running_app.engine, contact(running_app.engine, ERIKA).id)
    assert ticket.message_count == 2 and count(running_app.engine, Message) == 2


def test_every_kind_lands_in_the_same_ticket_with_a_description(running_app: RunningApp) -> None:
    for name in ("text.json", "image.json", "location.json", "unsupported.json", "system.json"):
        assert post_meta(running_app, data(name)).status_code == 200
    assert contact(running_app.engine, ERIKA) is None  # system.json: user_changed_number moved her (issue 14)
    erika = contact(running_app.engine, "+4917699999999")
    [ticket] = tickets(running_app.engine, erika.id)
    got = [(m.kind, m.text) for m in messages(running_app.engine)]
    assert got == [
        ("text", "Hallo, ist mein Paket unterwegs?"),
        ("image", "Der Karton ist nass"),
        ("location", "Packstation 101, Alexanderplatz 1, Berlin"),
        ("unsupported", None),
        ("unsupported", None),  # a type WhatsApp may add later is kept, not dropped
        ("system", "Nutzer hat die Nummer gewechselt"),
    ]
    assert ticket.message_count == 6
    assert erika.last_chat_at == datetime.fromtimestamp(1767262000, UTC)


def test_known_contact_keeps_its_name_and_last_chat_never_moves_back(running_app: RunningApp) -> None:
    later = datetime(2026, 3, 1, tzinfo=UTC)
    nameless = add_contact(running_app.engine, "+4917611111111", None, last_chat_at=later)
    named = add_contact(running_app.engine, "+4917622222222", "Frau Müller", last_chat_at=later)
    body = meta_body(
        [text_message("4917611111111", "wamid.a", "alt"), text_message("4917622222222", "wamid.b", "x")],
        names={"4917611111111": "Neu Name", "4917622222222": "Profilname"},
    )
    assert post_meta(running_app, body).status_code == 200
    with Session(running_app.engine) as s:
        first, second = s.get(Contact, nameless), s.get(Contact, named)
    assert first.name == "Neu Name" and first.last_chat_at == later
    assert second.name == "Frau Müller" and second.last_chat_at == later
    newer = meta_body([text_message("4917611111111", "wamid.c", "neu", ts=int(later.timestamp()) + 60)])
    assert post_meta(running_app, newer).status_code == 200
    assert contact(running_app.engine, "+4917611111111").last_chat_at == datetime.fromtimestamp(
        later.timestamp() + 60, UTC
    )


def test_out_of_order_message_does_not_move_last_chat_back(running_app: RunningApp) -> None:
    for wamid, text_, ts in (("wamid.2", "zwei", BASE_TS + 60), ("wamid.1", "eins", BASE_TS)):  # newer one first
        assert post_meta(running_app, meta_body([text_message("4917612345678", wamid, text_, ts)])).status_code == 200
    erika = contact(running_app.engine, ERIKA)
    assert erika.last_chat_at == datetime.fromtimestamp(BASE_TS + 60, UTC)
    assert erika.first_contact_at == datetime.fromtimestamp(BASE_TS + 60, UTC)  # first seen, as created
    [ticket] = tickets(running_app.engine, erika.id)
    assert ticket.last_message_at == datetime.fromtimestamp(BASE_TS + 60, UTC) and ticket.message_count == 2
    assert [m.text for m in messages(running_app.engine)] == ["eins", "zwei"]  # reading order by time


def test_closed_ticket_means_the_next_message_opens_a_new_one(running_app: RunningApp) -> None:
    post_meta(running_app, data("text.json"))
    [first] = tickets(running_app.engine, contact(running_app.engine, ERIKA).id)
    result = run(running_app.settings.database_url, "tickets", "close", str(first.id), env={"CONTACTBOT_LANG": "de"})
    assert result.returncode == 0, result.stderr
    assert f"Ticket {first.id} geschlossen" in result.stdout
    again = run(running_app.settings.database_url, "tickets", "close", str(first.id), env={"CONTACTBOT_LANG": "en"})
    assert again.returncode == 0 and "already closed" in again.stdout
    missing = run(running_app.settings.database_url, "tickets", "close", "999999")
    assert missing.returncode == 1 and "999999" in missing.stderr
    post_meta(running_app, data("image.json"))
    old, new = tickets(running_app.engine, contact(running_app.engine, ERIKA).id)
    assert (old.status, old.message_count) == ("closed", 1) and old.closed_at is not None
    assert (new.status, new.message_count) == ("open", 1)
    with Session(running_app.engine) as s:
        assert [e.action for e in s.scalars(select(AuditEntry))] == ["ticket.close"]


def test_blocked_contact_writes_into_the_void_but_we_note_it(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika", blocked=True)
    for _ in range(2):  # the redelivery counts once
        assert post_meta(running_app, data("text.json")).status_code == 200
    assert post_meta(running_app, data("image.json")).status_code == 200
    with Session(running_app.engine) as s:
        erika = s.get(Contact, cid)
    assert erika.blocked_messages == 2 and erika.blocked_last_at == datetime.fromtimestamp(1767261700, UTC)
    assert erika.last_chat_at != erika.blocked_last_at
    assert tickets(running_app.engine, cid) == []
    assert all(m.ticket_id is None and m.text is None for m in messages(running_app.engine))


def test_deactivated_contact_still_opens_a_ticket(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika", active=False)
    post_meta(running_app, data("text.json"))
    [ticket] = tickets(running_app.engine, cid)
    assert ticket.status == "open" and ticket.message_count == 1


@pytest.mark.parametrize(
    "said, opted_out",
    [(" Stopp! ", True), ("abmelden", True), ("UNSUBSCRIBE", True), ("Bitte nicht stoppen", False), ("stop it", False)],
)
def test_opt_out_keyword_deactivates_and_records_withdrawal(
    running_app: RunningApp, said: str, opted_out: bool
) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika", consent_at=datetime(2025, 1, 1, tzinfo=UTC))
    post_meta(running_app, meta_body([text_message("4917612345678", "wamid.optout", said)]))
    with Session(running_app.engine) as s:
        erika = s.get(Contact, cid)
        audit = [(e.action, e.object_id) for e in s.scalars(select(AuditEntry))]
    if opted_out:
        assert erika.active is False and erika.opted_out_at == AT_10
        assert audit == [("contact.opt_out", str(cid))]
    else:
        assert erika.active is True and erika.opted_out_at is None and audit == []
    assert tickets(running_app.engine, cid)[0].message_count == 1  # agents still see what was said


def test_statuses_move_outgoing_messages_forward_only(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika")
    with running_app.engine.begin() as conn:
        conn.execute(
            insert(Message.__table__),
            [  # type: ignore[attr-defined]
                {
                    "contact_id": cid,
                    "direction": "out",
                    "kind": "text",
                    "text": "Ihr Paket kommt",
                    "wa_message_id": f"wamid.test.out.{i}",
                    "sent_at": AT_10,
                }
                for i in (1, 2)
            ],
        )
    assert post_meta(running_app, data("statuses.json")).status_code == 200
    late = meta_body(
        statuses=[
            {
                "id": "wamid.test.out.1",
                "status": "delivered",
                "timestamp": "1767262300",
                "recipient_id": "4917612345678",
            },
            {"id": "wamid.test.out.2", "status": "read", "timestamp": "1767262300", "recipient_id": "4917612345678"},
            {"id": "wamid.unknown", "status": "read", "timestamp": "1767262300", "recipient_id": "4917612345678"},
        ]
    )
    for _ in range(2):
        assert post_meta(running_app, late).status_code == 200
    with Session(running_app.engine) as s:
        got = {
            m.wa_message_id: (m.status, m.status_at, m.error_code, m.error_title) for m in s.scalars(select(Message))
        }
    assert got == {
        "wamid.test.out.1": ("read", datetime.fromtimestamp(1767262200, UTC), None, None),
        "wamid.test.out.2": ("failed", datetime.fromtimestamp(1767262150, UTC), 131026, "Message undeliverable"),
    }
    assert count(running_app.engine, Contact) == 1  # a status never creates a contact


def test_bad_or_missing_signature_is_refused_and_writes_nothing(running_app: RunningApp) -> None:
    body = data("text.json")
    assert post_meta(running_app, body, signature=None).status_code == 401
    assert post_meta(running_app, body, signature="sha256=" + "0" * 64).status_code == 403
    assert post_meta(running_app, body, signature="sha1=abc").status_code == 403
    assert post_meta(running_app, body, signature="sha256=ÄÖÜ".encode()).status_code == 403
    reserialised = json.dumps(json.loads(body), indent=2).encode()
    assert post_meta(running_app, reserialised, signature=sign(body)).status_code == 403
    _nothing_written(running_app)


def test_malformed_json_is_a_client_error_and_odd_shapes_are_skipped(running_app: RunningApp) -> None:
    for raw in (b"", b"{", b"\xff\xfe not utf-8", b"[" * 100_000):
        assert post_meta(running_app, raw).status_code == 400
    odd = [
        [],
        {"object": "page"},
        {"object": "whatsapp_business_account", "entry": "x"},
        {"object": "whatsapp_business_account", "entry": [{"changes": [{"value": "x"}, 3]}, None]},
    ]
    for body in odd:
        assert post_meta(running_app, json.dumps(body).encode()).status_code == 200
    _nothing_written(running_app)
    broken = meta_body(
        [
            {"id": "wamid.nofrom", "type": "text", "text": {"body": "x"}, "timestamp": "1767261600"},
            {"from": "not-a-number", "id": "wamid.badfrom", "type": "text", "timestamp": "1767261600"},
            {"from": "4917612345678", "id": "wamid.badtime", "type": "text", "timestamp": "bald"},
            {"from": "4917612345678", "type": "text", "timestamp": "1767261600"},
            {"from": "4917612345678", "id": "x" * 500, "type": "text", "timestamp": "1767261600"},
            {
                "from": "4917612345678",
                "id": "wamid.weird",
                "type": "text",
                "text": "kein Objekt",
                "timestamp": 1767261600,
            },
            text_message("4917612345678", "wamid.good", "Das hier\u0000 kommt an"),
        ],
        statuses=[{"status": "read"}, {"id": "wamid.x", "status": "exploded", "timestamp": "1"}],
    )
    broken["entry"][0]["changes"][0]["value"]["messages"].insert(0, "just a string")
    assert post_meta(running_app, broken).status_code == 200
    assert {m.wa_message_id: m.text for m in messages(running_app.engine)} == {
        "wamid.weird": None,
        "wamid.good": "Das hier kommt an",
    }


def test_a_body_of_1000_messages_from_100_people(running_app: RunningApp) -> None:
    msgs = [
        text_message(f"49176{p:07d}", f"wamid.bulk.{p}.{i}", f"Nachricht {i}", BASE_TS + i)
        for i in range(10)
        for p in range(100)
    ]
    body = meta_body(msgs, names={f"49176{p:07d}": f"Person {p}" for p in range(100)})
    for _ in range(2):
        assert post_meta(running_app, body).status_code == 200
    assert count(running_app.engine, Contact) == 100
    assert count(running_app.engine, Ticket) == 100
    assert count(running_app.engine, Message) == 1000
    assert count(running_app.engine, Ticket, Ticket.message_count == 10) == 100
    person = contact(running_app.engine, "+491760000042")
    assert person.name == "Person 42" and person.last_chat_at == datetime.fromtimestamp(BASE_TS + 9, UTC)


def test_oversized_body_is_refused(running_app: RunningApp) -> None:
    big = meta_body([text_message("4917612345678", "wamid.big", "x" * (6 * 1024 * 1024))])
    assert post_meta(running_app, big).status_code == 413
    _nothing_written(running_app)


def test_changes_we_do_not_use_are_acknowledged(running_app: RunningApp) -> None:
    assert post_meta(running_app, data("group_update.json")).status_code == 200
    _nothing_written(running_app)


def test_whatsapp_marketing_stop_preference_is_an_opt_out(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika")
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "200300400500"},
        "user_preferences": [
            {
                "wa_id": "4917612345678",
                "detail": "User requested to stop marketing messages",
                "category": "marketing_messages",
                "value": "stop",
                "timestamp": BASE_TS,
            }
        ],
    }
    body = {
        "object": "whatsapp_business_account",
        "entry": [{"id": "1", "changes": [{"field": "user_preferences", "value": value}]}],
    }
    for _ in range(2):
        assert post_meta(running_app, body).status_code == 200
    with Session(running_app.engine) as s:
        erika = s.get(Contact, cid)
        audit = [e.action for e in s.scalars(select(AuditEntry))]
    assert erika.active is False and erika.opted_out_at == AT_10 and audit == ["contact.opt_out"]


def test_concurrent_first_messages_from_one_person_make_one_contact_and_one_ticket(running_app: RunningApp) -> None:
    bodies = [
        meta_body(
            [text_message("4917655555555", f"wamid.race.{i}", f"Teil {i}", BASE_TS + i)],
            names={"4917655555555": "Eilig"},
        )
        for i in range(16)
    ]
    with ThreadPoolExecutor(8) as pool:
        statuses = list(pool.map(lambda b: post_meta(running_app, b).status_code, bodies))
    assert statuses == [200] * 16
    person = contact(running_app.engine, "+4917655555555")
    [ticket] = tickets(running_app.engine, person.id)
    assert ticket.message_count == 16 and count(running_app.engine, Message) == 16
    assert person.last_chat_at == datetime.fromtimestamp(BASE_TS + 15, UTC)
