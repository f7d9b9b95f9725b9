"""Is the WhatsApp webhook subscribed to every field contactbot relies on? (for `contactbot doctor`)

Opt-outs only reach us through the fields we are subscribed to: a `user_preferences` change
(the person's own "stop marketing" in WhatsApp) is never sent to an app that did not subscribe to
it. The check reads the app's subscription from the Graph API (`GET /{app-id}/subscriptions`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from bot.config.settings import Settings
from bot.whatsapp.client import GraphClient
from bot.whatsapp.errors import WhatsAppError

# docs/inbound.md lists these for admins; keep both in step.
REQUIRED_FIELDS = (
    "messages",
    "user_preferences",
    "message_template_status_update",
    "phone_number_quality_update",
    "account_update",
)


@dataclass(frozen=True)
class WebhookCheck:
    """`ok`: subscribed and active with every field; else `missing` fields and/or a `problem`."""

    checked: bool  # False: no credentials to ask with (WHATSAPP_APP_ID and WHATSAPP_APP_SECRET)
    ok: bool
    missing: list[str] = field(default_factory=list)
    problem: str | None = None  # language-neutral: not_subscribed | inactive | graph_error:<code> | unreachable


def check_webhook_subscription(settings: Settings, http: httpx.Client | None = None) -> WebhookCheck:
    """Ask Meta which fields the app's `whatsapp_business_account` webhook is subscribed to."""
    if not (settings.whatsapp_app_id and settings.whatsapp_app_secret):
        return WebhookCheck(checked=False, ok=False, problem="not_configured")
    client = GraphClient(settings, http)
    try:
        subscriptions = client.subscriptions()
    except WhatsAppError as exc:
        return WebhookCheck(checked=True, ok=False, problem=f"graph_error:{exc.code or exc.http_status}")
    except httpx.HTTPError:
        return WebhookCheck(checked=True, ok=False, problem="unreachable")
    finally:
        if http is None:
            client.close()
    waba = next((s for s in subscriptions if s.get("object") == "whatsapp_business_account"), None)
    if waba is None:
        return WebhookCheck(checked=True, ok=False, missing=list(REQUIRED_FIELDS), problem="not_subscribed")
    names = {f.get("name") for f in waba.get("fields") or [] if isinstance(f, dict)}
    missing = [f for f in REQUIRED_FIELDS if f not in names]
    active = waba.get("active") is not False
    return WebhookCheck(
        checked=True, ok=active and not missing, missing=missing, problem=None if active else "inactive"
    )
