"""Helpers for webhook tests: settings with webhook secrets, signed posts, Meta bodies, row counts."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from bot.config.settings import Settings, load_settings
from storage import webhook_inbox
from storage.models import Contact, Message, Ticket
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, wait_until
from tests.fakes import graph_api
from tests.fakes.slack_api import FakeSlack

DATA = Path(__file__).with_name("data") / "webhooks"
APP_SECRET = "test-whatsapp-app-secret-42"
VERIFY_TOKEN = "test-verify-token-7"
INBOUND_SECRET = "test-inbound-secret-99"
BASE_TS = 1767261600  # 2026-01-01 10:00 UTC


def webhook_settings(db_url: str, fake: FakeSlack, **extra: Any) -> Settings:
    values: dict[str, Any] = {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "CONTACTBOT_ADMINS": ADMIN,
        "CONTACTBOT_DEFAULT_REGION": "DE",
        "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "CONTACTBOT_INBOUND_SECRET": INBOUND_SECRET,
    }
    return load_settings(**(values | extra))


def sign(body: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def post_meta(app: RunningApp, body: bytes | dict[str, Any], signature: str | bytes | None = "auto") -> httpx.Response:
    """Post a WhatsApp webhook; once it is answered 200, wait until the app has applied it (the route
    only stores the body, the inbox consumer applies it), so the caller can assert on the database."""
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    headers: dict[str, str | bytes] = {"Content-Type": "application/json"}
    if signature == "auto":
        headers["X-Hub-Signature-256"] = sign(raw)
    elif signature is not None:
        headers["X-Hub-Signature-256"] = signature
    response = app.http.post(f"{app.url}/whatsapp/webhook", content=raw, headers=headers)
    if response.status_code == 200:
        wait_applied(app.engine)
    return response


def wait_applied(engine: Engine) -> None:
    """Wait until every stored webhook body has been applied (the inbox is empty; a batch leaves it on commit)."""
    wait_until(lambda: webhook_inbox.pending(engine) == 0, "the webhook inbox was not applied")


def post_inbound(app: RunningApp, body: dict[str, Any], secret: str = INBOUND_SECRET) -> httpx.Response:
    raw = json.dumps(body).encode()
    return app.http.post(
        f"{app.url}/inbound",
        content=raw,
        headers={"Content-Type": "application/json", "X-Contactbot-Signature": sign(raw, secret)},
    )


def data(name: str) -> bytes:
    return (DATA / name).read_bytes()


def text_message(wa_id: str, message_id: str, body: str, ts: int = BASE_TS) -> dict[str, Any]:
    return {"from": wa_id, "id": message_id, "timestamp": str(ts), "type": "text", "text": {"body": body}}


def meta_body(
    messages: list[dict[str, Any]] = (),
    statuses: list[dict[str, Any]] = (),  # type: ignore[assignment]
    names: dict[str, str] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        # The fake Graph API's number: apps configured with it store only that number's changes.
        "metadata": {"display_phone_number": "4930123456", "phone_number_id": graph_api.PHONE_ID},
    }
    if names:
        value["contacts"] = [{"profile": {"name": n}, "wa_id": w} for w, n in names.items()]
    if messages:
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = list(statuses)
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "100200300400500", "changes": [{"field": "messages", "value": value}]}],
    }


def count(engine: Engine, model: type, *where: Any) -> int:
    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


def contact(engine: Engine, phone: str, messenger: str = "whatsapp") -> Contact | None:
    with Session(engine) as s:
        return s.scalars(select(Contact).where(Contact.phone == phone, Contact.messenger == messenger)).first()


def tickets(engine: Engine, contact_id: int) -> list[Ticket]:
    with Session(engine) as s:
        return list(s.scalars(select(Ticket).where(Ticket.contact_id == contact_id).order_by(Ticket.id)))


def messages(engine: Engine, contact_id: int | None = None) -> list[Message]:
    with Session(engine) as s:
        stmt = select(Message).order_by(Message.sent_at, Message.id)
        if contact_id is not None:
            stmt = stmt.where(Message.contact_id == contact_id)
        return list(s.scalars(stmt))
