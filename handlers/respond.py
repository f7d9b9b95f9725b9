"""Answers through response_urls that survive Slack's 429s and 5xx (Bolt's own `respond` never retries).

Only Slack's host is ever answered (handlers/response_urls.py), and however long a `Retry-After`
asks us to wait, one answer waits at most `MAX_WAIT_SECONDS` in total before giving up.
"""

from __future__ import annotations

import random
import time
from typing import Any

from slack_bolt.context.respond import Respond
from slack_bolt.context.respond.internals import _build_message
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)
from slack_sdk.http_retry.request import HttpRequest
from slack_sdk.http_retry.response import HttpResponse
from slack_sdk.http_retry.state import RetryState
from slack_sdk.webhook import WebhookClient, WebhookResponse

from handlers.response_urls import check

MAX_WAIT_SECONDS = 30.0


class CappedRateLimitRetry(RateLimitErrorRetryHandler):
    """Slack's 429 handling, but `Retry-After` (a number the answering server chooses) is capped:
    all waits of one answer together stay within `budget` seconds, else it gives up."""

    def __init__(self, max_retry_count: int = 3, budget: float = MAX_WAIT_SECONDS) -> None:
        super().__init__(max_retry_count=max_retry_count)
        self.left = budget

    def _wait(self, response: HttpResponse) -> float:
        values = {k.lower(): v for k, v in response.headers.items()}.get("retry-after") or ["1"]
        try:
            return max(0.0, float(values[0])) + random.random()
        except (TypeError, ValueError):
            return 1.0 + random.random()

    def _can_retry(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> bool:
        return response is not None and response.status_code == 429 and self._wait(response) <= self.left

    def prepare_for_next_attempt(
        self,
        *,
        state: RetryState,
        request: HttpRequest,
        response: HttpResponse | None = None,
        error: Exception | None = None,
    ) -> None:
        if response is None:
            raise error or RuntimeError("no response to retry")
        state.next_attempt_requested = True
        duration = min(self._wait(response), self.left)
        self.left -= duration
        time.sleep(duration)
        state.increment_current_attempt()


def webhook(url: str) -> WebhookClient:
    """A client for one answer; raises ForeignUrl for a URL that is not on Slack's host."""
    return WebhookClient(
        check(url),
        timeout=10,
        retry_handlers=[
            CappedRateLimitRetry(max_retry_count=3),
            ServerErrorRetryHandler(max_retry_count=2),
            ConnectionErrorRetryHandler(max_retry_count=2),
        ],
    )


class RetryingRespond(Respond):
    def __call__(self, text: str | dict[str, Any] = "", **kwargs: Any) -> WebhookResponse:  # type: ignore[override]  # Bolt's hint; same call
        if self.response_url is None:
            raise ValueError("respond is unsupported here as there is no response_url")
        message = _build_message(**text) if isinstance(text, dict) else _build_message(text=text, **kwargs)
        return webhook(self.response_url).send_dict(message)
