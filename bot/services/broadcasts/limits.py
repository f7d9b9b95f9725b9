"""How many unique recipients a day our number may message, and whether Meta lets it send at all.

WHATSAPP_DAILY_LIMIT set: that number (0 = unlimited). Not set: the messaging tier Meta reports,
from `phone_number_quality_update` webhooks or read from the Graph API (`messaging_limit_tier` of
the phone number, at most once an hour), falling back on the lowest business tier when neither
answers. A restriction from an `account_update` webhook stops sending until it expires.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx

from bot.config.settings import Settings
from bot.whatsapp.client import GraphClient
from bot.whatsapp.errors import WhatsAppError
from storage import whatsapp_number
from storage.db import Engine, Session, session_scope
from storage.models import utcnow

log = logging.getLogger(__name__)
# Meta's tiers (phone number `messaging_limit_tier`, webhook `current_limit`) as unique recipients a day; 0 = unlimited
TIERS = {
    "TIER_50": 50,
    "TIER_250": 250,
    "TIER_1K": 1000,
    "TIER_2K": 2000,
    "TIER_10K": 10000,
    "TIER_100K": 100000,
    "TIER_UNLIMITED": 0,
}
FALLBACK = 250
REREAD = timedelta(hours=1)


def daily_limit(engine: Engine, settings: Settings) -> int:
    """The limit the sender keeps to (0 = unlimited)."""
    if settings.whatsapp_daily_limit is not None:
        return settings.whatsapp_daily_limit
    with Session(engine) as session:
        row = whatsapp_number.get(session, settings.whatsapp_phone_number_id)
        known = (row.daily_limit, row.updated_at) if row is not None else (None, None)
    if known[0] is not None and known[1] is not None and utcnow() - known[1] < REREAD:
        return known[0]
    tier = read_tier(settings)
    if tier in TIERS:
        with session_scope(engine) as session:
            whatsapp_number.save(session, settings.whatsapp_phone_number_id, tier=tier, daily_limit=TIERS[tier])
        return TIERS[tier]
    return known[0] if known[0] is not None else FALLBACK


def read_tier(settings: Settings) -> str | None:
    """The number's tier from the Graph API, or None when it cannot be read (logged, never raised)."""
    if not (settings.whatsapp_token and settings.whatsapp_phone_number_id):
        return None  # not configured for sending: nothing to ask
    client = GraphClient(settings)
    try:
        return client.messaging_tier()
    except (WhatsAppError, httpx.HTTPError, ValueError) as exc:
        log.warning("messaging tier not read from the Graph API: %s", type(exc).__name__)
        return None
    finally:
        client.close()


def restricted(engine: Engine, settings: Settings) -> bool:
    with Session(engine) as session:
        return whatsapp_number.is_restricted(whatsapp_number.get(session, settings.whatsapp_phone_number_id))
