"""Where an answer may go: a `response_url` is only ever used when it is on Slack's host.

A `response_url` arrives inside the request (or a modal's metadata) and the app POSTs to it; were
any URL accepted, a request could make the server post to any address. Slack's response_urls are
`https://hooks.slack.com/...`; the only other origin accepted is the configured `SLACK_API_URL`'s
(scheme, host and port compared), which is Slack's own in production and the fake in the tests.
"""

from __future__ import annotations

import threading
from urllib.parse import urlsplit

Origin = tuple[str, str, int]

SLACK_HOOKS: Origin = ("https", "hooks.slack.com", 443)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_allowed: set[Origin] = {SLACK_HOOKS}
_lock = threading.Lock()


class ForeignUrl(ValueError):
    """A response_url outside Slack's host: nothing is sent to it."""


def origin(url: str) -> Origin | None:
    """(scheme, host, port) of an http(s) URL, or None when it is not one (or has user info)."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname or parts.username or parts.password:
        return None
    return parts.scheme, parts.hostname.lower(), port or _DEFAULT_PORTS[parts.scheme]


def allow_api_origin(api_url: str) -> None:
    """Accept answers on the configured SLACK_API_URL's origin too (set once per app at start-up)."""
    if (found := origin(api_url)) is not None:
        with _lock:
            _allowed.add(found)


def is_slack(url: object) -> bool:
    return isinstance(url, str) and origin(url) in _allowed


def check(url: str) -> str:
    if not is_slack(url):
        raise ForeignUrl("response_url is not on Slack's host")
    return url
