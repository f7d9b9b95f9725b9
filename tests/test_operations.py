"""Running contactbot in production: metrics, readiness, request ids, log hygiene, SIGTERM, safe migrations.

What an operator sees: `/metrics` scraped by Prometheus, `/readyz` consulted by the load balancer,
log lines collected from stdout, and a deploy that stops old processes with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import Engine, insert, text

from storage.db import current_revision, head_revision, make_engine, upgrade
from storage.models import Broadcast, Delivery
from tests import serve_process
from tests.conftest import BOT_TOKEN, PG_URL, SIGNING_SECRET, RunningApp, block_actions, serving, wait_until
from tests.factories import BASE, add_contact
from tests.fakes.slack_api import Call, FakeSlack
from tests.webhooks import meta_body, sign, text_message

WA_TOKEN = "EAAGm0PX4ZCpsBAKZBZCfakeWhatsAppToken1234567890"
WA_APP_SECRET = "wa-app-secret-do-not-log-31337"
INBOUND_SECRET = "inbound-secret-do-not-log-4242"
PHONE = "+4917012345678"


def _samples(body: str) -> list[tuple[str, dict[str, str], float]]:
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(body) for s in family.samples]


def _value(samples: list[tuple[str, dict[str, str], float]], name: str, **labels: str) -> float:
    return sum(v for n, lab, v in samples if n == name and all(lab.get(k) == val for k, val in labels.items()))


@pytest.fixture
def sqlite_url(tmp_path: Path, sqlite_template: Path) -> str:
    path = tmp_path / "serve.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


def _broadcast(engine: Engine, status: str, deliveries: list[str], first_phone: int) -> None:
    """A broadcast with one delivery row (and contact) per given delivery status."""
    phones = [f"+4917200{first_phone + i:06d}" for i in range(len(deliveries))]
    ids = [add_contact(engine, phone) for phone in phones]
    with engine.begin() as conn:
        bid = conn.execute(
            insert(Broadcast.__table__).returning(Broadcast.__table__.c.id),
            {  # type: ignore[attr-defined]
                "template": "t",
                "language": "de",
                "template_def": {},
                "params": {},
                "audience": {},
                "status": status,
                "total": len(ids),
                "excluded": {},
                "created_by": "cli:test",
                "report_lang": "de",
                "created_at": BASE,
                "updated_at": BASE,
            },
        ).scalar_one()
        conn.execute(
            insert(Delivery.__table__),
            [  # type: ignore[attr-defined]
                {
                    "broadcast_id": bid,
                    "contact_id": cid,
                    "phone": phone,
                    "status": delivery,
                    "attempts": 0,
                    "updated_at": BASE,
                }
                for cid, phone, delivery in zip(ids, phones, deliveries, strict=True)
            ],
        )


def test_metrics_count_requests_acks_and_the_broadcast_queue(running_app: RunningApp) -> None:
    scrape = running_app.http.get(f"{running_app.url}/metrics")
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    before = _samples(scrape.text)
    assert running_app.command("").status_code == 200
    running_app.fake.wait_for("response_url")
    assert running_app.http.get(f"{running_app.url}/no/such/page").status_code == 404
    _broadcast(running_app.engine, "running", ["pending"] * 3 + ["sending"] * 2 + ["sent"] * 4, 0)
    _broadcast(running_app.engine, "cancelled", ["pending"] * 5, 100)  # will never be sent: not queued
    after = _samples(running_app.http.get(f"{running_app.url}/metrics").text)

    def delta(name: str, **labels: str) -> float:
        return _value(after, name, **labels) - _value(before, name, **labels)

    assert delta("contactbot_http_requests_total", route="/slack/events", method="POST", status="200") == 1
    assert delta("contactbot_http_requests_total", route="unmatched", status="404") == 1  # never the raw path
    assert delta("contactbot_slack_ack_seconds_count") == 1
    assert _value(after, "contactbot_broadcast_queue_depth", status="pending") == 3
    assert _value(after, "contactbot_broadcast_queue_depth", status="sending") == 2
    families = {f.name for f in text_string_to_metric_families(scrape.text)}
    assert {
        "contactbot_imports",
        "contactbot_import_rows",
        "contactbot_messages_sent",
        "contactbot_messages_failed",
    } <= families  # ready for the import and broadcast code to count


def test_readyz_is_ready_only_at_the_code_head_revision(running_app: RunningApp, tmp_path: Path) -> None:
    ready = running_app.http.get(f"{running_app.url}/readyz")
    assert ready.status_code == 200 and ready.json() == {"ready": True, "detail": head_revision()}

    from bot.web.server import create_asgi

    old_url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(old_url, "0001")  # a database one migration behind this code
    old = make_engine(old_url)
    try:
        with serving(create_asgi(running_app.settings, old, None)) as url:
            behind = httpx.get(f"{url}/readyz", timeout=5)
            assert behind.status_code == 503
            assert behind.json()["ready"] is False and "contactbot db upgrade" in behind.json()["detail"]
            upgrade(old_url)
            assert httpx.get(f"{url}/readyz", timeout=5).status_code == 200
    finally:
        old.dispose()


def test_every_response_carries_a_request_id(running_app: RunningApp) -> None:
    first = running_app.http.get(f"{running_app.url}/healthz").headers["x-request-id"]
    second = running_app.http.get(f"{running_app.url}/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", first) and first != second
    kept = running_app.http.get(f"{running_app.url}/healthz", headers={"X-Request-Id": "lb-7f3a9c21"})
    assert kept.headers["x-request-id"] == "lb-7f3a9c21"  # the proxy's id, so its logs and ours join
    odd = running_app.http.get(f"{running_app.url}/healthz", headers={"X-Request-Id": "<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", odd.headers["x-request-id"])
    assert running_app.command("").headers["x-request-id"]


def test_json_logs_have_request_ids_and_no_secrets_or_phone_numbers(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    add_contact(engine, PHONE, "Max Mustermann")
    # Slack's API fails for users.info: the listener logs a warning from its worker thread.
    fake_slack.responders["users.info"] = lambda call: {"ok": False, "error": "user_not_found"}
    proc = serve_process.serve(
        sqlite_url,
        fake_slack,
        tmp_path / "serve.log",
        LOG_FORMAT="json",
        WHATSAPP_TOKEN=WA_TOKEN,
        WHATSAPP_APP_SECRET=WA_APP_SECRET,
        WHATSAPP_VERIFY_TOKEN="verify-token-do-not-log",
        CONTACTBOT_INBOUND_SECRET=INBOUND_SECRET,
    )
    try:
        with httpx.Client(timeout=10) as http:
            app = serve_process.client(proc, fake_slack, engine, http)
            searched = app.command("0170 12345678")
            listed = fake_slack.wait_for("response_url")[0].body
            rid = searched.headers["x-request-id"]
            buttons = next(b for b in listed["blocks"] if b["type"] == "actions")  # one match: its contact card
            button = next(e for e in buttons["elements"] if e["action_id"] == "card_block")
            fake_slack.clear()
            app.interact(
                block_actions(
                    {
                        "type": "button",
                        "action_id": "card_block",
                        "block_id": buttons["block_id"],
                        "value": button["value"],
                        "action_ts": "1",
                    },
                    response_url=fake_slack.response_url("menu"),
                )
            )
            fake_slack.wait_for("response_url")
            # refused requests: a bad Slack signature, a bad and a good WhatsApp webhook, a wrong verify token
            http.post(
                f"{proc.url}/slack/events",
                content=f"command=/contacts&text={PHONE}&token={BOT_TOKEN}",
                headers={"Content-Type": "application/x-www-form-urlencoded"},
            )
            body = json.dumps(
                meta_body([text_message(PHONE[1:], "wamid.1", f"Ruf mich an: {PHONE}")], names={PHONE[1:]: "Max"})
            ).encode()
            http.post(
                f"{proc.url}/whatsapp/webhook",
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, "wrong")},
            )
            http.post(
                f"{proc.url}/whatsapp/webhook",
                content=body,
                headers={"Content-Type": "application/json", "X-Hub-Signature-256": sign(body, WA_APP_SECRET)},
            )
            http.get(
                f"{proc.url}/whatsapp/webhook",
                params={"hub.mode": "subscribe", "hub.challenge": "1", "hub.verify_token": "verify-token-do-not-log-x"},
            )
    finally:
        assert proc.stop() == 0
        engine.dispose()
    logs = proc.logs()
    lines = [json.loads(line) for line in logs.splitlines() if line.strip()]  # every line is one JSON object
    assert {"at", "level", "logger", "msg"} <= set(lines[0])
    of_search = [line for line in lines if line.get("request_id") == rid]
    assert any(line["logger"] == "contactbot.http" for line in of_search)
    assert any("users.info failed" in line["msg"] for line in of_search), "listener thread lost the request id"
    for secret in (BOT_TOKEN, SIGNING_SECRET, WA_TOKEN, WA_APP_SECRET, INBOUND_SECRET, "verify-token-do-not-log"):
        assert secret not in logs
    assert "12345678" not in logs  # the number in no form (E.164, national, inside a message)


def _held(reached: threading.Event, release: threading.Event) -> Any:
    """A users.info answer that waits until the test lets it go: the listener is mid-way for as long as we need."""

    def answer(call: Call) -> dict[str, Any]:
        reached.set()
        release.wait(120)
        return {"ok": True, "user": {"id": call.body.get("user", ""), "locale": "de-DE"}}

    return answer


def _refused(url: str) -> bool:
    try:
        httpx.get(f"{url}/healthz", timeout=5)
    except httpx.TransportError:
        return True
    return False


def test_sigterm_lets_work_in_flight_finish_and_refuses_new_work(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    engine = make_engine(sqlite_url)
    add_contact(engine, PHONE, "Max Mustermann")
    reached, release = threading.Event(), threading.Event()
    fake_slack.responders["users.info"] = _held(reached, release)  # the listener is mid-way when SIGTERM comes
    proc = serve_process.serve(sqlite_url, fake_slack, tmp_path / "serve.log", CONTACTBOT_SHUTDOWN_GRACE_SECONDS="60")
    try:
        with httpx.Client(timeout=10) as http:
            app = serve_process.client(proc, fake_slack, engine, http)
            assert app.command("").status_code == 200  # acked at once, the work goes on in a listener
            assert reached.wait(60)
            proc.proc.send_signal(15)
            wait_until(lambda: _refused(proc.url), "the server still takes new requests after SIGTERM")
            assert proc.proc.poll() is None, "the process must wait for the work in flight"
            release.set()  # the work in flight finishes now
            code = proc.proc.wait(timeout=60)
    finally:
        release.set()
        proc.stop()
        engine.dispose()
    assert code == 0, proc.logs()  # within the grace period, never killed
    answer = fake_slack.of("response_url")
    assert answer and "Max Mustermann" in json.dumps(answer[0].body, ensure_ascii=False)  # the user got the list
    assert "stopped cleanly" in proc.logs()


def test_sigterm_exits_within_the_grace_period_even_when_work_hangs(
    sqlite_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    reached, release = threading.Event(), threading.Event()
    fake_slack.responders["users.info"] = _held(reached, release)  # hangs until the end of the test
    proc = serve_process.serve(sqlite_url, fake_slack, tmp_path / "serve.log", CONTACTBOT_SHUTDOWN_GRACE_SECONDS="2")
    engine = make_engine(sqlite_url)
    try:
        with httpx.Client(timeout=10) as http:
            app = serve_process.client(proc, fake_slack, engine, http)
            assert app.command("").status_code == 200
            assert reached.wait(60)
            proc.proc.send_signal(15)
            # the listener never finishes while the process lives: that it exits at all shows it did not wait
            code = proc.proc.wait(timeout=60)
    finally:
        release.set()
        proc.stop()
        engine.dispose()
    assert code == 1
    assert "1 listener task(s) unfinished after 2 s" in proc.logs()


@pytest.mark.skipif(not PG_URL, reason="CONTACTBOT_TEST_DATABASE_URL is not set (PostgreSQL)")
def test_web_processes_starting_together_migrate_once(pg_migrated: str) -> None:
    engine = make_engine(pg_migrated)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "DATABASE_"))}
    env["DATABASE_URL"] = pg_migrated
    try:
        procs = [
            subprocess.Popen(
                [sys.executable, "-m", "bot", "db", "upgrade"],
                env=env,
                text=True,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
            )
            for _ in range(3)
        ]
        results = [(p.wait(timeout=120), p.stderr.read() if p.stderr else "") for p in procs]
    finally:
        if current_revision(engine) != head_revision():
            upgrade(pg_migrated)  # leave the shared test database usable for the next tests
    assert [code for code, _ in results] == [0, 0, 0], results
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_process_without_our_http_server_can_expose_metrics_on_its_own_port(engine: Engine) -> None:
    from bot.web import metrics

    _broadcast(engine, "running", ["pending"] * 2, 0)
    port = metrics.serve_metrics(
        0, engine, addr="127.0.0.1"
    )  # port 0: the kernel picks, we read it back  # for a process like `contactbot worker`
    metrics.MESSAGES_FAILED.labels(error_code="131056").inc()
    samples = _samples(httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=5).text)
    assert _value(samples, "contactbot_messages_failed_total", error_code="131056") >= 1
    assert _value(samples, "contactbot_broadcast_queue_depth", status="pending") == 2


def test_a_start_up_failure_is_one_json_line_without_the_database_password() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "DATABASE_", "LOG_"))}
    env |= {
        "DATABASE_URL": "postgresql+psycopg://contactbot:hunter2-db-password@127.0.0.1:9/contactbot",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "LOG_FORMAT": "json",
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1  # runtime: the database is down, the settings may be right
    lines = [json.loads(line) for line in (result.stdout + result.stderr).splitlines() if line.strip()]
    [failure] = lines  # one line: what failed and what to do, no traceback
    assert failure["level"] == "CRITICAL" and "exc" not in failure
    assert "cannot reach the database at 127.0.0.1:9" in failure["msg"] and "DATABASE_URL" in failure["msg"]
    assert "hunter2-db-password" not in result.stdout + result.stderr
    debug = subprocess.run(
        [sys.executable, "-m", "bot", "serve", "--port", "0"],
        env=env | {"LOG_LEVEL": "DEBUG"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = [json.loads(line) for line in (debug.stdout + debug.stderr).splitlines() if line.strip()]
    failure = next(line for line in lines if line["level"] == "CRITICAL")
    assert "OperationalError" in failure["exc"] and "Traceback" in failure["exc"]  # the details, when asked for
    assert "hunter2-db-password" not in debug.stdout + debug.stderr
