"""200 concurrent Slack requests against the running server on 100,000 contacts: all acked within 3 s.

The server runs in its own process (`contactbot serve`), as in production, so the client threads
of the test do not share its interpreter. The figures (printed with -s) are in docs/reliability.md.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.demo_data import generate
from storage.models import Contact
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, USER, RunningApp, block_actions, free_port, sealed

CONTACTS = 100_000
REQUESTS = 200


@pytest.fixture
def served(db_url: str, engine, fake_slack, settings) -> Iterator[RunningApp]:  # type: ignore[no-untyped-def]
    generate(engine, CONTACTS, tickets=0.0)
    port = free_port()
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_"))}
    environ |= {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "CONTACTBOT_ADMINS": ADMIN,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=environ,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{url}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        with httpx.Client(timeout=30, limits=httpx.Limits(max_connections=REQUESTS)) as http:
            yield RunningApp(url, fake_slack, engine, settings, http)
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.load
def test_200_concurrent_requests_are_all_acknowledged_in_time(served: RunningApp) -> None:
    running_app = served
    with Session(running_app.engine) as s:
        ids = list(s.scalars(select(Contact.id).where(Contact.active).order_by(Contact.id).limit(40)))
    state = "l|d|a||||0|"

    def one(i: int) -> float:
        started = time.perf_counter()
        kind = i % 5
        url = running_app.fake.response_url(f"r{i}")
        if kind in (0, 1):
            response = running_app.command("müller" if kind else "", user=ADMIN if i % 2 else USER, response_url=url)
        elif kind == 2:
            response = running_app.interact(
                block_actions(
                    {"type": "button", "action_id": "list_sort_name", "block_id": f"sort|{state}", "value": "name"},
                    response_url=url,
                )
            )
        elif kind == 3:
            response = running_app.interact(
                block_actions(
                    {"type": "button", "action_id": "list_next", "block_id": f"nav|{state}", "value": str(ids[i % 40])},
                    response_url=url,
                )
            )
        else:
            cid = ids[i % 40]
            choice = "block" if i % 2 else "unblock"
            response = running_app.interact(
                block_actions(
                    {
                        "type": "overflow",
                        "action_id": "contact_menu",
                        "block_id": f"row{cid}|{state}",
                        "selected_option": {"value": sealed(f"{choice}:{cid}", purpose="contact_menu")},
                    },
                    response_url=url,
                )
            )
        assert response.status_code == 200, response.text
        return time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=REQUESTS) as pool:
        latencies = sorted(pool.map(one, range(REQUESTS)))
    answers = running_app.fake.wait_for("response_url", count=REQUESTS, timeout=120)
    assert len({c.path for c in answers}) == REQUESTS  # every request got its own answer
    p50, p95 = statistics.median(latencies), latencies[int(len(latencies) * 0.95) - 1]
    print(
        f"\nack latency over {REQUESTS} concurrent requests on {CONTACTS} contacts: "
        f"p50 {p50 * 1000:.0f} ms, p95 {p95 * 1000:.0f} ms, max {latencies[-1] * 1000:.0f} ms"
    )
    assert latencies[-1] < 3.0  # Slack's ack deadline
