"""Fixtures: a real database (SQLite file; PostgreSQL when CONTACTBOT_TEST_DATABASE_URL is set),
a loopback fake Slack Web API, and the real ASGI app on a real port, driven by signed requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text

from bot.settings import Settings, load_settings
from storage.db import make_engine, upgrade
from tests.fakes import slack_api

SHARED = Path(__file__).resolve().parents[1].parent / "shared"
PG_URL = os.environ.get("CONTACTBOT_TEST_DATABASE_URL", "")
SIGNING_SECRET = "test-signing-secret-0123456789"
BOT_TOKEN = "xoxb-test-0000-secret-token"
ADMIN = "UADMIN01"
USER = "UPLAIN01"

DB_PARAMS = ["sqlite"] + (["postgresql"] if PG_URL else [])


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated() -> str:
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    upgrade(PG_URL)
    return PG_URL


def _truncate_pg(url: str) -> None:
    engine = make_engine(url)
    with engine.begin() as conn:
        tables = (
            conn.execute(
                text("SELECT tablename FROM pg_tables WHERE schemaname='public' AND tablename <> 'alembic_version'")
            )
            .scalars()
            .all()
        )
        if tables:
            conn.execute(text(f"TRUNCATE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture(params=DB_PARAMS)
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        path = tmp_path / "contactbot.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    _truncate_pg(url)
    return url


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    eng = make_engine(db_url)
    yield eng
    eng.dispose()


@pytest.fixture
def fake_slack() -> Iterator[slack_api.FakeSlack]:
    fake = slack_api.start()
    yield fake
    fake.server.shutdown()


@pytest.fixture
def settings(db_url: str, fake_slack: slack_api.FakeSlack) -> Settings:
    return load_settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        CONTACTBOT_ADMINS=ADMIN,
        CONTACTBOT_DEFAULT_REGION="DE",
    )


def sign(body: str, timestamp: int | None = None, secret: str = SIGNING_SECRET) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:{body}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": f"v0={digest}"}


@dataclass
class RunningApp:
    url: str
    fake: slack_api.FakeSlack
    engine: Engine
    settings: Settings
    http: httpx.Client

    def post(self, body: str, content_type: str, headers: dict[str, str] | None = None) -> httpx.Response:
        hdrs = {"Content-Type": content_type, **sign(body), **(headers or {})}
        return self.http.post(f"{self.url}/slack/events", content=body.encode(), headers=hdrs)

    def command(
        self, text_: str = "", user: str = ADMIN, name: str = "/contacts", response_url: str | None = None
    ) -> httpx.Response:
        form = {
            "token": "legacy",
            "team_id": "T111",
            "team_domain": "acme",
            "channel_id": "C111",
            "channel_name": "support",
            "user_id": user,
            "user_name": user.lower(),
            "command": name,
            "text": text_,
            "api_app_id": "A111",
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url("cmd"),
            "trigger_id": "111.222.abc",
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        return self.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")

    def event(self, event: dict[str, Any], event_id: str = "Ev1", retry: int | None = None) -> httpx.Response:
        body = json.dumps(
            {
                "token": "legacy",
                "team_id": "T111",
                "api_app_id": "A111",
                "event": event,
                "type": "event_callback",
                "event_id": event_id,
                "event_time": int(time.time()),
                "authorizations": [{"team_id": "T111", "user_id": "UBOT", "is_bot": True}],
            }
        )
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"} if retry else None
        return self.post(body, "application/json", headers)


def block_actions(
    action: dict[str, Any],
    user: str = ADMIN,
    response_url: str = "",
    trigger_id: str = "333.444.def",
    container: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "container": container
        or {"type": "message", "message_ts": "1700000000.000100", "channel_id": "C111", "is_ephemeral": True},
        "trigger_id": trigger_id,
        "team": {"id": "T111", "domain": "acme"},
        "channel": {"id": "C111", "name": "support"},
        "response_url": response_url,
        "actions": [action],
    }


def sealed(value: str, team: str = "T111", secret: str = SIGNING_SECRET, *, purpose: str) -> str:
    """A value as the app seals it for a workspace and a purpose (the element's action_id or the
    modal's callback_id: handlers/integrity.py), for payloads built by hand."""
    from handlers.integrity import derive_key, seal

    return seal(value, team, derive_key(secret), purpose)


def app_seal(value: str, purpose: str) -> str:
    """`sealed` in the shape of the app's `Seal` (value, purpose), for block builders called directly."""
    return sealed(value, purpose=purpose)


def sealed_metadata(data: dict[str, Any], team: str = "T111", *, purpose: str) -> str:
    """A modal's `private_metadata` as the app seals it (purpose: the modal's callback_id)."""
    return sealed(json.dumps(data, separators=(",", ":")), team, purpose=f"view:{purpose}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def running_app(settings: Settings, engine: Engine, fake_slack: slack_api.FakeSlack) -> Iterator[RunningApp]:
    from bot.app import create_app
    from bot.server import create_asgi

    bolt = create_app(settings, engine)
    asgi = create_asgi(settings, engine, bolt)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    with httpx.Client(timeout=10) as http:
        yield RunningApp(f"http://127.0.0.1:{port}", fake_slack, engine, settings, http)
    server.should_exit = True
    thread.join(timeout=5)
    bolt.listener_runner.lazy_listener_runner.executor.shutdown(wait=True)  # let lazy listeners finish


def shared_path(*parts: str) -> Path:
    """A file under ../shared, or skip the test (a user's fresh clone has no ../shared)."""
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/{'/'.join(parts)} is not present beside the checkout")
    return path


def view_submission(
    view: dict[str, Any], values: dict[str, dict[str, Any]] | None = None, user: str = ADMIN
) -> dict[str, Any]:
    """A view_submission payload for a modal we opened, with the user's input as Slack sends it."""
    return {
        "type": "view_submission",
        "team": {"id": "T111", "domain": "acme"},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "trigger_id": "555.666.ghi",
        "view": {
            **view,
            "id": "V1",
            "team_id": "T111",
            "state": {"values": values or {}},
            "hash": "1.abc",
            "app_id": "A111",
            "bot_id": "B111",
        },
        "response_urls": [],
    }


def text_value(value: str) -> dict[str, Any]:
    return {"v": {"type": "plain_text_input", "value": value}}


def select_value(value: str | None) -> dict[str, Any]:
    return {"v": {"type": "static_select", "selected_option": {"value": value} if value else None}}


TEST_SECRETS = (
    BOT_TOKEN,
    SIGNING_SECRET,
    "test-whatsapp-app-secret-42",
    "test-inbound-secret-99",
    "test-verify-token-7",
    "EAAtest-fake-graph-token",
)  # the last: tests/fakes/graph_api.TOKEN


@pytest.fixture(autouse=True)
def no_secret_in_any_log_line(caplog: pytest.LogCaptureFixture) -> Iterator[None]:
    """Every test doubles as a scan: no token or secret may appear in what our code logs."""
    caplog.set_level(logging.INFO)
    yield
    for record in caplog.records:
        text = record.getMessage() + (record.exc_text or "")
        leaked = [s for s in TEST_SECRETS if s in text]
        assert not leaked, f"secret in a log line from {record.name}: {text[:200]}"
