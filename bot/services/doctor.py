"""`contactbot doctor`: is this deployment complete? One check per thing it needs, each ok or a problem + fix.

The checks only read: nothing is migrated, sent or changed. Slack is asked through a `SlackProbe` the caller
passes in (services do not talk to Slack; handlers/clients/slack_checks.py does), WhatsApp through the Graph
client. Every text is a catalog key (`doctor.*`) with values, so the CLI prints it in the user's language.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from bot.config.settings import Settings, SettingsError
from bot.whatsapp import client as graph
from bot.whatsapp.errors import WhatsAppError
from storage.db import current_revision, database_location, engine_for, head_revision, ping

# The bot scopes of manifest.yml (tests/test_doctor.py keeps the two equal): the image ships without the manifest.
REQUIRED_BOT_SCOPES = frozenset(
    {
        "commands",
        "chat:write",
        "users:read",
        "files:read",
        "files:write",
        "im:write",
    }
)
# Webhook fields the app handles (docs/inbound.md lists them for admins; keep both in step): messages (and
# statuses), opt-outs (a `user_preferences` stop reaches no app that did not subscribe to it), template and
# quality changes, account restrictions.
REQUIRED_WEBHOOK_FIELDS = (
    "messages",
    "user_preferences",
    "message_template_status_update",
    "phone_number_quality_update",
    "account_update",
)
REQUIRED_TOKEN_SCOPES = ("whatsapp_business_messaging", "whatsapp_business_management")
# Meta's messaging tiers: unique recipients per rolling 24 h.
TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1_000,
    "TIER_2K": 2_000,
    "TIER_10K": 10_000,
    "TIER_100K": 100_000,
    "TIER_UNLIMITED": 0,
}


@dataclass(frozen=True)
class Check:
    """One line of the report: `status` ok, problem or skipped; `key`/`values` what was found, `fix` what to do."""

    name: str
    status: str
    key: str
    values: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    fix_values: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.status != "problem"


class SlackAuth(Protocol):  # read-only: the Slack side answers with a frozen dataclass
    @property
    def error(self) -> str | None: ...
    @property
    def team(self) -> str: ...
    @property
    def bot_user(self) -> str: ...
    @property
    def scopes(self) -> frozenset[str]: ...


class SlackProbe(Protocol):
    def auth(self) -> SlackAuth: ...
    def socket_mode(self) -> str | None: ...
    def user(self, user_id: str) -> str | None: ...


def ok(name: str, key: str, **values: Any) -> Check:
    return Check(name, "ok", key, values)


def problem(name: str, key: str, fix: str, **values: Any) -> Check:
    return Check(name, "problem", key, values, fix, values)


def skipped(name: str, key: str, **values: Any) -> Check:
    return Check(name, "skipped", key, values)


def run(settings: Settings, slack: Callable[[], SlackProbe]) -> list[Check]:
    """Every check, in the order a new deployment fixes them: database, Slack, WhatsApp."""
    return [*check_database(settings), *check_slack(settings, slack), *check_whatsapp(settings)]


# --- database ----------------------------------------------------------------------------------------------


def check_database(settings: Settings) -> list[Check]:
    engine = engine_for(settings.database_url)
    try:
        ping(engine)
        current = current_revision(engine)
    except Exception as exc:  # noqa: BLE001 - any failure to connect is this check's answer
        cause = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0][:200]
        password = database_location(settings.database_url).get("password")
        if password:
            cause = cause.replace(password, "***")
        return [problem("database", "doctor.db.unreachable", "doctor.fix.db_url", cause=cause)]
    head = head_revision()
    if current != head:
        return [problem("database", "doctor.db.behind", "doctor.fix.db_upgrade", current=current or "-", head=head)]
    return [ok("database", "doctor.db.ok", revision=current)]


# --- Slack -------------------------------------------------------------------------------------------------


def check_slack(settings: Settings, slack: Callable[[], SlackProbe]) -> list[Check]:
    checks: list[Check] = []
    try:
        settings.require_slack()
    except SettingsError as exc:
        checks.append(problem("slack.settings", "doctor.slack.settings", "doctor.fix.slack_settings", why=str(exc)))
    else:
        mode = "socket" if settings.slack_app_token else "http"
        checks.append(ok("slack.settings", f"doctor.slack.mode_{mode}"))
    if not settings.slack_bot_token:
        return [*checks, *(skipped(n, "doctor.skipped.no_slack_token") for n in ("slack.token", "slack.scopes"))]
    probe = slack()
    auth = probe.auth()
    if auth.error:
        fix = "doctor.fix.slack_network" if auth.error.startswith("unreachable") else "doctor.fix.slack_token"
        checks.append(problem("slack.token", "doctor.slack.token_refused", fix, error=auth.error))
        checks.append(skipped("slack.scopes", "doctor.skipped.no_auth"))
    else:
        checks.append(ok("slack.token", "doctor.slack.token_ok", team=auth.team, bot=auth.bot_user))
        missing = sorted(REQUIRED_BOT_SCOPES - auth.scopes)
        if missing:
            checks.append(
                problem(
                    "slack.scopes", "doctor.slack.scopes_missing", "doctor.fix.slack_scopes", missing=", ".join(missing)
                )
            )
        else:
            checks.append(ok("slack.scopes", "doctor.slack.scopes_ok", n=len(REQUIRED_BOT_SCOPES)))
    if settings.slack_app_token:
        error = probe.socket_mode()
        if error:
            checks.append(problem("slack.socket_mode", "doctor.slack.socket_refused", "doctor.fix.socket", error=error))
        else:
            checks.append(ok("slack.socket_mode", "doctor.slack.socket_ok"))
    else:
        checks.append(skipped("slack.socket_mode", "doctor.skipped.http_mode"))
    checks.append(_admins(settings, probe, auth.error is None))
    return checks


def _admins(settings: Settings, probe: SlackProbe, reachable: bool) -> Check:
    if not settings.admins:
        return problem("admins", "doctor.admins.none", "doctor.fix.admins")
    if not reachable:
        return skipped("admins", "doctor.skipped.no_auth")
    bad = {uid: error for uid in sorted(settings.admins) if (error := probe.user(uid))}
    if bad:
        found = ", ".join(f"{uid} ({error})" for uid, error in bad.items())
        return problem("admins", "doctor.admins.bad", "doctor.fix.admins", found=found)
    return ok("admins", "doctor.admins.ok", n=len(settings.admins))


# --- WhatsApp ----------------------------------------------------------------------------------------------


def check_whatsapp(settings: Settings) -> list[Check]:
    names = ("whatsapp.token", "whatsapp.ids", "whatsapp.quality", "whatsapp.webhooks")
    checks = [_app_secret(settings)]
    if not settings.whatsapp_token:
        return [problem("whatsapp.token", "doctor.wa.no_token", "doctor.fix.wa_token"), *checks]
    try:
        token = graph.debug_token(settings)
    except (WhatsAppError, httpx.HTTPError) as exc:
        checks.insert(0, problem("whatsapp.token", "doctor.wa.token_refused", _wa_fix(exc), why=_why(exc)))
        return checks + [skipped(n, "doctor.skipped.no_wa_token") for n in names[1:]]
    granted = set(token.get("scopes") or [])
    missing = [s for s in REQUIRED_TOKEN_SCOPES if s not in granted]
    if not token.get("is_valid", False):
        checks.insert(0, problem("whatsapp.token", "doctor.wa.token_invalid", "doctor.fix.wa_token"))
        return checks + [skipped(n, "doctor.skipped.no_wa_token") for n in names[1:]]
    if missing:
        checks.insert(
            0, problem("whatsapp.token", "doctor.wa.token_scopes", "doctor.fix.wa_token", missing=", ".join(missing))
        )
    else:
        checks.insert(0, ok("whatsapp.token", "doctor.wa.token_ok", app=token.get("app_id", "?")))
    checks += _numbers(settings)
    checks.append(_webhooks(settings, str(token.get("app_id") or "")))
    return checks


def _app_secret(settings: Settings) -> Check:
    if settings.whatsapp_app_secret:
        return ok("whatsapp.app_secret", "doctor.wa.secret_ok")
    return problem("whatsapp.app_secret", "doctor.wa.no_secret", "doctor.fix.wa_secret")


def _why(exc: Exception) -> str:
    if isinstance(exc, WhatsAppError):
        return f"{exc.code}: {exc.title}"
    return f"{type(exc).__name__}: {str(exc)[:120]}"


def _wa_fix(exc: Exception) -> str:
    return "doctor.fix.wa_token" if isinstance(exc, WhatsAppError) else "doctor.fix.wa_network"


def _numbers(settings: Settings) -> list[Check]:
    if not settings.whatsapp_business_account_id or not settings.whatsapp_phone_number_id:
        return [
            problem("whatsapp.ids", "doctor.wa.no_ids", "doctor.fix.wa_ids"),
            skipped("whatsapp.quality", "doctor.skipped.no_ids"),
        ]
    try:
        numbers = graph.phone_numbers(settings)
    except (WhatsAppError, httpx.HTTPError) as exc:
        return [
            problem("whatsapp.ids", "doctor.wa.waba_refused", "doctor.fix.wa_ids", why=_why(exc)),
            skipped("whatsapp.quality", "doctor.skipped.no_ids"),
        ]
    mine = next((n for n in numbers if str(n.get("id")) == settings.whatsapp_phone_number_id), None)
    if mine is None:
        return [
            problem(
                "whatsapp.ids",
                "doctor.wa.ids_apart",
                "doctor.fix.wa_ids",
                phone=settings.whatsapp_phone_number_id,
                waba=settings.whatsapp_business_account_id,
                found=", ".join(str(n.get("id")) for n in numbers) or "-",
            ),
            skipped("whatsapp.quality", "doctor.skipped.no_ids"),
        ]
    ids = ok("whatsapp.ids", "doctor.wa.ids_ok", verified=mine.get("verified_name") or "?")
    return [ids, _quality(settings, mine)]


def _quality(settings: Settings, number: dict[str, Any]) -> Check:
    rating = str(number.get("quality_rating") or "UNKNOWN").upper()
    tier = str(number.get("messaging_limit_tier") or "?")
    values: dict[str, Any] = {"rating": rating, "tier": tier}
    if rating in ("YELLOW", "RED"):
        return problem("whatsapp.quality", "doctor.wa.quality_low", "doctor.fix.wa_quality", **values)
    allowed = TIERS.get(tier)
    configured = settings.whatsapp_daily_limit
    if allowed and configured is not None and (configured == 0 or configured > allowed):
        return problem(
            "whatsapp.quality",
            "doctor.wa.tier_below",
            "doctor.fix.wa_daily_limit",
            limit=configured,
            allowed=allowed,
            **values,
        )
    return ok("whatsapp.quality", "doctor.wa.quality_ok", **values)


def _webhooks(settings: Settings, app_id: str) -> Check:
    if not settings.whatsapp_app_secret or not app_id:
        return skipped("whatsapp.webhooks", "doctor.skipped.no_secret")
    try:
        subscriptions = graph.app_subscriptions(settings, app_id)
    except (WhatsAppError, httpx.HTTPError) as exc:
        return problem("whatsapp.webhooks", "doctor.wa.subscriptions_refused", "doctor.fix.wa_secret", why=_why(exc))
    waba = next((s for s in subscriptions if s.get("object") == "whatsapp_business_account"), None)
    if waba is None or not waba.get("active", False):
        return problem("whatsapp.webhooks", "doctor.wa.no_subscription", "doctor.fix.wa_webhooks", app=app_id)
    fields = {str(f.get("name")) for f in waba.get("fields") or [] if isinstance(f, dict)}
    missing = [f for f in REQUIRED_WEBHOOK_FIELDS if f not in fields]
    if missing:
        return problem(
            "whatsapp.webhooks", "doctor.wa.fields_missing", "doctor.fix.wa_fields", missing=", ".join(missing)
        )
    return ok("whatsapp.webhooks", "doctor.wa.fields_ok", url=waba.get("callback_url") or "?")


def as_json(checks: list[Check], text: Callable[[str, dict[str, Any]], str]) -> dict[str, Any]:
    """For scripts: every check with status, detail and fix; `ok` false when any check found a problem."""
    return {
        "ok": all(c.ok for c in checks),
        "checks": [
            {
                "check": c.name,
                "status": c.status,
                "detail": text(c.key, c.values),
                "fix": text(c.fix, c.fix_values) if c.fix else None,
            }
            for c in checks
        ],
    }
