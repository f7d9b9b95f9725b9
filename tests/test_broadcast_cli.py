"""`contactbot templates|broadcast|worker` as a user runs them, incl. kill -9 in the middle of a broadcast."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.cli import main
from storage.models import Broadcast, Delivery, utcnow
from tests.broadcast_helpers import add_reachable, phone
from tests.conftest import wait_until
from tests.fakes import graph_api

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, fake_graph: graph_api.FakeGraph) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "200",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "4",
        "SLACK_BOT_TOKEN": "",
        "CONTACTBOT_LANG": "de",  # `broadcast send` speaks the locale's language; these runs expect German
        **fake_graph.env(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


def test_templates_command_lists_templates_and_parameters(cli_env: dict, capsys: pytest.CaptureFixture) -> None:
    assert main(["templates"]) == 0
    out = capsys.readouterr().out
    assert "termin_erinnerung" in out and "1, 2" in out and "REJECTED" in out


def test_broadcast_send_status_and_report(
    cli_env: dict,
    engine: Engine,
    fake_graph: graph_api.FakeGraph,
    capsys: pytest.CaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    add_reachable(engine, 3)
    code = main(
        [
            "broadcast",
            "send",
            "--template",
            "termin_erinnerung",
            "--lang-code",
            "de",
            "--param",
            "1=contact:name|Kunde",
            "--param",
            "2=Montag, 9 Uhr",
            "--yes",
            "--key",
            "k1",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "3 Empfänger" in out and "#1" in out
    assert fake_graph.stats()["counts"] == {phone(i): 1 for i in range(3)}
    assert (
        main(
            [
                "broadcast",
                "send",
                "--template",
                "termin_erinnerung",
                "--lang-code",
                "de",
                "--param",
                "1=a",
                "--param",
                "2=b",
                "--yes",
                "--key",
                "k1",
            ]
        )
        == 0
    )
    assert "schon" in capsys.readouterr().out  # same key: no second broadcast
    assert sum(fake_graph.stats()["counts"].values()) == 3
    monkeypatch.setenv("CONTACTBOT_LANG", "en")
    assert main(["broadcast", "status", "1"]) == 0
    assert "done" in capsys.readouterr().out
    monkeypatch.setenv("CONTACTBOT_LANG", "de")
    assert main(["broadcast", "report", "1"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].startswith("Nummer;Status") and len(lines) == 4


def test_missing_parameter_is_refused_before_anything_is_stored(
    cli_env: dict, engine: Engine, capsys: pytest.CaptureFixture
) -> None:
    add_reachable(engine, 1)
    code = main(
        ["broadcast", "send", "--template", "termin_erinnerung", "--lang-code", "de", "--param", "1=x", "--yes"]
    )
    assert code == 2 and "missing:2" in capsys.readouterr().err
    with Session(engine) as s:
        assert s.scalars(select(Broadcast)).first() is None


def test_scheduled_broadcast_waits_and_can_be_cancelled(
    cli_env: dict, engine: Engine, fake_graph: graph_api.FakeGraph, capsys: pytest.CaptureFixture
) -> None:
    add_reachable(engine, 2)
    assert (
        main(
            [
                "broadcast",
                "send",
                "--template",
                "hello_world",
                "--lang-code",
                "en_US",
                "--at",
                "2099-01-01T09:00+01:00",
                "--yes",
            ]
        )
        == 0
    )
    assert "geplant" in capsys.readouterr().out
    assert main(["worker", "--once"]) == 0
    assert fake_graph.stats()["counts"] == {}
    assert main(["broadcast", "cancel", "1"]) == 0
    assert main(["broadcast", "list"]) == 0
    assert "abgebrochen" in capsys.readouterr().out


@pytest.fixture
def graph_process() -> Iterator[graph_api.FakeGraph]:
    fake = graph_api.spawn()
    yield fake
    fake.stop()


def test_kill_9_mid_broadcast_then_resume_sends_nobody_twice(
    engine: Engine, db_url: str, graph_process: graph_api.FakeGraph
) -> None:
    add_reachable(engine, 240)
    graph_process.configure(delay=0.01)
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "60",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "6",
        "BROADCAST_LEASE_SECONDS": "1",
        "SLACK_BOT_TOKEN": "",
        **graph_process.env(),
    }
    send = [
        sys.executable,
        "-m",
        "bot",
        "broadcast",
        "send",
        "--template",
        "hello_world",
        "--lang-code",
        "en_US",
        "--yes",
        "--queue",
    ]
    assert subprocess.run(send, env=env, cwd=ROOT, capture_output=True, timeout=60).returncode == 0
    # Six recipients in the middle (as many requests as the worker runs at once) get no answer for the rest of the
    # test: once everyone before them is accepted the worker is stuck on them (until its 20 s read timeout), so
    # the kill lands in the middle whatever the machine's speed.
    held = [phone(120 + i) for i in range(6)]
    graph_process.configure(rules={number: [{"delay": 3600}] for number in held})
    worker = [sys.executable, "-m", "bot", "worker", "--once"]
    first = subprocess.Popen(worker, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stuck() -> bool:
        if graph_process.stats()["accepted"] < 120:
            return False
        with Session(engine) as s:
            states = dict(s.execute(select(Delivery.phone, Delivery.status).where(Delivery.phone.in_(held))).all())
        assert first.poll() is None, "the worker ended before it reached the held recipients"
        return all(states.get(number) == "sending" for number in held)

    wait_until(stuck, "the worker did not reach the held recipients")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=10)
    accepted_before = graph_process.stats()["accepted"]
    assert 120 <= accepted_before < 240, "the kill must land in the middle"

    def lease_ran_out() -> bool:
        with Session(engine) as s:
            until = s.scalars(select(Broadcast.lease_until)).one()
        return until is None or until < utcnow()

    wait_until(lease_ran_out, "the dead worker's lease did not run out")
    second = subprocess.run(worker, env=env, cwd=ROOT, capture_output=True, timeout=120)
    assert second.returncode == 0, second.stderr.decode()[-2000:]

    counts = graph_process.stats()["counts"]
    with Session(engine) as s:
        rows = list(s.scalars(select(Delivery)))
        status = s.scalars(select(Broadcast.status)).one()
    states = Counter(d.status for d in rows)
    assert status == "done"
    assert set(states) <= {"sent", "unknown"} and sum(states.values()) == 240
    assert max(counts.values()) == 1, "somebody got the message twice"
    sent = {d.phone for d in rows if d.status == "sent"}
    assert sent <= set(counts)  # every `sent` row really reached WhatsApp, once
    assert len(counts) == len(sent) + sum(1 for d in rows if d.status == "unknown" and d.phone in counts)
    assert len(counts) > accepted_before  # the second worker went on with the rest
    assert phone(239) in counts
