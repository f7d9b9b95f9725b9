"""Webhooks about our WhatsApp account rather than a message: tier, quality, restriction, template status.

Meta sends them on the same webhook (fields `phone_number_quality_update`, `account_update`,
`message_template_status_update`). Each is applied where the sender reads it (the number's row,
the broadcast's status) and recorded in the audit log, which posts it to the audit channel:
- a tier change (`current_limit`) becomes the daily limit when WHATSAPP_DAILY_LIMIT is not set;
- a restriction (`ACCOUNT_RESTRICTION`, a ban) pauses running broadcasts and keeps new ones from
  sending until it expires;
- a template PAUSED or DISABLED pauses the running broadcasts that use it.
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

from bot.config.settings import Settings
from bot.services.broadcasts import limits, service
from storage import audit, whatsapp_number
from storage import broadcasts as store
from storage.db import Engine, Session, session_scope

log = logging.getLogger(__name__)
FIELDS = ("phone_number_quality_update", "account_update", "message_template_status_update")
ACTOR = "whatsapp"
TEMPLATE_STOPS = ("PAUSED", "DISABLED", "PENDING_DELETION", "FLAGGED")  # FLAGGED: Meta pauses it if not improved
RESTRICTIONS = ("ACCOUNT_RESTRICTION", "DISABLED_UPDATE", "ACCOUNT_VIOLATION")


def _changes(payload: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        return []
    out = []
    for entry in payload.get("entry") or []:
        for change in (entry or {}).get("changes") or [] if isinstance(entry, dict) else []:
            if isinstance(change, dict) and change.get("field") in FIELDS and isinstance(change.get("value"), dict):
                out.append((str(change["field"]), change["value"]))
    return out


def relevant(payload: Any) -> bool:
    """Whether a webhook body carries an account-level change at all (most carry messages or statuses only)."""
    return bool(_changes(payload))


def handle(engine: Engine, settings: Settings, payload: Any) -> int:
    """Apply every account-level change in a webhook body; returns how many it applied."""
    applied = 0
    for fld, value in _changes(payload):
        if fld == "phone_number_quality_update":
            applied += _quality(engine, settings, value)
        elif fld == "account_update":
            applied += _account(engine, settings, value)
        else:
            applied += _template(engine, value)
    return applied


def _quality(engine: Engine, settings: Settings, value: dict[str, Any]) -> int:
    event, tier = str(value.get("event") or "")[:20], str(value.get("current_limit") or "")
    fields: dict[str, Any] = {"quality": event or None}
    if tier in limits.TIERS:
        fields |= {"tier": tier, "daily_limit": limits.TIERS[tier]}
    with session_scope(engine) as session:
        whatsapp_number.save(session, settings.whatsapp_phone_number_id, **fields)
        audit.record(session, ACTOR, "whatsapp.quality", "phone_number", None, event=event, tier=tier or None)
    log.info("whatsapp: number quality %s, tier %s", event, tier or "-")
    return 1


def _account(engine: Engine, settings: Settings, value: dict[str, Any]) -> int:
    event = str(value.get("event") or "")[:40]
    if event not in RESTRICTIONS:
        with session_scope(engine) as session:
            audit.record(session, ACTOR, "whatsapp.account", "account", None, event=event)
        return 1
    infos = [i for i in value.get("restriction_info") or [] if isinstance(i, dict)]
    kinds = ",".join(str(i.get("restriction_type", ""))[:40] for i in infos) or event
    ends = [int(i["expiration"]) for i in infos if str(i.get("expiration", "")).isdigit()]
    until = datetime.fromtimestamp(max(ends), UTC) if ends else None
    with session_scope(engine) as session:
        whatsapp_number.save(session, settings.whatsapp_phone_number_id, restriction=kinds[:80], restricted_until=until)
        paused = _pause_running(session, "restricted", None, None)
        audit.record(
            session, ACTOR, "whatsapp.restriction", "account", None, event=event, restriction=kinds, paused=paused
        )
    log.warning("whatsapp: account restricted (%s); %s broadcasts paused", kinds, paused)
    return 1


def _pause_running(session: Session, reason: str, name: str | None, language: str | None) -> int:
    """Pause the running broadcasts (of this template, or all when `name` is None) with the reason; how many."""
    return sum(
        1
        for bid in whatsapp_number.running_with_template(session, name, language)
        if store.set_status(session, bid, ("running",), "paused", pause_reason=reason)
    )


def _template(engine: Engine, value: dict[str, Any]) -> int:
    event = str(value.get("event") or "")[:30]
    name = str(value.get("message_template_name") or "")[:100]
    language = str(value.get("message_template_language") or "")[:20] or None
    service.forget_templates()  # the next list comes from Meta again
    with session_scope(engine) as session:
        paused = _pause_running(session, "template", name, language) if event in TEMPLATE_STOPS and name else 0
        audit.record(
            session, ACTOR, "whatsapp.template", "template", name, event=event, language=language, paused=paused
        )
    log.info("whatsapp: template status %s; %s broadcasts paused", event, paused)
    return 1
