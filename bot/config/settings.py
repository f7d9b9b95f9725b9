"""Configuration from the environment (and `.env`), validated once at start-up."""

from __future__ import annotations

import re
from collections.abc import Iterable
from functools import lru_cache
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,}$")
SLACK_CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")
# HH:MM-HH:MM (the parsing itself is bot.domain.send_windows, which config may not import)
QUIET_HOURS = re.compile(r"^([01]?\d|2[0-3]):[0-5]\d-([01]?\d|2[0-3]):[0-5]\d$")


def _quiet(value: str) -> str:
    value = value.strip()
    if value.lower() in ("", "off"):
        return ""
    start, _, end = value.partition("-")
    if not QUIET_HOURS.match(value) or start.zfill(5) == end.zfill(5):
        raise ValueError("must be HH:MM-HH:MM (e.g. 21:00-08:00) or empty")
    return f"{start.zfill(5)}-{end.zfill(5)}"


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
    # Four-eyes approval of broadcasts: off | above:N (more than N recipients) | always.
    broadcast_approval: str = Field(default="off", alias="CONTACTBOT_BROADCAST_APPROVAL")
    # An approval covers a start within this many hours after it was given (or after the scheduled time).
    approval_hours: float = Field(default=24.0, gt=0, le=24 * 90, alias="CONTACTBOT_APPROVAL_HOURS")
    # Quiet hours every broadcast gets unless it says otherwise (HH:MM-HH:MM in the recipient's time; empty: none).
    quiet_hours: str = Field(default="", alias="CONTACTBOT_QUIET_HOURS")
    # Per country (ISO code) quiet hours that replace the broadcast's for its recipients there, e.g.
    # `FR=20:00-10:00,DE=21:00-08:00`; they apply to every broadcast.
    quiet_hours_by_country: Annotated[dict[str, str], NoDecode] = Field(
        default_factory=dict, alias="CONTACTBOT_QUIET_HOURS_BY_COUNTRY"
    )
    # The zone of a number that maps to none (and has no `timezone` attribute).
    default_timezone: str = Field(default="Europe/Berlin", alias="CONTACTBOT_DEFAULT_TIMEZONE")
    inbound_secret: str = Field(default="", alias="CONTACTBOT_INBOUND_SECRET")
    # The key of the suppression list's HMACs (storage/suppression.py): a number cannot be read back from the list
    # by hashing every possible number. Keep it for good: a new key cannot match entries written under the old one.
    suppression_key: str = Field(default="", alias="CONTACTBOT_SUPPRESSION_KEY")
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

    @field_validator("broadcast_approval")
    @classmethod
    def _check_approval(cls, value: str) -> str:
        value = value.strip().lower() or "off"
        if value in ("off", "always") or re.fullmatch(r"above:\d{1,9}", value):
            return value
        raise ValueError("must be off, always or above:N (N recipients)")

    @field_validator("quiet_hours")
    @classmethod
    def _check_quiet(cls, value: str) -> str:
        return _quiet(value)

    @field_validator("quiet_hours_by_country", mode="before")
    @classmethod
    def _parse_country_quiet(cls, value: str | dict[str, str] | None) -> dict[str, str]:
        pairs = (
            value.items()
            if isinstance(value, dict)
            else (p.partition("=")[::2] for p in (value or "").split(",") if p.strip())
        )
        out = {}
        for country, hours in pairs:
            region = country.strip().upper()
            if region not in phonenumbers.SUPPORTED_REGIONS:
                raise ValueError(f"unknown region code {country!r} (use ISO 3166 like DE=21:00-08:00)")
            try:
                out[region] = _quiet(hours)
            except ValueError:
                raise ValueError(f"{region}: must be HH:MM-HH:MM") from None
        return out

    @field_validator("default_timezone")
    @classmethod
    def _check_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name like Europe/Berlin)") from None
        return value.strip()

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

    @property
    def approval_above(self) -> int | None:
        """None: no approval; N: broadcasts to more than N recipients need one (always = -1: every one)."""
        if self.broadcast_approval == "off":
            return None
        if self.broadcast_approval == "always":
            return -1
        return int(self.broadcast_approval.removeprefix("above:"))

    def is_admin(self, user_id: str | None) -> bool:
        return bool(user_id) and user_id in self.admins


_suppression_key = [""]  # the key of the settings loaded last (one per process; tests load theirs per test)


def suppression_key() -> str:
    """CONTACTBOT_SUPPRESSION_KEY of the settings this process loaded: the suppression list is written from
    deep inside storage (imports, webhooks, erasure), where no Settings object is passed."""
    return _suppression_key[0]


def load_settings(**overrides: object) -> Settings:
    """Build settings, turning pydantic's report into one line naming the setting."""
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]  # any field by keyword; pydantic checks each
        _suppression_key[0] = settings.suppression_key
        return settings
    except ValidationError as exc:
        err = exc.errors()[0]
        field = str(err["loc"][0]) if err["loc"] else "?"
        alias = Settings.model_fields[field].alias if field in Settings.model_fields else field
        msg = err["msg"].removeprefix("Value error, ")
        raise SettingsError(f"{alias or field}: {msg}") from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
