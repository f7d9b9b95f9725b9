"""200 concurrent Slack requests against the running server on 100,000 contacts: every one is acknowledged,
every one gets its own answer, none is handled twice.

The server runs in its own process (`contactbot serve`), as in production, so the client threads
of the test do not share its interpreter. How fast the acks are is a benchmark, not a test
(timing depends on the machine): `python benchmarks/bench_acks.py`, figures in docs/benchmarks.md.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.services.demo_data import generate
from storage.models import Contact
from tests import serve_process
from tests.fakes.slack_api import FakeSlack
from tests.load_burst import REQUESTS, burst, request

CONTACTS = 100_000


@pytest.fixture
def served(db_url: str, engine: Engine, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[serve_process.ServeProcess]:
    generate(engine, CONTACTS, tickets=0.0)
    # The burst's 200 client threads share this test process with the fake Slack; on a loaded machine a thread
    # may connect and only send its headers many seconds later. The header deadline (a slow-loris defence,
    # tested in test_wire_limits.py) is not what this test is about, so it is set to its maximum here.
    proc = serve_process.serve(db_url, fake_slack, tmp_path / "serve.log", CONTACTBOT_HEADER_TIMEOUT_SECONDS="300")
    try:
        yield proc
    finally:
        proc.stop()


@pytest.mark.load
def test_200_concurrent_requests_are_all_acknowledged_and_answered_once(
    served: serve_process.ServeProcess, engine: Engine, fake_slack: FakeSlack
) -> None:
    with Session(engine) as s:
        ids = list(s.scalars(select(Contact.id).where(Contact.active).order_by(Contact.id).limit(40)))
    with httpx.Client(timeout=120, limits=httpx.Limits(max_connections=REQUESTS)) as http:
        app = serve_process.client(served, fake_slack, engine, http)
        results = burst(lambda i: request(app, i, ids))
        assert [r.status_code for r, _ in results] == [200] * REQUESTS, [r.text for r, _ in results if r.is_error]
        fake_slack.wait_for("response_url", count=REQUESTS, timeout=300)
    assert served.stop() == 0, served.logs()  # SIGTERM drains the listeners: nothing is still on its way
    answered = Counter(call.path for call in fake_slack.of("response_url"))
    assert sorted(answered) == sorted(f"/response/r{i}" for i in range(REQUESTS))  # every request, its own answer
    assert set(answered.values()) == {1}, "a request was answered twice"
