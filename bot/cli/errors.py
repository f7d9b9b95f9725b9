"""One line instead of a traceback: what went wrong, naming the setting or the cause, and what to do.

`main()` hands every exception a command raises to `explain()`. Exit code 2 means configuration (the
user fixes a setting or an argument), 1 a runtime failure (a service is down, a request failed). The
traceback is for `--debug` (or LOG_LEVEL=DEBUG) only.
"""

from __future__ import annotations

import os
import sqlite3
import urllib.error
from dataclasses import dataclass, field

import httpx
from slack_bolt.error import BoltError
from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings, SettingsError
from bot.i18n import t
from bot.whatsapp.errors import Ambiguous, WhatsAppError
from storage.db import DatabaseError, OperationalError, database_location

CONFIG = 2
RUNTIME = 1

SLACK_TOKEN_ERRORS = ("invalid_auth", "not_authed", "account_inactive", "token_revoked", "token_expired")


@dataclass
class CliError(Exception):
    """A failure the command line explains itself: a catalog key, its values and the exit code."""

    key: str
    exit_code: int = RUNTIME
    values: dict[str, object] = field(default_factory=dict)

    def message(self, lang: str) -> str:
        return t(self.key, lang, **self.values)


def config_error(key: str, **values: object) -> CliError:
    return CliError(key, CONFIG, values)


def runtime_error(key: str, **values: object) -> CliError:
    return CliError(key, RUNTIME, values)


def require_whatsapp(settings: Settings, *, phone: bool = False) -> None:
    """Commands that call Meta stop here, before a request with an empty token or id goes out."""
    needed = [
        ("WHATSAPP_TOKEN", settings.whatsapp_token, "a system user token from Meta Business Suite, EAA..."),
        ("WHATSAPP_BUSINESS_ACCOUNT_ID", settings.whatsapp_business_account_id, "WhatsApp Manager -> account info"),
    ]
    if phone:
        needed.append(("WHATSAPP_PHONE_NUMBER_ID", settings.whatsapp_phone_number_id, "WhatsApp Manager -> phone"))
    for name, value, hint in needed:
        if not value.strip():
            raise config_error("cli.error.whatsapp_missing", setting=name, hint=hint)


def explain(exc: BaseException, settings: Settings | None) -> CliError | None:
    """The one-line explanation of `exc`, or None when we have none (the caller then shows its type)."""
    if isinstance(exc, CliError):
        return exc
    if isinstance(exc, SettingsError):
        return config_error("cli.error.config", message=str(exc))
    if isinstance(exc, DatabaseError):
        return _database(exc, settings)
    if isinstance(exc, WhatsAppError):
        return _whatsapp(exc)
    if isinstance(exc, Ambiguous):
        return runtime_error("cli.error.whatsapp_unsure", cause=str(exc))
    if isinstance(exc, httpx.TransportError):
        host = exc.request.url.host if _has_request(exc) else "?"
        setting = _setting_for(host, settings)
        return runtime_error("cli.error.unreachable", host=host, cause=_cause(exc), setting=setting)
    if isinstance(exc, SlackApiError):
        error = str(exc.response.get("error", "")) if exc.response is not None else ""
        if error in SLACK_TOKEN_ERRORS:
            return config_error("cli.error.slack_token", error=error)
        return runtime_error("cli.error.slack_other", error=error or str(exc))
    if isinstance(exc, BoltError):
        # Bolt wraps auth.test's failure at start-up: "... (error: invalid_auth)" or a connection error.
        text = str(exc)
        for error in SLACK_TOKEN_ERRORS:
            if error in text:
                return config_error("cli.error.slack_token", error=error)
        return runtime_error("cli.error.slack_other", error=text.splitlines()[0] if text else type(exc).__name__)
    if isinstance(exc, urllib.error.URLError):  # slack_sdk talks through urllib
        hosts = (settings.slack_api_url if settings else "Slack").split("/")[2:3] or ["Slack"]
        return runtime_error("cli.error.unreachable", host=hosts[0], cause=_cause(exc.reason), setting="SLACK_API_URL")
    if isinstance(exc, IsADirectoryError):
        return config_error("cli.error.is_dir", path=exc.filename)
    if isinstance(exc, FileNotFoundError) and exc.filename:
        return config_error("cli.error.no_file", path=exc.filename)
    if isinstance(exc, OSError) and exc.filename:
        return runtime_error("cli.error.file", path=exc.filename, cause=exc.strerror or type(exc).__name__)
    return None


def _has_request(exc: httpx.TransportError) -> bool:
    try:
        exc.request  # noqa: B018 - httpx raises RuntimeError when the error carries no request
    except RuntimeError:
        return False
    return True


def _cause(exc: object) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:160]


def _setting_for(host: str, settings: Settings | None) -> str:
    if settings and host and host in settings.slack_api_url:
        return "SLACK_API_URL"
    return "WHATSAPP_API_URL"


def _whatsapp(exc: WhatsAppError) -> CliError:
    values = {"code": exc.code if exc.code is not None else exc.http_status, "title": exc.title}
    if exc.code == 190 or exc.http_status == 401:
        return config_error("cli.error.whatsapp_token", **values)
    if exc.code in (100, 200, 10) or exc.http_status == 404:
        return config_error("cli.error.whatsapp_ids", **values)
    return runtime_error("cli.error.whatsapp_other", **values)


def _database(exc: DatabaseError, settings: Settings | None) -> CliError:
    orig = exc.orig
    text = str(orig or exc).strip()
    first = text.splitlines()[0] if text else type(exc).__name__
    location = database_location(settings.database_url) if settings else {}
    if isinstance(orig, sqlite3.Error):
        path = location.get("database") or "?"
        if "unable to open database file" in text:
            return config_error("cli.error.sqlite_open", path=path)
        if "file is not a database" in text:
            return config_error("cli.error.sqlite_not_db", path=path)
        return runtime_error("cli.error.db_other", cause=first)
    if "does not exist" in text and "database" in text:
        return config_error("cli.error.db_missing", name=location.get("database") or "?")
    if "password authentication failed" in text or "role" in text and "does not exist" in text:
        return config_error("cli.error.db_auth", cause=_without_password(first, settings))
    if isinstance(exc, OperationalError):
        where = f"{location.get('host') or 'localhost'}:{location.get('port') or 5432}"
        cause = first.rsplit(":", 1)[-1].strip() or first
        return runtime_error("cli.error.db_unreachable", where=where, cause=_without_password(cause, settings))
    return runtime_error("cli.error.db_other", cause=_without_password(first, settings))


def _without_password(text: str, settings: Settings | None) -> str:
    password = database_location(settings.database_url).get("password") if settings else None
    return text.replace(password, "***") if password else text


def debug_wanted(flag: bool) -> bool:
    return flag or os.environ.get("LOG_LEVEL", "").upper() == "DEBUG"
