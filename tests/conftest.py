"""Fixtures: a real database (SQLite file; PostgreSQL when CONTACTBOT_TEST_DATABASE_URL is set),
a loopback fake Slack Web API, and the real ASGI app on a real port, driven by signed requests."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine, text

from bot.config.settings import Settings, load_settings
from storage.db import make_engine, upgrade
from tests import pg_guard
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
    """The PostgreSQL test database, wiped and migrated once per run; refuses a database that is not ours."""
    owned = pg_guard.owned_tables()
    if refusal := pg_guard.wipe_refusal(PG_URL, [], owned):  # the name, before even connecting
        pytest.exit(refusal, returncode=pytest.ExitCode.USAGE_ERROR)
    engine = make_engine(PG_URL)
    with engine.begin() as conn:
        if refusal := pg_guard.wipe_refusal(PG_URL, pg_guard.existing_tables(conn), owned):
            engine.dispose()
            pytest.exit(refusal, returncode=pytest.ExitCode.USAGE_ERROR)
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
def db_url(request: pytest.FixtureRequest) -> str:
    """A migrated, empty database: a fresh SQLite file, or the PostgreSQL test database emptied."""
    if request.param == "sqlite":
        path = request.getfixturevalue("tmp_path") / "contactbot.db"
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


@pytest.fixture(autouse=True)
def every_block_kit_payload_is_valid(request: pytest.FixtureRequest) -> Iterator[None]:
    """Every message, view and response_url body that reaches a fake Slack during a test is one Slack would take.

    The fake answers an invalid payload as Slack does (tests/fakes/slack_api.py) and records it; the test fails
    here, after its own teardown (lazy listeners included) has run. A test that sends an invalid payload on
    purpose says so with `@pytest.mark.invalid_block_kit`.
    """
    before = len(slack_api.STARTED)
    yield
    fakes = slack_api.STARTED[before:]
    del slack_api.STARTED[before:]
    refused = [(method, problems) for fake in fakes for method, problems in fake.invalid]
    if refused and request.node.get_closest_marker("invalid_block_kit") is None:
        lines = [f"{method}: {'; '.join(problems)[:600]}" for method, problems in refused]
        pytest.fail("Slack would refuse a Block Kit payload:\n" + "\n".join(lines), pytrace=False)
    late = [f"{method}: {error}" for fake in fakes for method, error in fake.trigger_refusals]
    if late and request.node.get_closest_marker("trigger_refused") is None:
        pytest.fail("Slack would refuse a trigger_id (a modal opened too late or twice):\n" + "\n".join(late))


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
    executors: list[Any] = field(default_factory=list)  # Bolt's listener pools (bot.web.lifecycle.TrackedExecutor)

    def settle(self, timeout: float = 60) -> None:
        """Wait until the app has finished all it was asked: no ack or lazy listener queued or running.

        Call it after the HTTP answers are in, before asserting that something did NOT happen.
        Ack tasks are looked at first (an ack may still hand work to the lazy pool); two clean passes in a row."""
        assert self.executors, "settle() needs the in-process app (running_app)"

        def idle() -> bool:
            return all(not executor.unfinished() for executor in self.executors)

        def twice() -> bool:
            return idle() and idle()

        wait_until(twice, "the app is still handling requests", timeout)

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
            "text": slack_escaped(text_),
            "api_app_id": "A111",
            "is_enterprise_install": "false",
            "response_url": response_url or self.fake.response_url("cmd"),
            "trigger_id": self.fake.issue_trigger(),
        }
        return self.post(urlencode(form), "application/x-www-form-urlencoded")

    def interact(self, payload: dict[str, Any]) -> httpx.Response:
        """Send an interaction; like Slack, each request carries a fresh trigger_id (valid once, for 3 s)."""
        if "trigger_id" in payload:
            payload = {**payload, "trigger_id": self.fake.issue_trigger()}
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


def menu_value(choice: str, cid: int) -> str:
    """A list row's menu option as the app draws it: `block:42` with the row's one MAC over `row:42`
    (handlers/integrity.py: subject_mac)."""
    return f"{choice}:{cid}~" + sealed(f"row:{cid}", purpose="contact_menu").rpartition("~")[2]


def app_seal(value: str, purpose: str) -> str:
    """`sealed` in the shape of the app's `Seal` (value, purpose), for block builders called directly."""
    return sealed(value, purpose=purpose)


def sealed_metadata(data: dict[str, Any], team: str = "T111", *, purpose: str) -> str:
    """A modal's `private_metadata` as the app seals it (purpose: the modal's callback_id)."""
    return sealed(json.dumps(data, separators=(",", ":")), team, purpose=f"view:{purpose}")


def wait_until(what: Callable[[], object], message: str, timeout: float = 60) -> None:
    """Poll for a state; the deadline only guards against hanging (generous for a loaded machine), measures nothing."""
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise AssertionError(f"still waiting after {timeout:.0f} s: {message}")
        time.sleep(0.01)


@contextmanager
def serving(asgi: Any, timeout: float = 60) -> Iterator[str]:
    """uvicorn in a thread on a port the kernel picks when it binds (port 0), read back from the socket: no other
    process can take the port between choosing and binding. Fails loudly when the server never starts."""
    server = uvicorn.Server(uvicorn.Config(asgi, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: server.started or not thread.is_alive(), "the test server did not start", timeout)
    if not server.started:
        raise AssertionError("the test server stopped before it started serving (its error is logged above)")
    port = int(server.servers[0].sockets[0].getsockname()[1])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=timeout)


@pytest.fixture
def running_app(settings: Settings, engine: Engine, fake_slack: slack_api.FakeSlack) -> Iterator[RunningApp]:
    from bot.web import lifecycle
    from bot.web.server import create_asgi
    from handlers.app import create_app

    bolt = create_app(settings, engine)
    executors = lifecycle.instrument(bolt)  # as `contactbot serve` does; lets settle() see the listener pools
    asgi = create_asgi(settings, engine, bolt)
    with serving(asgi) as url, httpx.Client(timeout=30) as http:
        yield RunningApp(url, fake_slack, engine, settings, http, executors)
    lazy = bolt.listener_runner.lazy_listener_runner
    lazy.executor.shutdown(wait=True)  # let lazy listeners finish
    if hasattr(lazy, "jobs"):
        lazy.jobs.shutdown(wait=True)  # and long jobs (handlers/jobs.py), so none runs into the next test


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


def slack_escaped(text: str) -> str:
    """Slash-command text as Slack sends it: `&`, `<`, `>` HTML-escaped
    (https://docs.slack.dev/messaging/formatting-message-text#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
