"""The broadcast throttle: never more than WHATSAPP_MAX_MPS sends in any one-second window."""

from __future__ import annotations

import asyncio
import math
import time
from collections import deque


def headroom(rate: float) -> float:
    """Sends per second kept free below the limit, so arrival jitter at Meta never tips a second over."""
    return max(4.0, math.ceil(rate * 0.02)) if rate > 8 else rate / 2


class TokenBucket:
    """A token bucket just under WHATSAPP_MAX_MPS with a small burst, backed by a sliding window.

    Written as virtual scheduling (GCRA): each send reserves its time slot, so waiting senders
    sleep once instead of polling. The window (the slots of the last sends) makes "at most the
    limit in any one-second window" hold by construction. `slow_down` lowers the rate and pauses
    everyone (Meta said 130429); `recover` climbs back after a quiet spell.
    """

    def __init__(self, rate: float) -> None:
        self.max_rate = float(rate)
        self._set_rate(float(rate))
        self.tat = time.monotonic()  # theoretical arrival time of the next send
        self.paused_until = 0.0
        self.last_slowdown = 0.0
        self.slots: deque[float] = deque()  # reserved send times
        self.sent: deque[float] = deque()  # actual send times

    def _set_rate(self, rate: float) -> None:
        self.rate = rate
        self.window = max(1, math.floor(rate - headroom(rate)))
        self.interval = 1.0 / self.window
        self.tolerance = max(1.0, math.floor(self.window * 0.02)) * self.interval  # the burst

    def reserve(self, now: float) -> float:
        """The time this send may go out; later callers get later slots."""
        slot = max(now, self.paused_until, self.tat - self.tolerance)
        while self.slots and slot - self.slots[0] >= 1.0:
            self.slots.popleft()
        if len(self.slots) >= self.window:
            slot = self.slots.popleft() + 1.0
        self.tat = max(self.tat, slot) + self.interval
        self.slots.append(slot)
        return slot

    async def take(self) -> None:
        now = time.monotonic()
        delay = self.reserve(now) - now
        if delay > 0:
            await asyncio.sleep(delay)
        # A late wake-up (a busy loop) must not turn reserved slots into a burst: the window also
        # holds for the moments the requests really leave.
        while True:
            now = time.monotonic()
            while self.sent and now - self.sent[0] >= 1.0:
                self.sent.popleft()
            if len(self.sent) < self.window:
                self.sent.append(now)
                return
            await asyncio.sleep(self.sent[0] + 1.0 - now)

    def slow_down(self, pause: float) -> None:
        now = time.monotonic()
        if now - self.last_slowdown > 1.0:  # one 429 burst halves once, not once per request
            self._set_rate(max(1.0, self.rate / 2))
        self.last_slowdown = now
        self.paused_until = max(self.paused_until, now + pause)
        self.tat = max(self.tat, self.paused_until)

    def recover(self) -> None:
        if self.rate < self.max_rate and time.monotonic() - self.last_slowdown > 10.0:
            self._set_rate(min(self.max_rate, self.rate * 1.25))
            self.last_slowdown = time.monotonic() - 5.0
