"""Logging set-up with a redacting filter: no token, secret or full phone number in any log line."""

from __future__ import annotations

import json
import logging
import os
import re

_SECRETS = re.compile(r"\b(xox[abposr]-[A-Za-z0-9-]+|xapp-[A-Za-z0-9-]+|EAA[A-Za-z0-9]{20,})")
_PHONES = re.compile(r"(?<![\w.])\+?\d[\d ()/-]{6,}\d(\d{3})\b")


def redact(text: str, extra_secrets: tuple[str, ...] = ()) -> str:
    text = _SECRETS.sub("[redacted]", text)
    for secret in extra_secrets:
        if secret:
            text = text.replace(secret, "[redacted]")
    return _PHONES.sub(lambda m: "***" + m.group(1), text)


class RedactingFilter(logging.Filter):
    def __init__(self, secrets: tuple[str, ...] = ()) -> None:
        super().__init__()
        self.secrets = tuple(s for s in secrets if s and len(s) >= 6)

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        clean = redact(message, self.secrets)
        if clean != message or record.args:
            record.msg, record.args = clean, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info), self.secrets)
            record.exc_info = None
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"at": self.formatTime(record), "level": record.levelname, "logger": record.name,
                "msg": record.getMessage()}
        if record.exc_text:
            data["exc"] = record.exc_text
        return json.dumps(data, ensure_ascii=False)


def setup(level: str = "INFO", secrets: tuple[str, ...] = ()) -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactingFilter(secrets))
    if os.environ.get("LOG_FORMAT") == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    logging.getLogger("alembic").setLevel(logging.WARNING)
