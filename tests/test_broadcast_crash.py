"""A `contactbot worker` killed with SIGKILL mid-broadcast at a realistic rate (issue 22): only rows whose
request was really started may be ambiguous (at most one per concurrent request); rows it had only
claimed are sent by the next worker; ambiguous rows are settled by their status webhook (the delivery
id comes back in `biz_opaque_callback_data`); nobody gets the message twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.broadcasts import ambiguity, service
from storage.broadcasts import Ambiguity
from storage.models import Broadcast, Delivery
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp, wait_until
from tests.fakes import graph_api
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import APP_SECRET, webhook_settings

ROOT = Path(__file__).resolve().parents[1]
RECIPIENTS = 1500
CONCURRENCY = 10


@pytest.fixture
def graph_process() -> Iterator[graph_api.FakeGraph]:
    fake = graph_api.spawn()  # its own process: its CPU is not the worker's
    yield fake
    fake.stop()


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, graph_process: graph_api.FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **graph_process.env())


def _rows(engine: Engine, bid: int) -> dict[str, Delivery]:
    with Session(engine) as s:
        return {d.phone: d for d in s.scalars(select(Delivery).where(Delivery.broadcast_id == bid))}


def _worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "worker", "--no-scheduler"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_sigkill_mid_broadcast_leaves_only_requests_in_flight_unknown_and_sends_the_rest_once(
    running_app: RunningApp, db_url: str, graph_process: graph_api.FakeGraph, tmp_path: Path
) -> None:
    engine, settings = running_app.engine, running_app.settings
    if engine.dialect.name != "postgresql":
        pytest.skip("a worker process beside the web server at 150/s: PostgreSQL (CONTACTBOT_TEST_DATABASE_URL)")
    add_reachable(engine, RECIPIENTS)
    # Like Meta: about 50 ms per send, and a `sent` status webhook for every accepted message, posted to the web
    # server (which lives on while the worker dies) with the send's biz_opaque_callback_data.
    graph_process.configure(
        delay=0.05,
        webhook={"url": f"{running_app.url}/whatsapp/webhook", "secret": APP_SECRET, "statuses": ["sent"]},
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_"))}
    env |= {
        "DATABASE_URL": db_url,
        "WHATSAPP_MAX_MPS": "150",
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": str(CONCURRENCY),
        "BROADCAST_LEASE_SECONDS": "2",
        "SLACK_BOT_TOKEN": "",
        **graph_process.env(),
    }
    row, _ = service.create(engine, settings, draft(settings))
    bid = row.id or 0
    log = tmp_path / "worker.log"
    first = _worker(env, log)
    try:
        wait_until(lambda: graph_process.stats()["accepted"] >= 400, f"the worker did not send: {log.read_text()}")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=30)
    finally:
        if first.poll() is None:
            first.kill()
    assert first.returncode == -signal.SIGKILL
    at_kill = _rows(engine, bid)
    requested = {p for p, d in at_kill.items() if d.status == "sending" and d.requested_at is not None}
    claimed_only = {p for p, d in at_kill.items() if d.status == "sending" and d.requested_at is None}
    with Session(engine) as s:
        assert s.get(Broadcast, bid).status == "running"  # type: ignore[union-attr]
    assert len(requested) <= CONCURRENCY  # at most one request in flight per concurrent sender
    assert claimed_only, "the worker claims ahead: some rows were claimed and never requested"

    # What the fake was still answering when the worker died has been answered (and its webhook posted).
    wait_until(lambda: graph_process.stats()["active"] == 0, "the fake did not finish the dead worker's requests")
    reached = set(graph_process.stats()["counts"])
    assert not claimed_only & reached  # never requested, as the marker says

    # The next worker (policy on: an unknown row with no status webhook is resent after 1 s).
    second = _worker(env | {"BROADCAST_RESEND_UNKNOWN_AFTER": "1"}, log)
    try:

        def finished() -> bool:
            assert second.poll() is None, log.read_text()
            with Session(engine) as s:
                if s.get(Broadcast, bid).status != "done":  # type: ignore[union-attr]
                    return False
            return all(d.status == "sent" for d in _rows(engine, bid).values())

        wait_until(finished, f"the broadcast did not finish after the restart: {log.read_text()[-3000:]}", 300)
    finally:
        second.send_signal(signal.SIGTERM)
        try:
            second.wait(timeout=30)
        except subprocess.TimeoutExpired:
            second.kill()

    stats = graph_process.stats()
    assert stats["invalid"] == []
    counts = stats["counts"]
    assert max(counts.values()) == 1, "somebody got two accepted sends"
    assert counts == {phone(i): 1 for i in range(RECIPIENTS)}  # and everyone got one
    rows = _rows(engine, bid)
    for p in claimed_only:  # claimed, never requested: back to pending, sent once by the next worker
        assert rows[p].status == "sent" and rows[p].attempts == 1 and rows[p].unknown_at is None
    settled = requested & reached
    for p in settled:  # Meta had it: the status webhook (by delivery id) settled it, never resent
        assert rows[p].unknown_at is not None and rows[p].resent_at is None and rows[p].wa_message_id
    for p in requested - reached:  # marked, but the kill came before the request: no status, resent by policy
        assert rows[p].resent_at is not None
    report = service.report(engine, bid)
    assert report.ambiguity == Ambiguity(
        ambiguous=len(requested), settled=len(settled), resent=len(requested - reached), unknown=0
    )
    if requested:
        lines = ambiguity.lines(report, "en")
        assert f"no answer (may have arrived) {len(requested)}" in lines[0]
        assert f"settled by a status {len(settled)}" in lines[0]
