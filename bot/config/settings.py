"""Configuration from the environment (and `.env`), validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated

import phonenumbers
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class SettingsError(Exception):
    """A setting is missing or malformed; the message names it in one line."""


LAZY_WORKERS_DEFAULT = 3


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    database_url: str = Field(default="sqlite:///contactbot.db", alias="DATABASE_URL")
    slack_bot_token: str = Field(default="", alias="SLACK_BOT_TOKEN")
    slack_signing_secret: str = Field(default="", alias="SLACK_SIGNING_SECRET")
    slack_app_token: str = Field(default="", alias="SLACK_APP_TOKEN")
    slack_api_url: str = Field(default="https://slack.com/api/", alias="SLACK_API_URL")
    admins: Annotated[frozenset[str], NoDecode] = Field(default=frozenset(), alias="CONTACTBOT_ADMINS")
    default_region: str = Field(default="DE", alias="CONTACTBOT_DEFAULT_REGION")
    page_size: int = Field(default=20, ge=1, le=40, alias="CONTACTBOT_PAGE_SIZE")
    # Threads that draw lists and fill modals after the ack. Rendering is CPU under one GIL, so more threads add
    # no throughput, only contention: with 8 of them busy the event loop waited seconds to read new requests
    # (docs/benchmarks.md, "Slack ack latency").
    lazy_workers: int = Field(default=LAZY_WORKERS_DEFAULT, ge=1, le=32, alias="CONTACTBOT_LAZY_WORKERS")
    # `serve`'s GIL switch interval (Python's default is 5 ms), see bot/cli/serve.py.
    switch_interval_ms: float = Field(default=5.0, gt=0, le=100, alias="CONTACTBOT_SWITCH_INTERVAL_MS")
    # A contact file of 50 MB holds about a million rows; bigger uploads are refused before download.
    max_upload_bytes: int = Field(default=50 * 1024 * 1024, ge=1, alias="CONTACTBOT_MAX_UPLOAD_BYTES")
    csv_delimiter: str = Field(default="", alias="CONTACTBOT_CSV_DELIMITER")
    # Optional channel ID (C.../G...) where every change is also posted with who made it.
    audit_channel: str = Field(default="", alias="CONTACTBOT_AUDIT_CHANNEL")
    # On SIGTERM `serve` finishes work in flight for at most this long, then exits (keep it below the
    # orchestrator's kill timeout: compose.yaml gives 30 s).
    shutdown_grace: float = Field(default=20.0, gt=0, le=600, alias="CONTACTBOT_SHUTDOWN_GRACE_SECONDS")
    # A client that has not sent its request headers after this long is disconnected (bot/web/http_limits.py).
    header_timeout: float = Field(default=10.0, gt=0, le=300, alias="CONTACTBOT_HEADER_TIMEOUT_SECONDS")

    whatsapp_verify_token: str = Field(default="", alias="WHATSAPP_VERIFY_TOKEN")
    whatsapp_app_secret: str = Field(default="", alias="WHATSAPP_APP_SECRET")
    whatsapp_token: str = Field(default="", alias="WHATSAPP_TOKEN")
    whatsapp_phone_number_id: str = Field(default="", alias="WHATSAPP_PHONE_NUMBER_ID")
    whatsapp_business_account_id: str = Field(default="", alias="WHATSAPP_BUSINESS_ACCOUNT_ID")
    # The Meta app's id: `contactbot doctor` reads the app's webhook subscription with it (app token = id|secret).
    whatsapp_app_id: str = Field(default="", alias="WHATSAPP_APP_ID")
    whatsapp_api_url: str = Field(default="https://graph.facebook.com/v23.0", alias="WHATSAPP_API_URL")
    whatsapp_max_mps: int = Field(default=80, ge=1, le=1000, alias="WHATSAPP_MAX_MPS")
    # Unique recipients per rolling 24 h (Meta's messaging tier: 250, 1000, 10000, 100000); 0 = unlimited;
    # not set: the tier Meta reports (webhooks, or read from the Graph API).
    whatsapp_daily_limit: int | None = Field(default=None, ge=0, alias="WHATSAPP_DAILY_LIMIT")
    broadcast_concurrency: int = Field(default=50, ge=1, le=500, alias="BROADCAST_CONCURRENCY")
    # A worker that has not renewed its claim for this long is presumed dead; its in-flight rows
    # become `unknown` (never resent blindly).
    broadcast_lease_seconds: float = Field(default=60.0, gt=0, alias="BROADCAST_LEASE_SECONDS")
    # First delay after 131056 (Meta's pair limit is about one message per 6 s per recipient); x4 each time.
    broadcast_pair_delay: float = Field(default=6.0, gt=0, alias="BROADCAST_PAIR_DELAY_SECONDS")
    # The same error code on this many recipients in a row pauses the broadcast with that reason
    # instead of failing everyone (a template or account problem Meta reports per message).
    broadcast_breaker: int = Field(default=5, ge=1, alias="BROADCAST_BREAKER")
    # Off (0) by default: an `unknown` row (its request may have reached Meta) with no status webhook after
    # this many seconds is resent; the report says how many. Risk: a message Meta accepted arrives twice.
    broadcast_resend_unknown_after: float = Field(default=0.0, ge=0, alias="BROADCAST_RESEND_UNKNOWN_AFTER")
    inbound_secret: str = Field(default="", alias="CONTACTBOT_INBOUND_SECRET")
    # A whole message that is one of these (case-insensitive) withdraws consent; also WhatsApp's
    # "Stop promotions" marketing button. Comma-separated in the environment.
    opt_out_keywords: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset(
            {
                "STOP",
                "STOPP",
                "ABMELDEN",
                "ABBESTELLEN",
                "KEINE WERBUNG",
                "WERBUNG STOPPEN",
                "UNSUBSCRIBE",
                "STOP PROMOTIONS",
                "OPT OUT",
                "OPT-OUT",
            }
        ),
        alias="CONTACTBOT_OPT_OUT_KEYWORDS",
    )
    # Re-subscribe keywords: only a message the person typed (not a button) counts.
    opt_in_keywords: Annotated[frozenset[str], NoDecode] = Field(
        default=frozenset({"START", "ANMELDEN"}), alias="CONTACTBOT_OPT_IN_KEYWORDS"
    )

    @field_validator("admins", mode="before")
    @classmethod
    def _parse_admins(cls, value: str | Iterable[str] | None) -> frozenset[str]:
        if isinstance(value, str):
            ids = {part.strip() for part in value.split(",") if part.strip()}
        else:
            ids = set(value or ())
        bad = sorted(i for i in ids if not SLACK_USER_ID.match(i))
        if bad:
            raise ValueError(f"not Slack user IDs (like U012ABCDEF): {', '.join(bad)}")
        return frozenset(ids)

    @field_validator("opt_out_keywords", "opt_in_keywords", mode="before")
    @classmethod
    def _parse_keywords(cls, value: str | Iterable[str] | None) -> frozenset[str]:
        if isinstance(value, str):
            return frozenset(p.strip().upper() for p in value.split(",") if p.strip())
        return frozenset(str(v).upper() for v in (value or ()))

    @field_validator("default_region")
    @classmethod
    def _check_region(cls, value: str) -> str:
        region = value.strip().upper()
        if region not in phonenumbers.SUPPORTED_REGIONS:
            raise ValueError(f"unknown region code {value!r} (use ISO 3166 like DE, AT, CH)")
        return region

    @field_validator("database_url")
    @classmethod
    def _check_db(cls, value: str) -> str:
        # postgres:// (Heroku, many hosting panels) and postgresql:// mean the same server: we speak psycopg 3.
        for plain in ("postgres://", "postgresql://"):
            if value.startswith(plain):
                value = "postgresql+psycopg://" + value.removeprefix(plain)
        if not value.startswith(("sqlite:", "postgresql")):
            raise ValueError("must start with sqlite:///, postgres:// or postgresql://")
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _check_api_url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("audit_channel")
    @classmethod
    def _check_audit_channel(cls, value: str) -> str:
        value = value.strip()
        if value and not SLACK_CHANNEL_ID.match(value):
            raise ValueError("must be a channel ID like C012AB3CD (channel details -> About), or empty")
        return value

    @field_validator("csv_delimiter")
    @classmethod
    def _check_delimiter(cls, value: str) -> str:
        mapping = {"": "", ",": ",", ";": ";", "tab": "\t", "\t": "\t"}
        if value not in mapping:
            raise ValueError("must be one of , ; tab (or empty for the user's locale)")
        return mapping[value]

    def require_slack(self) -> None:
        """Serving Slack needs its credentials; the CLI does not."""
        if not self.slack_bot_token:
            raise SettingsError("SLACK_BOT_TOKEN is not set (xoxb-..., from the app's OAuth page)")
        if not self.slack_bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
        if self.slack_app_token and not self.slack_app_token.startswith("xapp-"):
            raise SettingsError("SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-")
        if not self.slack_app_token and not self.slack_signing_secret:
            raise SettingsError("SLACK_SIGNING_SECRET is not set (HTTP mode needs it when SLACK_APP_TOKEN is unset)")

    def is_admin(self, user_id: str | None) -> bool:
        return bool(user_id) and user_id in self.admins


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one line naming the setting."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]  # any field by keyword; pydantic checks each
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{alias or field}: {msg}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
