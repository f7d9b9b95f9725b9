"""Never more than WHATSAPP_MAX_MPS sends in any sliding one-second window (issue 21).

The limiter on a fake clock (a property over any timing of workers, stalls, late timers and 429
slow-downs), and a real broadcast whose send requests the fake Graph API timestamps as they arrive
while the database stalls once mid-way: the old token bucket let the sends queued behind the stall
out together (78-82 in one second at a limit of 50, on either database).
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Sequence

from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st
from sqlalchemy import Engine, text

from bot.config.settings import load_settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from bot.services.broadcasts.throttle import TOLERANCE, Limiter
from storage.db import make_engine
from tests.broadcast_helpers import add_reachable, draft
from tests.conftest import wait_until
from tests.fakes.graph_api import FakeGraph

pytest_plugins = ("tests.broadcast_fixtures",)


def busiest_second(times: Sequence[float]) -> int:
    """The most timestamps in any sliding one-second window (half-open, as the fake counts)."""
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


# --- the limiter on a fake clock ---------------------------------------------------------------------


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@examples(max_examples=150, deadline=None)
@given(
    rate=st.integers(min_value=1, max_value=1000),
    workers=st.integers(min_value=1, max_value=60),
    # per attempt: how late the worker comes back after being told to wait (a busy loop, a stall)
    lateness=st.lists(st.floats(min_value=0.0, max_value=0.4), min_size=1, max_size=50),
    work=st.lists(st.floats(min_value=0.0, max_value=0.05), min_size=1, max_size=50),  # between sends
    slowdowns=st.lists(st.integers(min_value=0, max_value=600), max_size=3),  # at the Nth send, Meta says 130429
)
def test_no_one_second_window_ever_holds_more_than_the_limit(
    rate: int, workers: int, lateness: list[float], work: list[float], slowdowns: list[int]
) -> None:
    clock = Clock()
    limiter = Limiter(rate, clock=clock)
    sent: list[float] = []
    queue = [(clock.now, w) for w in range(workers)]
    heapq.heapify(queue)
    attempt = 0
    while queue and len(sent) < 600:
        clock.now, w = heapq.heappop(queue)
        attempt += 1
        if limiter.admit(clock.now):
            sent.append(clock.now)
            if len(sent) in slowdowns:
                limiter.slow_down(pause=0.5)
            if len(sent) % 150 == 0:
                limiter.recover()
            heapq.heappush(queue, (clock.now + work[attempt % len(work)], w))
        else:
            wait = limiter.delay(clock.now)
            assert wait > 0.0  # refused means told to wait
            heapq.heappush(queue, (clock.now + wait + lateness[attempt % len(lateness)], w))
    assert busiest_second(sent) <= rate  # WHATSAPP_MAX_MPS, at any moment
    assert busiest_second(sent) <= limiter.window or slowdowns  # and the headroom below it kept
    # Leaky, not bursty: no more sends at one moment than the timer tolerance allows, however late
    # the workers come back (a token bucket lets everything that waited through a stall go at once).
    if not slowdowns:
        burst = 1 + int(TOLERANCE / limiter.interval + 1e-9)
        assert max((sent.count(t) for t in set(sent)), default=0) <= burst


@examples(max_examples=100, deadline=None)
@given(rate=st.integers(min_value=1, max_value=1000), gaps=st.lists(st.floats(0.0, 0.01), min_size=1, max_size=300))
def test_a_send_that_waits_as_told_then_goes(rate: int, gaps: list[float]) -> None:
    """The wait is never too short (no spinning timer) and the rate is reached: one worker that comes
    back exactly when told is let through then, and keeps the configured pace."""
    clock = Clock()
    limiter = Limiter(rate, clock=clock)
    start = clock.now
    for gap in gaps:
        clock.now += gap
        if not limiter.admit(clock.now):
            clock.now += limiter.delay(clock.now) + 1e-9
            assert limiter.admit(clock.now)
    if len(gaps) > limiter.window:  # long enough to see the rate: no slower than the even spacing
        assert len(gaps) - 1 <= (clock.now - start + TOLERANCE) / limiter.interval + 1


# --- a real broadcast, timestamped by the fake Graph API ---------------------------------------------


def _stall_database(engine: Engine, fake: FakeGraph, after: int, seconds: float, done: threading.Event) -> None:
    """Once `after` sends arrived at the fake, hold the delivery table's write lock for `seconds` (a slow
    checkpoint, a long import): every marking transaction waits, and the workers pile up behind it."""
    wait_until(lambda: fake.stats()["requests"] >= after, "the broadcast did not start sending")
    stall = make_engine(engine.url.render_as_string(hide_password=False))
    try:
        with stall.connect() as conn:
            if conn.dialect.name == "sqlite":
                conn.exec_driver_sql("BEGIN IMMEDIATE")  # the database's write lock
            else:
                conn.execute(text("LOCK TABLE delivery IN SHARE MODE"))  # UPDATEs of delivery wait
            done.wait(seconds)
            conn.rollback()
    finally:
        stall.dispose()


def test_a_broadcast_never_exceeds_the_limit_at_the_receiver_even_after_a_database_stall(
    engine: Engine, db_url: str, fake_graph: FakeGraph
) -> None:
    settings = load_settings(
        DATABASE_URL=db_url,
        WHATSAPP_MAX_MPS=50,
        WHATSAPP_DAILY_LIMIT=0,
        BROADCAST_CONCURRENCY=50,
        **fake_graph.env(),
    )
    add_reachable(engine, 200)
    service.create(engine, settings, draft(settings))
    finished = threading.Event()
    staller = threading.Thread(target=_stall_database, args=(engine, fake_graph, 60, 0.8, finished), daemon=True)
    staller.start()
    try:
        Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    finally:
        finished.set()
        staller.join(timeout=30)
    counts = fake_graph.stats()["counts"]
    assert len(counts) == 200 and set(counts.values()) == {1}  # everyone, once
    arrivals = fake_graph.arrivals()  # every send request as it came in at "Meta"
    assert len(arrivals) == 200
    assert busiest_second(arrivals) <= 50
