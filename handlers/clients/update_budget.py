"""One chat.update budget per workspace, shared by every progress message this process redraws.

chat.update is Tier 3: about 50 calls per minute per workspace (https://docs.slack.dev/reference/methods/chat.update,
https://docs.slack.dev/apis/web-api/rate-limits). Import progress (every 2 s) and broadcast reports (every 3 s)
together used to pass it; slack_sdk's retry handler then slept out the Retry-After inside the caller (the
broadcast sender's flusher). Progress updates now take a token from this budget or are skipped, are sent without
the sleeping retry, and a 429 closes the budget for its Retry-After: a skipped progress line costs nothing, the
next one (or the final one) shows the current state anyway.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

log = logging.getLogger(__name__)
PER_MINUTE = 40  # below Tier 3's ~50, to leave room for finals and one-off updates


class UpdateBudget:
    """A token bucket (PER_MINUTE per minute, burst of 10) plus a closed-until time after a 429."""

    def __init__(self, per_minute: float = PER_MINUTE, burst: float = 10.0) -> None:
        self.rate, self.burst = per_minute / 60.0, burst
        self.tokens, self.at = burst, time.monotonic()
        self.closed_until = 0.0
        self.lock = threading.Lock()

    def take(self) -> bool:
        """True: a progress update may go out now (a token is spent); False: skip this one."""
        with self.lock:
            now = time.monotonic()
            if now < self.closed_until:
                return False
            self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
            self.at = now
            if self.tokens < 1:
                return False
            self.tokens -= 1
            return True

    def wait_time(self) -> float:
        """Seconds until a 429's Retry-After has passed (0: open)."""
        with self.lock:
            return max(0.0, self.closed_until - time.monotonic())

    def close_for(self, seconds: float) -> None:
        with self.lock:
            self.closed_until = max(self.closed_until, time.monotonic() + seconds)


_BUDGETS: dict[str, UpdateBudget] = {}
_BUDGETS_LOCK = threading.Lock()


def budget_for(workspace: str) -> UpdateBudget:
    """The process-wide budget of one workspace (keyed by the bot token's workspace, or the token's hash)."""
    with _BUDGETS_LOCK:
        return _BUDGETS.setdefault(workspace, UpdateBudget())


def no_wait(client: WebClient) -> WebClient:
    """The same client without the rate-limit retry: a 429 comes back at once instead of sleeping in the caller."""
    return WebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        retry_handlers=[ConnectionErrorRetryHandler()],
    )


def update(client: WebClient, budget: UpdateBudget, final: bool, **message: Any) -> bool:
    """chat.update for a progress message. Not final: only with a token, skipped otherwise. Either way sent once,
    without sleeping on a 429 (the budget closes for its Retry-After). True when Slack took it."""
    if not final and not budget.take():
        return False
    try:
        no_wait(client).chat_update(**message)
        return True
    except SlackApiError as exc:
        if exc.response.status_code == 429:
            retry_after = float(exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", 30)))
            budget.close_for(retry_after)
            log.info("chat.update rate limited: progress updates paused for %.0f s", retry_after)
        else:
            log.warning("chat.update failed: %s", exc.response.get("error"))
        return False
