"""The broadcast throttle: never more than WHATSAPP_MAX_MPS sends in any sliding one-second window.

A token bucket does not give that: after a stall (a slow database commit, a busy event loop) the
sends whose turns passed meanwhile leave together, and a burst plus the receiver's own jitter put
1,008-1,020 into Meta's busiest second at a limit of 1,000 in every measured run (issue 21). Here
the check is made at the moment a request really leaves, as a leaky bucket (GCRA, "virtual
scheduling", with a tolerance of a couple of milliseconds for timer granularity: no catching up
after a stall) plus a hard sliding window over those moments. Evenly spaced sends are what keep
Meta's count under the limit, because every window at the receiver then holds at most what a
slightly longer window held here: the headroom below the limit covers that much jitter.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque
from collections.abc import Callable

TOLERANCE = 0.002  # seconds a send may leave ahead of even spacing (timer granularity; no catch-up)
MIN_SLEEP = 0.0005  # never re-arm the timer for less: a timer that fires early would spin


def headroom(rate: float) -> float:
    """Sends per second kept free below the limit: evenly spaced sends arriving with up to
    headroom/rate seconds of jitter (network, a descheduled receiver) still fit a one-second window."""
    return max(4.0, math.ceil(rate * 0.02)) if rate > 8 else rate / 2


class Limiter:
    """Paces the sends of one broadcast: `pace()` before the in-flight marker, `take()` right before
    the request leaves (the exact check). `slow_down` halves the rate and pauses everyone (Meta said
    130429); `recover` climbs back after a quiet spell.

    `clock` is the time source of every decision (a test drives `delay`/`admit` with its own).
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.max_rate = float(rate)
        self._set_rate(float(rate))
        now = clock()
        self.tat = now  # theoretical departure time of the next send (GCRA)
        self.ahead = now  # the same for `pace()`: reservations, so waiting workers sleep once
        self.paused_until = 0.0
        self.last_slowdown = -math.inf
        self.sent: deque[float] = deque()  # real departure times of the last second
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._timer: asyncio.TimerHandle | None = None

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self.window = max(1, math.floor(rate - headroom(rate)))  # at most this many in any one second
        self.interval = 1.0 / self.window

    # --- the exact check, on real departure times ---

    def delay(self, now: float) -> float:
        """Seconds until a send may leave, judged at `now` (0: it may leave now)."""
        sent = self.sent
        while sent and now - sent[0] >= 1.0:
            sent.popleft()
        wait = max(self.paused_until - now, self.tat - TOLERANCE - now)
        if len(sent) >= self.window:
            age = now - sent[-self.window]  # the same arithmetic as the pruning above: `sent + 1.0` may round
            if age < 1.0:
                wait = max(wait, 1.0 - age + 1e-9)
        return max(0.0, wait)

    def admit(self, now: float) -> bool:
        """Let one send leave at `now` if it may: True, and it is counted."""
        if self.delay(now) > 0.0:
            return False
        self.tat = max(self.tat, now) + self.interval
        self.sent.append(now)
        return True

    async def take(self) -> None:
        """Wait until this send may leave. First come, first served; one timer for all waiters."""
        if not self._waiting and self.admit(self.clock()):
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append(future)
        if self._timer is None:
            self._release()
        await future

    def _release(self) -> None:
        self._timer = None
        now = self.clock()
        waiting = self._waiting
        while waiting:
            if waiting[0].done():  # its worker was cancelled
                waiting.popleft()
                continue
            if not self.admit(now):
                break
            waiting.popleft().set_result(None)
        if waiting:
            wait = max(MIN_SLEEP, self.delay(now))
            self._timer = asyncio.get_running_loop().call_later(wait, self._release)

    # --- pacing ahead of the marker ---

    async def pace(self) -> None:
        """Sleep until about this worker's turn, before it marks its row as requested: the marker then
        holds only rows about to leave (a crash leaves few `unknown` rows), and `take()` seldom waits."""
        now = self.clock()
        slot = max(now, self.paused_until, self.ahead - TOLERANCE)
        self.ahead = max(self.ahead, slot) + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)

    # --- Meta says slow down ---

    def slow_down(self, pause: float) -> None:
        now = self.clock()
        if now - self.last_slowdown > 1.0:  # one 429 burst halves once, not once per request
            self._set_rate(max(1.0, self.rate / 2))
        self.last_slowdown = now
        self.paused_until = max(self.paused_until, now + pause)
        self.ahead = max(self.ahead, self.paused_until)

    def recover(self) -> None:
        now = self.clock()
        if self.rate < self.max_rate and now - self.last_slowdown > 10.0:
            self._set_rate(min(self.max_rate, self.rate * 1.25))
            self.last_slowdown = now - 5.0
