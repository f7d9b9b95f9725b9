"""A new user's first hour with the command line (issue 19): every failure is one line on stderr naming the
setting or the cause and what to do (exit 2: configuration, 1: runtime), never a traceback unless asked for;
one language setting; the small things (`--limit`, `--messenger`, URLs, plurals, empty results, quiet logs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from storage.db import Engine, make_engine
from tests.conftest import BOT_TOKEN, PG_URL, SIGNING_SECRET
from tests.factories import add_contact
from tests.fakes import graph_api, slack_api

pytest_plugins = ("tests.broadcast_fixtures",)
CORPUS = Path(__file__).parent / "data" / "csv"


def cli(*args: str, env: dict[str, str] | None = None, url: str = "") -> subprocess.CompletedProcess[str]:
    environ = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LC_", "LOG_", "DATABASE_"))
    }
    environ |= {"USER": "tester", "LANG": "C.UTF-8", **({"DATABASE_URL": url} if url else {}), **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def one_line(result: subprocess.CompletedProcess[str], code: int, *words: str) -> str:
    """The failure as the user sees it: the exit code, one line on stderr with `words` in it, no traceback."""
    lines = result.stderr.strip().splitlines()
    assert result.returncode == code, result.stderr
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and 'File "' not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def sqlite_url(sqlite_template: Path, tmp_path: Path) -> str:
    shutil.copy(sqlite_template, tmp_path / "contactbot.db")
    return f"sqlite:///{tmp_path / 'contactbot.db'}"


@pytest.fixture
def engine_sqlite(sqlite_url: str) -> Iterator[Engine]:
    engine = make_engine(sqlite_url)
    yield engine
    engine.dispose()


@pytest.fixture
def pg_url_plain() -> str:
    """The PostgreSQL test database's URL after the scheme (user@host:port/name)."""
    if not PG_URL:
        pytest.skip("no PostgreSQL: CONTACTBOT_TEST_DATABASE_URL is not set")
    return PG_URL.split("://", 1)[1]


# --- 1. one-line errors ---------------------------------------------------------------------------------------


def test_database_problems_are_one_line_each(tmp_path: Path) -> None:
    missing = cli("contacts", "list", url="postgresql://postgres@127.0.0.1:5432/contactbot_p19_does_not_exist")
    one_line(missing, 2, "contactbot_p19_does_not_exist", "does not exist", "DATABASE_URL")
    away = cli("contacts", "list", url="postgres://contactbot:hunter2-pw@127.0.0.1:9/contactbot")
    line = one_line(away, 1, "127.0.0.1:9", "DATABASE_URL")
    assert "hunter2-pw" not in line
    unwritable = cli("contacts", "list", url=f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.db'}")
    one_line(unwritable, 2, "dir.db", "DATABASE_URL")
    garbage = tmp_path / "notes.txt"
    garbage.write_text("this is not a database, just some text " * 100)
    one_line(cli("contacts", "list", url=f"sqlite:///{garbage}"), 2, "notes.txt", "not a SQLite database")


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'no' / 'dir.db'}"
    assert "Traceback" in cli("--debug", "contacts", "list", url=url).stderr
    assert "Traceback" in cli("contacts", "list", url=url, env={"LOG_LEVEL": "DEBUG"}).stderr


def test_whatsapp_commands_without_or_with_wrong_settings(sqlite_url: str, fake_graph: graph_api.FakeGraph) -> None:
    one_line(cli("templates", url=sqlite_url), 2, "WHATSAPP_TOKEN is not set")
    partial = {"WHATSAPP_TOKEN": graph_api.TOKEN}
    one_line(cli("templates", url=sqlite_url, env=partial), 2, "WHATSAPP_BUSINESS_ACCOUNT_ID is not set")
    wrong = fake_graph.env() | {"WHATSAPP_TOKEN": "EAAnot-the-token"}
    line = one_line(cli("templates", url=sqlite_url, env=wrong), 2, "WHATSAPP_TOKEN", "190")
    assert "EAAnot-the-token" not in line
    other_account = fake_graph.env() | {"WHATSAPP_BUSINESS_ACCOUNT_ID": "111"}
    one_line(cli("templates", url=sqlite_url, env=other_account), 2, "WHATSAPP_BUSINESS_ACCOUNT_ID")
    away = fake_graph.env() | {"WHATSAPP_API_URL": "http://127.0.0.1:9/v23.0"}
    one_line(cli("templates", url=sqlite_url, env=away), 1, "cannot reach 127.0.0.1", "WHATSAPP_API_URL")


def test_serve_when_slack_refuses_the_token_or_cannot_be_reached(
    sqlite_url: str, fake_slack: slack_api.FakeSlack
) -> None:
    fake_slack.refused_tokens = {BOT_TOKEN}
    env = {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET, "SLACK_API_URL": fake_slack.api_url}
    one_line(cli("serve", "--port", "0", url=sqlite_url, env=env), 2, "SLACK_BOT_TOKEN", "invalid_auth")
    away = env | {"SLACK_API_URL": "http://127.0.0.1:9/api/"}
    one_line(cli("serve", "--port", "0", url=sqlite_url, env=away), 1, "cannot reach 127.0.0.1:9", "SLACK_API_URL")


def test_a_closed_pipe_ends_the_list_quietly(sqlite_url: str) -> None:
    assert cli("demo-data", "--count", "3000", url=sqlite_url).returncode == 0
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("CONTACTBOT_", "DATABASE_"))}
    environ |= {"DATABASE_URL": sqlite_url, "LANG": "C.UTF-8"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "contacts", "list", "--status", "all", "--limit", "3000"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=environ,
    )
    assert proc.stdout is not None and proc.stderr is not None
    assert proc.stdout.readline().startswith(b"3,000 of")  # `| head -1`
    proc.stdout.close()
    assert proc.wait(timeout=120) == 0
    assert proc.stderr.read() == b""


# --- 3. one language setting -------------------------------------------------------------------------------------


def test_the_language_comes_from_contactbot_lang_else_the_locale(sqlite_url: str) -> None:
    assert cli("contacts", "list", url=sqlite_url).stdout.strip() == "No contacts found."
    german = cli("contacts", "list", url=sqlite_url, env={"LANG": "de_DE.UTF-8"})
    assert german.stdout.strip() == "Keine Kontakte gefunden."
    assert cli("contacts", "list", url=sqlite_url, env={"LC_ALL": "de_AT.UTF-8"}).stdout.startswith("Keine")
    forced = cli("contacts", "list", url=sqlite_url, env={"LANG": "de_DE.UTF-8", "CONTACTBOT_LANG": "en"})
    assert forced.stdout.strip() == "No contacts found."
    error = cli("contacts", "list", "--sort", "age", url=sqlite_url, env={"CONTACTBOT_LANG": "de"})
    one_line(error, 2, "FELD")


def test_export_header_and_delimiter_follow_the_language_unless_given(sqlite_url: str, engine_sqlite: Engine) -> None:
    add_contact(engine_sqlite, "+4917011111111", "Anna")
    german = cli("export", url=sqlite_url, env={"LANG": "de_DE.UTF-8"}).stdout.lstrip("\ufeff")
    assert german.startswith("Nummer;Messenger;Name;Erstkontakt (UTC)")
    english = cli("export", url=sqlite_url).stdout.lstrip("\ufeff")
    assert english.startswith("Number,Messenger,Name,First contact (UTC)")
    given = cli("export", "--lang", "de", url=sqlite_url).stdout.lstrip("\ufeff")
    assert given.startswith("Nummer;") and "+49 170 11111111;" in given


# --- 6. the smaller ones -----------------------------------------------------------------------------------------


def test_limit_must_be_positive_and_messenger_is_forgiving(sqlite_url: str, engine_sqlite: Engine) -> None:
    add_contact(engine_sqlite, "+4917011111111", "Anna")
    for bad in ("-5", "0", "x"):
        one_line(cli("contacts", "list", "--limit", bad, url=sqlite_url), 2, "--limit", "from 1 to")
    found = cli("contacts", "list", "--messenger", "WhatsApp", url=sqlite_url)
    assert found.returncode == 0 and "1 of 1 contacts" in found.stdout
    one_line(cli("contacts", "list", "--messenger", "signal", url=sqlite_url), 2, "whatsapp", "telegram")
    assert "whatsapp" in cli("contacts", "list", "--help", url=sqlite_url).stdout


def test_postgres_urls_without_the_driver_are_accepted(pg_url_plain: str) -> None:
    for scheme in ("postgres://", "postgresql://"):
        result = cli("contacts", "list", url=scheme + pg_url_plain)
        assert result.returncode == 0, result.stderr


def test_small_answers_say_what_happened(sqlite_url: str, engine_sqlite: Engine, tmp_path: Path) -> None:
    one_line(cli("import", str(tmp_path), url=sqlite_url), 2, "is a directory")
    one_line(cli("import", str(tmp_path / "nope.csv"), url=sqlite_url), 2, "no such file")
    one_new = tmp_path / "one.csv"
    one_new.write_text("Nummer;Name\n+4917099999999;Neu\n", encoding="utf-8")
    refused = cli("import", str(one_new), url=sqlite_url)
    assert refused.returncode == 3 and "1 new contact." in refused.stderr and "contacts" not in refused.stderr
    assert cli("broadcast", "list", url=sqlite_url).stdout.strip() == "No notifications yet."
    add_contact(engine_sqlite, "+4917011111111", "Anna")
    assert (
        cli("contacts", "list", "--search", "zebra", url=sqlite_url).stdout.strip() == "No contacts found for “zebra”."
    )
    created = cli("groups", "create", "Alle", url=sqlite_url)
    assert created.returncode == 0 and "(1 contact)" in created.stdout


def test_routine_library_lines_stay_below_info(fake_slack: slack_api.FakeSlack) -> None:
    script = """
import logging
from bot.config.logs import setup
setup()
sched = logging.getLogger("apscheduler.executors.default")
sched.info('Running job "%s" (scheduled at %s)', "pump", "now")
sched.info('Job "%s" executed successfully', "pump")
sched.warning('Run time of job "%s" was missed by %s', "pump", "0:00:05")
from bot.config.settings import load_settings
from handlers.app import create_app
from storage.db import engine_for
create_app(load_settings(), engine_for("sqlite://"), verify_token=False)
"""
    env = {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "LOG_"))} | env
    quiet = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=environ, timeout=120)
    assert quiet.returncode == 0, quiet.stderr
    assert "Running job" not in quiet.stderr and "executed successfully" not in quiet.stderr
    assert "As you gave `client`" not in quiet.stderr
    assert "was missed" in quiet.stderr  # a warning that matters still shows
    loud = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environ | {"LOG_LEVEL": "DEBUG"},
        timeout=120,
    )
    assert "DEBUG apscheduler.executors.default: Running job" in loud.stderr
