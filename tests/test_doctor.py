"""`contactbot doctor` as a new user runs it: a real subprocess against a real database and the fakes of Slack
and Meta (which answer like the real APIs, see tests/fakes)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from bot.services.doctor import REQUIRED_BOT_SCOPES
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.fakes import graph_api, slack_api

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ("tests.broadcast_fixtures",)
ADMIN = "U0ADMIN01"


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    path = tmp_path / "contactbot.db"
    shutil.copy(sqlite_template, path)
    return f"sqlite:///{path}"


@pytest.fixture
def healthy(sqlite_url: str, fake_slack: slack_api.FakeSlack, fake_graph: graph_api.FakeGraph) -> Iterator[dict]:
    """Settings of a deployment with nothing missing."""
    fake_graph.configure(reset=True)
    yield {
        "DATABASE_URL": sqlite_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "CONTACTBOT_ADMINS": ADMIN,
        "WHATSAPP_APP_SECRET": graph_api.APP_SECRET,
        "WHATSAPP_DAILY_LIMIT": "1000",
        **fake_graph.env(),
    }


def doctor(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LC_"))}
    environ |= {"USER": "tester", "LANG": "C.UTF-8", **env}
    return subprocess.run(
        [sys.executable, "-m", "bot", "doctor", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def checks(result: subprocess.CompletedProcess[str]) -> dict[str, dict]:
    return {c["check"]: c for c in json.loads(result.stdout)["checks"]}


def test_the_scopes_it_checks_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == REQUIRED_BOT_SCOPES
    assert set(slack_api.MANIFEST_BOT_SCOPES) == REQUIRED_BOT_SCOPES


def test_a_complete_deployment_is_all_ok(healthy: dict, fake_slack: slack_api.FakeSlack) -> None:
    result = doctor(healthy)
    assert result.returncode == 0, result.stdout + result.stderr
    lines = result.stdout.splitlines()
    assert all(line.startswith(("ok", "skipped")) for line in lines[:-1]), result.stdout
    assert "Socket Mode: HTTP mode" in result.stdout and lines[-1].startswith("All good")
    assert [c.body["user"] for c in fake_slack.of("users.info")] == [ADMIN]
    data = json.loads(doctor(healthy, "--json").stdout)
    assert data["ok"] is True and {c["status"] for c in data["checks"]} == {"ok", "skipped"}
    assert {"database", "slack.token", "slack.scopes", "admins", "whatsapp.webhooks"} <= set(
        checks(doctor(healthy, "--json"))
    )


def test_each_problem_is_named_with_its_fix(
    healthy: dict, fake_slack: slack_api.FakeSlack, fake_graph: graph_api.FakeGraph
) -> None:
    fake_slack.scopes = [s for s in slack_api.MANIFEST_BOT_SCOPES if s != "files:write"]
    fake_slack.missing_users = {"U0GONE001"}
    fake_graph.configure(subscribed_fields=["messages"], quality_rating="RED")
    env = healthy | {"CONTACTBOT_ADMINS": f"{ADMIN},U0GONE001", "WHATSAPP_PHONE_NUMBER_ID": "111"}
    result = doctor(env, "--json")
    assert result.returncode == 1
    found = checks(result)
    assert found["slack.scopes"]["status"] == "problem" and "files:write" in found["slack.scopes"]["detail"]
    assert "manifest.yml" in found["slack.scopes"]["fix"]
    assert found["admins"]["status"] == "problem" and "U0GONE001 (user_not_found)" in found["admins"]["detail"]
    assert found["whatsapp.ids"]["status"] == "problem" and "111" in found["whatsapp.ids"]["detail"]
    assert found["whatsapp.quality"]["status"] == "skipped"
    assert found["whatsapp.webhooks"]["status"] == "problem"
    assert "user_preferences" in found["whatsapp.webhooks"]["detail"]
    assert found["database"]["status"] == found["whatsapp.token"]["status"] == "ok"
    low = checks(doctor(healthy, "--json"))["whatsapp.quality"]
    assert low["status"] == "problem" and "RED" in low["detail"]


def test_the_webhook_check_names_each_missing_field_and_a_missing_subscription(
    healthy: dict, fake_graph: graph_api.FakeGraph
) -> None:
    """Every field docs/inbound.md asks for, `account_update` (restrictions, bans) included; one check and one
    client of `/{app-id}/subscriptions` (the doctor's)."""
    fields = [f for f in graph_api.WEBHOOK_FIELDS if f != "account_update"]
    fake_graph.configure(subscribed_fields=fields)
    webhooks = checks(doctor(healthy, "--json"))["whatsapp.webhooks"]
    assert webhooks["status"] == "problem" and "account_update" in webhooks["detail"]
    fake_graph.configure(subscribed_fields=[])
    assert checks(doctor(healthy, "--json"))["whatsapp.webhooks"]["status"] == "problem"
    wrong = healthy | {"WHATSAPP_APP_SECRET": "not-the-app-secret"}
    refused = checks(doctor(wrong, "--json"))["whatsapp.webhooks"]
    assert refused["status"] == "problem" and "190" in refused["detail"]


def test_refused_tokens_and_socket_mode(healthy: dict, fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.refused_tokens = {BOT_TOKEN}
    env = healthy | {"WHATSAPP_TOKEN": "EAAwrong", "SLACK_APP_TOKEN": "xapp-1-A111-222-abc"}
    found = checks(doctor(env, "--json"))
    assert found["slack.token"]["status"] == "problem" and "invalid_auth" in found["slack.token"]["detail"]
    assert found["slack.socket_mode"]["status"] == "ok"  # the app-level token opened a connection
    assert found["whatsapp.token"]["status"] == "problem" and "190" in found["whatsapp.token"]["detail"]
    assert found["whatsapp.token"]["fix"].startswith("set WHATSAPP_TOKEN")
    assert BOT_TOKEN not in json.dumps(found) and "EAAwrong" not in json.dumps(found)


def test_a_database_behind_or_away_and_german_output(healthy: dict, tmp_path: Path) -> None:
    empty = healthy | {"DATABASE_URL": f"sqlite:///{tmp_path / 'new.db'}", "CONTACTBOT_LANG": "de"}
    result = doctor(empty)
    assert result.returncode == 1
    line = next(line for line in result.stdout.splitlines() if "Datenbank" in line)
    assert line.startswith("Problem") and "contactbot db upgrade" in line
    away = healthy | {"DATABASE_URL": "postgresql://postgres@127.0.0.1:9/contactbot"}
    found = checks(doctor(away, "--json"))
    assert found["database"]["status"] == "problem" and "DATABASE_URL" in found["database"]["fix"]
