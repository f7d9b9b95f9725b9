"""The Slack side of `contactbot doctor`: auth.test with the token's scopes, Socket Mode, admins' user ids.

Each answer is a plain value or Slack's error code, so the doctor service (which may not talk to Slack itself)
can judge it; the network failing is an error code too (`unreachable: ...`).
"""

from __future__ import annotations

import urllib.error
from dataclasses import dataclass, field

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings
from handlers.clients.web_api import web_client


@dataclass(frozen=True)
class AuthResult:
    error: str | None
    team: str = ""
    bot_user: str = ""
    scopes: frozenset[str] = field(default_factory=frozenset)


def _error(exc: Exception) -> str:
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error") or "unknown_error")
    if isinstance(exc, urllib.error.URLError):
        return f"unreachable: {exc.reason}"
    return f"unreachable: {type(exc).__name__}"


class SlackChecks:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = web_client(settings)

    def auth(self) -> AuthResult:
        """auth.test; the granted scopes come in the `x-oauth-scopes` header of every Web API answer
        (https://docs.slack.dev/authentication/tokens#scopes, "x-oauth-scopes")."""
        try:
            response = self.client.auth_test()
        except (SlackApiError, OSError) as exc:
            return AuthResult(_error(exc))
        headers = {k.lower(): v for k, v in (response.headers or {}).items()}
        raw = headers.get("x-oauth-scopes", "")
        text = raw[0] if isinstance(raw, list) and raw else str(raw)
        scopes = frozenset(s.strip() for s in text.split(",") if s.strip())
        return AuthResult(None, str(response.get("team") or ""), str(response.get("user_id") or ""), scopes)

    def socket_mode(self) -> str | None:
        """apps.connections.open with the app-level token: None when Socket Mode would connect.
        https://docs.slack.dev/reference/methods/apps.connections.open"""
        client = WebClient(token=self.settings.slack_app_token, base_url=self.settings.slack_api_url, timeout=10)
        try:
            client.apps_connections_open(app_token=self.settings.slack_app_token)
        except (SlackApiError, OSError) as exc:
            return _error(exc)
        return None

    def user(self, user_id: str) -> str | None:
        """users.info: None for a real, active person; else Slack's error, `deleted` or `is_bot`."""
        try:
            response = self.client.users_info(user=user_id)
        except (SlackApiError, OSError) as exc:
            return _error(exc)
        user = response.get("user") or {}
        if user.get("deleted"):
            return "deleted"
        if user.get("is_bot"):
            return "is_bot"
        return None
