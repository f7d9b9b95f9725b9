"""`POST /inbound`: other messengers feed contacts and tickets in our small signed JSON format."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from bot.config.settings import Settings
from storage.models import Contact, Message
from tests.conftest import RunningApp
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import APP_SECRET, contact, count, messages, post_inbound, sign, tickets, webhook_settings


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return webhook_settings(db_url, fake_slack)


def _telegram(*msgs: dict) -> dict:
    return {"messenger": "telegram", "messages": list(msgs)}


def test_telegram_message_creates_contact_and_ticket(running_app: RunningApp) -> None:
    body = _telegram(
        {
            "id": "771",
            "from": "0176 1234567",
            "name": "Tom Telegram",
            "timestamp": "2026-01-02T08:30:00Z",
            "type": "text",
            "text": "Moin!",
        },
        {"id": "772", "from": "+49 176 1234567", "timestamp": 1767342660, "type": "image"},
    )
    response = post_inbound(running_app, body)
    assert response.status_code == 200
    assert response.json() == {"stored": 2, "duplicates": 0, "rejected": []}
    tom = contact(running_app.engine, "+491761234567", "telegram")
    assert tom is not None and tom.name == "Tom Telegram"
    assert tom.first_contact_at == datetime(2026, 1, 2, 8, 30, tzinfo=UTC)
    assert tom.last_chat_at == datetime(2026, 1, 2, 8, 31, tzinfo=UTC)
    [ticket] = tickets(running_app.engine, tom.id)
    assert ticket.message_count == 2
    assert [(m.kind, m.text, m.wa_message_id) for m in messages(running_app.engine)] == [
        ("text", "Moin!", "telegram:771"),
        ("image", None, "telegram:772"),
    ]
    again = post_inbound(running_app, body)
    assert again.json() == {"stored": 0, "duplicates": 2, "rejected": []}
    assert count(running_app.engine, Message) == 2


def test_same_number_on_two_messengers_is_two_contacts(running_app: RunningApp) -> None:
    post_inbound(running_app, _telegram({"id": "1", "from": "+491761234567", "text": "a"}))
    post_inbound(running_app, {"messenger": "webchat", "messages": [{"id": "1", "from": "+491761234567", "text": "b"}]})
    assert count(running_app.engine, Contact) == 2 and count(running_app.engine, Message) == 2


def test_bad_items_are_rejected_by_index_and_the_rest_stored(running_app: RunningApp) -> None:
    body = _telegram(
        {"id": "1", "from": "4,91701E+12", "text": "x"},
        "nope",
        {"from": "+491761234567"},
        {"id": "2", "from": "+491761234567", "timestamp": "gestern", "text": "x"},
        {"id": "3", "from": "+491761234567", "text": "STOPP"},
    )
    response = post_inbound(running_app, body)
    assert response.status_code == 200
    assert response.json()["rejected"] == [
        {"index": 0, "reason": "phone.scientific"},
        {"index": 1, "reason": "not an object"},
        {"index": 2, "reason": "id missing"},
        {"index": 3, "reason": "timestamp"},
    ]
    tom = contact(running_app.engine, "+491761234567", "telegram")
    assert tom.active is False and tom.opted_out_at is not None  # opt-out keywords work on every messenger


def test_signature_and_format_errors(running_app: RunningApp) -> None:
    url = f"{running_app.url}/inbound"
    raw = json.dumps(_telegram({"id": "1", "from": "+491761234567", "text": "x"})).encode()
    assert running_app.http.post(url, content=raw).status_code == 401
    wrong = {"X-Contactbot-Signature": sign(raw, APP_SECRET)}  # WhatsApp's secret is not ours
    assert running_app.http.post(url, content=raw, headers=wrong).status_code == 403
    assert post_inbound(running_app, {"messenger": "carrier-pigeon", "messages": []}).status_code == 422
    assert post_inbound(running_app, {"messenger": "telegram"}).status_code == 422
    bad_json = b"{nope"
    assert (
        running_app.http.post(
            url, content=bad_json, headers={"X-Contactbot-Signature": sign(bad_json, "test-inbound-secret-99")}
        ).status_code
        == 400
    )
    assert count(running_app.engine, Contact) == 0


def test_unconfigured_secret_accepts_nothing(db_url: str, fake_slack: FakeSlack, engine) -> None:  # type: ignore[no-untyped-def]
    import httpx

    from bot.web.server import create_asgi
    from tests.conftest import serving

    bare = webhook_settings(db_url, fake_slack, CONTACTBOT_INBOUND_SECRET="", WHATSAPP_APP_SECRET="")
    with serving(create_asgi(bare, engine, None)) as url:
        raw = b'{"messenger": "telegram", "messages": []}'
        for path, header in (("/inbound", "X-Contactbot-Signature"), ("/whatsapp/webhook", "X-Hub-Signature-256")):
            response = httpx.post(f"{url}{path}", content=raw, headers={header: sign(raw, "")})
            assert response.status_code == 403
