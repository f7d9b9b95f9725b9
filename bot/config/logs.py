"""Logging set-up with a redacting filter: no token, secret or full phone number in any log line."""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import threading
from contextvars import ContextVar
from types import TracebackType
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.config.settings import Settings

_SECRETS = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|EAA[A-Za-z0-9]{20,})")
# A phone number as it reaches a log line: plain (`+49 170 1234567`, `0170/123-45-67`) or URL-encoded
# as in a form body (`%2B49+170+1234567`, `%2B49%20170%2F1234567`): at least seven digits with the
# usual separators between them. Only the last three digits stay.
_SEP = r"(?:[ ()/.+\-\u00a0\t]|%20|%2[BbFf89]|%28|%29|%2[Dd]|%2[Ee])"
_PHONES = re.compile(rf"(?<![\w.%])(?:\+|%2[Bb]|\b00)?\d(?:{_SEP}*\d){{6,}}(?!\w)")
# Line breaks and other control characters (a body or path with `\n` would forge a log line).
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f\u2028\u2029]")

# The id of the HTTP request being served (set by bot.web.server's middleware, copied into Bolt's
# listener threads), so every log line of one Slack click can be found together.
request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    text = _SECRETS.sub("[redacted]", text)
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _PHONES.sub(_last_three, text)


def _last_three(match: re.Match[str]) -> str:
    digits = re.sub(r"%[0-9A-Fa-f]{2}|\D", "", match.group(0))
    return "***" + digits[-3:]


def one_line(text: str) -> str:
    """Control characters written as escapes: what a request carries can never start a new log line."""
    return _CONTROL.sub(lambda m: m.group(0).encode("unicode_escape").decode("ascii"), text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = one_line(redact(message, self.secrets))
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            # A traceback keeps its own line breaks (its frames are ours), redacted like the message.
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        rid = request_id.get()
        record.request_id = rid
        record.rid = f" [{rid}]" if rid else ""
        return True


class TextFormatter(logging.Formatter):
    """One record per line at column 0: a traceback's lines (and the exception's own text, which
    may quote a request) are indented, so nothing inside a record can pass for a record of its own."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).replace("\r", "\\r").replace("\n", "\n    ")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {
            "at": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if rid := getattr(record, "request_id", None):  # set by the request-id filter above
            data["request_id"] = rid
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def secrets_of(settings: Settings, database_password: str = "") -> tuple[str, ...]:
    """Every configured credential, for the redacting filter (the caller adds the database password:
    parsing the URL is storage's business)."""
    return (
        settings.slack_bot_token,
        settings.slack_signing_secret,
        settings.slack_app_token,
        settings.whatsapp_token,
        settings.whatsapp_app_secret,
        settings.whatsapp_verify_token,
        settings.inbound_secret,
        settings.suppression_key,
        database_password,
    )


def setup(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    """One handler on the root logger: redacted, JSON or text, request id on each line. Uncaught
    exceptions (main thread and others) and Python warnings go through it too, so nothing reaches
    stderr unredacted or outside the JSON format."""
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(secrets))
    if os.environ.get("LOG_FORMAT") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter("%(asctime)s %(levelname)s %(name)s%(rid)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    wanted = os.environ.get("LOG_LEVEL", level).upper()
    root.setLevel(wanted if wanted in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL") else level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    quiet_libraries()
    quiet_routine_lines()
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_uncaught_in_thread


def quiet_libraries() -> None:
    """Bolt logs whole request bodies (names, numbers) at INFO and DEBUG: only its warnings and errors."""
    for name in ("slack_bolt", "slack_sdk", "contactbot.bolt"):
        logging.getLogger(name).setLevel(logging.WARNING)


def _log_uncaught(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    logging.getLogger("contactbot").critical("uncaught %s", exc_type.__name__, exc_info=(exc_type, exc, tb))


def _log_uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None or issubclass(args.exc_type, SystemExit):
        return
    logging.getLogger("contactbot").error(
        "thread %s failed: %s",
        args.thread.name if args.thread else "?",
        args.exc_type.__name__,
        exc_info=(args.exc_type, args.exc_value, args.exc_traceback),
    )


# Lines libraries log that say nothing an operator acts on: APScheduler's per-run "Running job ..." / "Job ...
# executed successfully" (every second for the pump), httpx's line per request, Bolt's warning "As you gave
# `client` as well, `token` will be unused." (Bolt reads SLACK_BOT_TOKEN from the environment itself; we hand it a
# configured client). With LOG_LEVEL=DEBUG they show, labelled DEBUG.
ROUTINE = {
    "apscheduler.executors.default": ("Running job ", "Job "),
    "contactbot.bolt": ("As you gave `client`",),
    "httpx": ("HTTP Request: ",),
    # slack_sdk narrates its own retries (ERROR before the retry that may succeed); a failure that stays a
    # failure reaches our code as an exception, which says what happened once.
    "slack_sdk.web.base_client": ("Failed to send a request to Slack API server", "A retry handler found", "Going to"),
}


class _DebugOnly(logging.Filter):
    """Lets a routine line through only when DEBUG is on (then labelled DEBUG)."""

    def __init__(self, prefixes: tuple[str, ...]) -> None:
        super().__init__()
        self.prefixes = prefixes

    def filter(self, record: logging.LogRecord) -> bool:
        if not str(record.msg).startswith(self.prefixes):
            return True
        if not logging.getLogger().isEnabledFor(logging.DEBUG):
            return False
        record.levelno, record.levelname = logging.DEBUG, "DEBUG"
        return True


def quiet_routine_lines() -> None:
    for name, prefixes in ROUTINE.items():
        logger = logging.getLogger(name)
        if not any(isinstance(f, _DebugOnly) for f in logger.filters):
            logger.addFilter(_DebugOnly(prefixes))
