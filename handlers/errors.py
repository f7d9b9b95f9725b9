"""When our code fails (database down, Slack API error), the user hears it; nothing fails silently."""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from bot.i18n import DEFAULT_LANGUAGE, t
from handlers.respond import webhook
from handlers.response_urls import is_slack

log = logging.getLogger("contactbot.handlers")
# Failure notices go out from here, never from the thread answering Slack's request: a slow
# response_url (429 with Retry-After) must not hold a request thread.
_NOTICES = ThreadPoolExecutor(max_workers=4, thread_name_prefix="notice")


def tell_failure_later(body: dict[str, Any] | None, lang: str = DEFAULT_LANGUAGE) -> None:
    """tell_failure on a background thread (for the global error handler, which runs on a request thread)."""
    _NOTICES.submit(tell_failure, body, lang)


def tell_failure(body: dict[str, Any] | None, lang: str = DEFAULT_LANGUAGE) -> None:
    """A "please try again" line at the interaction's response_url, if it has one on Slack's host."""
    body = body or {}
    first: dict[str, Any] = next(iter(body.get("response_urls") or []), {})
    url = body.get("response_url") or first.get("response_url")
    if not isinstance(url, str) or not url:
        return
    if not is_slack(url):
        log.warning("not answering a failure: the response_url is not on Slack's host")
        return
    try:
        webhook(url).send(text=t("error.generic", lang), response_type="ephemeral", replace_original=False)
    except Exception:  # the answer channel itself is down: the log line below is all we can do
        log.warning("could not tell the user about a failure")


def answers_errors(func: Callable[..., None]) -> Callable[..., None]:
    """For lazy listeners, whose exceptions Bolt only logs: log the failure and tell the user."""

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        try:
            func(**kwargs)
        except Exception as exc:
            log.error("%s failed: %s", func.__name__, type(exc).__name__, exc_info=True)
            context = kwargs.get("context") or {}
            body = kwargs.get("body") or kwargs.get("command")
            tell_failure(body, context.get("lang", DEFAULT_LANGUAGE) if hasattr(context, "get") else DEFAULT_LANGUAGE)

    return wrapper
