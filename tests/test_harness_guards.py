"""The test harness itself: it never wipes a database that is not ours, and the fake Slack refuses what Slack refuses.

Both are what make the rest of the suite trustworthy: a wrong CONTACTBOT_TEST_DATABASE_URL must not cost anyone
their data, and a Block Kit payload Slack would reject must fail the test that caused it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import text

from storage.db import make_engine
from tests import pg_guard
from tests.conftest import PG_URL
from tests.fakes import slack_api

ROOT = Path(__file__).resolve().parents[1]
OURS = pg_guard.owned_tables()
TEST_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_test"


def test_a_database_whose_name_does_not_say_test_is_refused() -> None:
    for url in ("postgresql+psycopg://u@h/contactbot", "postgresql+psycopg://u@h/prod", "postgresql://u@h/"):
        refusal = pg_guard.wipe_refusal(url, [], OURS)
        assert refusal and "contains 'test'" in refusal


def test_a_database_with_tables_we_do_not_own_is_refused() -> None:
    ours = [("public", name) for name in sorted(OURS)]
    assert pg_guard.wipe_refusal(TEST_URL, ours, OURS) is None
    for foreign in (("public", "invoices"), ("billing", "contact"), ("crm", "customers")):
        refusal = pg_guard.wipe_refusal(TEST_URL, [*ours, foreign], OURS)
        assert refusal and f"{foreign[0]}.{foreign[1]}" in refusal


def test_our_own_tables_are_known_to_the_guard() -> None:
    """The tables every migration and the scheduler create: a new model's table must not make the guard refuse."""
    assert {"contact", "message", "ticket", "broadcast", "delivery", "alembic_version", "apscheduler_jobs"} <= OURS


@pytest.mark.skipif(not PG_URL, reason="CONTACTBOT_TEST_DATABASE_URL is not set (PostgreSQL)")
def test_the_guard_sees_a_foreign_table_in_the_real_database(pg_migrated: str) -> None:
    engine = make_engine(pg_migrated)
    try:
        with engine.connect() as conn:  # one transaction, rolled back: the shared test database stays as it was
            assert pg_guard.wipe_refusal(pg_migrated, pg_guard.existing_tables(conn), OURS) is None  # migrated: ours
            conn.execute(text("CREATE SCHEMA someone_else"))
            conn.execute(text("CREATE TABLE someone_else.orders (id int)"))
            conn.execute(text("CREATE VIEW public.report AS SELECT 1 AS one"))
            refusal = pg_guard.wipe_refusal(pg_migrated, pg_guard.existing_tables(conn), OURS)
            conn.rollback()
    finally:
        engine.dispose()
    assert refusal and "someone_else.orders" in refusal and "public.report" in refusal


def _post(fake: slack_api.FakeSlack, method: str, body: dict[str, Any]) -> httpx.Response:
    url = fake.response_url("r") if method == "response_url" else f"{fake.api_url}{method}"
    return httpx.post(url, json=body, headers={"Authorization": "Bearer xoxb-x"}, timeout=10)


def _section(text_: str, block_id: str | None = None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "section", "text": {"type": "mrkdwn", "text": text_}}
    return block | ({"block_id": block_id} if block_id else {})


def _modal(blocks: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": blocks, **extra}


@pytest.mark.invalid_block_kit
def test_the_fake_refuses_blocks_as_slack_does(fake_slack: slack_api.FakeSlack) -> None:
    overflow = {"type": "overflow", "action_id": "o", "options": [{"text": {"type": "plain_text", "text": "a"}}]}
    home = {"type": "home", "blocks": [_section("z" * 2900)] * 90}
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("chat.postMessage", {"blocks": [_section("x")] * 51}, "invalid_blocks"),
        ("chat.postEphemeral", {"blocks": [_section("x" * 3001)]}, "invalid_blocks"),
        ("chat.update", {"blocks": [_section("a", "b"), _section("c", "b")]}, "invalid_blocks"),
        ("chat.postMessage", {"blocks": [{"type": "actions", "elements": [overflow]}]}, "invalid_blocks"),
        ("chat.postMessage", {"blocks": [_section("y" * 2900)] * 5}, "msg_blocks_too_long"),
        ("views.open", {"view": _modal([_section("x")] * 101)}, "invalid_arguments"),
        ("views.push", {"view": _modal([_section("x")], private_metadata="m" * 3001)}, "invalid_arguments"),
        ("views.publish", {"user_id": "U1", "view": home}, "view_too_large"),
    ]
    for method, body, error in cases:
        answer = _post(fake_slack, method, body).json()
        assert answer["ok"] is False and answer["error"] == error, (method, answer)
        assert answer["response_metadata"]["messages"][0].startswith("[ERROR] "), answer
    response = _post(fake_slack, "response_url", {"blocks": [_section("x")] * 51})
    assert response.status_code == 400 and response.text == "invalid_blocks"
    assert [method for method, _ in fake_slack.invalid] == [c[0] for c in cases] + ["response_url"]


def test_the_fake_takes_what_slack_takes(fake_slack: slack_api.FakeSlack) -> None:
    blocks = [_section("x", f"b{i}") for i in range(50)]
    assert _post(fake_slack, "chat.postMessage", {"channel": "C111", "blocks": blocks}).json()["ok"] is True
    opened = {"trigger_id": fake_slack.issue_trigger(), "view": _modal([_section("x")] * 100)}
    assert _post(fake_slack, "views.open", opened).json()["ok"]
    assert _post(fake_slack, "response_url", {"text": "no blocks at all"}).status_code == 200
    assert fake_slack.invalid == []


CHILD_TEST = """
import httpx
import pytest

BAD = {"channel": "C1", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}] * 51}


def test_sends_an_invalid_message(fake_slack):
    httpx.post(fake_slack.api_url + "chat.postMessage", json=BAD, timeout=10)


@pytest.mark.invalid_block_kit
def test_sends_it_on_purpose(fake_slack):
    httpx.post(fake_slack.api_url + "chat.postMessage", json=BAD, timeout=10)
"""


def test_a_test_that_caused_an_invalid_payload_fails(tmp_path: Path) -> None:
    """Run the fixture for real, in a child pytest: the unmarked test fails, the marked one passes."""
    (tmp_path / "conftest.py").write_text(
        "from tests.conftest import every_block_kit_payload_is_valid, fake_slack  # noqa: F401\n"
    )
    (tmp_path / "test_child.py").write_text(textwrap.dedent(CHILD_TEST))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-rA", "-W", "ignore::pytest.PytestWarning"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    out = result.stdout + result.stderr
    assert result.returncode == 1, out
    assert "ERROR test_child.py::test_sends_an_invalid_message" in out, out
    assert "Slack would refuse a Block Kit payload" in out and "chat.postMessage: 51 blocks" in out, out
    assert "PASSED test_child.py::test_sends_it_on_purpose" in out, out
