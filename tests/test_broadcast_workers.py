"""Two `contactbot worker` processes against one PostgreSQL: scheduled jobs and a running broadcast are
shared without a duplicate send and without a lost recipient, also when the sending one is killed -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config.settings import load_settings
from bot.domain.contacts import ContactFilter
from bot.services.broadcasts import service
from storage.models import Broadcast, Delivery, utcnow
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.factories import BASE, add_contact
from tests.fakes import graph_api

ROOT = Path(__file__).resolve().parents[1]
pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def graph_process() -> Iterator[graph_api.FakeGraph]:
    fake = graph_api.spawn()
    yield fake
    fake.stop()


def _wait(what: Callable[[], bool], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not what():
        assert time.monotonic() < deadline, message
        time.sleep(0.05)


def _broadcast(engine: Engine, bid: int) -> Broadcast:
    with Session(engine) as s:
        row = s.get(Broadcast, bid)
        assert row is not None
        return row


def _requested(engine: Engine, bid: int) -> set[str]:
    """Rows left `sending` with the in-flight marker: their request was started."""
    with Session(engine) as s:
        stmt = select(Delivery.phone).where(
            Delivery.broadcast_id == bid,
            Delivery.status == "sending",
            Delivery.requested_at.is_not(None),  # type: ignore[union-attr]
        )
        return set(s.scalars(stmt))


def _rows(engine: Engine, bid: int) -> dict[str, str]:
    with Session(engine) as s:
        return {d.phone: d.status for d in s.scalars(select(Delivery).where(Delivery.broadcast_id == bid))}


def test_two_workers_share_the_work_and_the_survivor_of_a_kill_9_finishes_it(
    engine: Engine, db_url: str, graph_process: graph_api.FakeGraph, tmp_path: Path
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("several workers run against PostgreSQL (set CONTACTBOT_TEST_DATABASE_URL)")
    add_reachable(engine, 300)  # "Kunde i": the big broadcast
    early = [phone(500 + i) for i in range(10)]
    late = [phone(900 + i) for i in range(20)]
    for i, number in enumerate(early):
        add_contact(engine, number, f"Frueh {i}", consent_at=BASE)
    for i, number in enumerate(late):
        add_contact(engine, number, f"Spaet {i}", consent_at=BASE)
    graph_process.configure(delay=0.01)
    env = {
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "50",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "6",
        "BROADCAST_LEASE_SECONDS": "2",
        "SLACK_BOT_TOKEN": "",
        **graph_process.env(),
    }
    settings = load_settings(**env)

    def audience(name: str) -> service.AudienceSpec:
        return service.AudienceSpec.of_filter(ContactFilter(status="all", search=name))

    # A scheduled broadcast due while both workers run: both schedulers see its job, it runs once.
    first = draft(settings, name="hello_world", lang="en_US", audience=audience("Frueh"))
    first.scheduled_at = utcnow() + timedelta(seconds=4)
    b0, _ = service.create(engine, settings, first)
    worker = [sys.executable, "-m", "bot", "worker"]
    logs = [(tmp_path / f"worker{i}.log").open("wb") for i in range(2)]
    procs = [
        subprocess.Popen(worker, env={**os.environ, **env}, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
        for log in logs
    ]
    try:
        _wait(lambda: _broadcast(engine, b0.id or 0).status == "done", 120, "the scheduled broadcast did not run")
        assert all(p.poll() is None for p in procs)

        # Six recipients in the middle (as many requests as the sender runs at once) get no answer for the rest of
        # the test: once everyone before them is accepted, the sending worker is stuck on them (until its 20 s read
        # timeout), so the kill lands in the middle whatever the machine's speed.
        held = [phone(150 + i) for i in range(6)]
        graph_process.configure(rules={number: [{"delay": 3600}] for number in held})
        b1, _ = service.create(engine, settings, draft(settings, audience=audience("Kunde")))

        def stuck() -> bool:
            if graph_process.stats()["accepted"] < 10 + 150:
                return False
            return set(held) <= _requested(engine, b1.id or 0)  # all six requests started (and unanswered)

        _wait(stuck, 120, "the broadcast did not reach the held recipients")
        owner = _broadcast(engine, b1.id or 0).lease_owner or ""
        holder = next(p for p in procs if owner.split(":")[-2:-1] == [str(p.pid)])
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(timeout=10)
        survivor = next(p for p in procs if p is not holder)
        claimed = {p for p, status in _rows(engine, b1.id or 0).items() if status == "sending"}
        in_flight = _requested(engine, b1.id or 0)  # a request was started: may have reached Meta
        assert set(held) <= in_flight <= claimed
        assert len(in_flight) <= 6  # at most one per concurrent request
        assert _broadcast(engine, b1.id or 0).status == "running", "the kill must land in the middle"

        # Due while the sending worker is dead: the survivor runs it too, once.
        second = draft(settings, name="hello_world", lang="en_US", audience=audience("Spaet"))
        second.scheduled_at = utcnow() + timedelta(seconds=1)
        b2, _ = service.create(engine, settings, second)
        _wait(lambda: _broadcast(engine, b2.id or 0).status == "done", 120, "the survivor did not send the second")
        _wait(lambda: _broadcast(engine, b1.id or 0).status == "done", 120, "the survivor did not finish the first")
        assert survivor.poll() is None
    finally:
        for p in procs:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        for log in logs:
            log.close()

    counts = graph_process.stats()["counts"]
    assert max(counts.values()) == 1, "somebody got a message twice"
    assert _broadcast(engine, b1.id or 0).status == "done"
    rows = _rows(engine, b1.id or 0)
    assert {p for p, status in rows.items() if status == "unknown"} == in_flight  # exactly those, not resent
    assert {p for p in claimed - in_flight if rows[p] == "sent"} == claimed - in_flight  # never requested: sent
    assert {p for p, status in rows.items() if status != "unknown"} == {phone(i) for i in range(300)} - in_flight
    assert {status for p, status in rows.items() if p not in in_flight} == {"sent"}
    sent = {p for p, status in rows.items() if status == "sent"}
    assert sent <= set(counts)  # every `sent` row really reached WhatsApp
    assert set(counts) - in_flight == sent | set(early) | set(late)  # and nobody else did
    for bid, numbers in ((b0.id or 0, early), (b2.id or 0, late)):
        assert _rows(engine, bid) == dict.fromkeys(numbers, "sent")
    assert {p: counts.get(p) for p in early + late} == dict.fromkeys(early + late, 1)
