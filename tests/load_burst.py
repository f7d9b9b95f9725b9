"""The 200-request burst of the load test, shared with benchmarks/bench_acks.py (which times it).

A mix a busy support team sends at once: slash commands with and without a search, sort clicks,
next-page clicks, block/unblock from a row's overflow menu, by admins and non-admins."""

from __future__ import annotations

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.conftest import ADMIN, USER, RunningApp, block_actions, sealed

REQUESTS = 200
STATE = "l|d|a||||0|"


def request(app: RunningApp, i: int, ids: list[int], prefix: str = "r") -> httpx.Response:
    """Request number i of the burst; its answer goes to a response_url of its own (`{prefix}{i}`: a benchmark
    that sends several bursts gives each its own, as Slack would; one URL takes at most 5 answers)."""
    kind = i % 5
    url = app.fake.response_url(f"{prefix}{i}")
    if kind in (0, 1):
        return app.command("müller" if kind else "", user=ADMIN if i % 2 else USER, response_url=url)
    if kind == 2:
        action = {"type": "button", "action_id": "list_sort_name", "block_id": f"sort|{STATE}", "value": "name"}
    elif kind == 3:
        action = {"type": "button", "action_id": "list_next", "block_id": f"nav|{STATE}", "value": str(ids[i % 40])}
    else:
        cid = ids[i % 40]
        choice = "block" if i % 2 else "unblock"
        action = {
            "type": "overflow",
            "action_id": "contact_menu",
            "block_id": f"row{cid}|{STATE}",
            "selected_option": {"value": sealed(f"{choice}:{cid}", purpose="contact_menu")},
        }
    return app.interact(block_actions(action, response_url=url))


def burst(send: Callable[[int], httpx.Response], count: int = REQUESTS) -> list[tuple[httpx.Response, float]]:
    """All requests at once from `count` threads: each response with its ack time in seconds."""

    def timed(i: int) -> tuple[httpx.Response, float]:
        started = time.perf_counter()
        response = send(i)
        return response, time.perf_counter() - started

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(timed, range(count)))
