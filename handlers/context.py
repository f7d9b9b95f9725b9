"""Helpers every listener uses: deps from the Bolt context, the reader's language, the admin check."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt import BoltContext
from slack_sdk import WebClient

from bot.i18n import t
from handlers.clients.locale import user_lang
from handlers.deps import Deps
from handlers.integrity import Sealer


def deps(context: BoltContext) -> Deps:
    return context["deps"]


def lang(context: BoltContext, client: WebClient) -> str:
    if "lang" not in context:
        context["lang"] = user_lang(client, deps(context).engine, context.user_id)
    return context["lang"]


def refusal(context: BoltContext, language: str) -> str | None:
    """None when the user may change data, else the text explaining why not."""
    settings = deps(context).settings
    if not settings.admins:
        return t("auth.no_admins", language)
    if not settings.is_admin(context.user_id):
        return t("auth.not_admin", language)
    return None


def refused(context: BoltContext, language: str, respond: Any) -> bool:
    """True when the user may not change data; then they have been told why (ephemerally)."""
    if why := refusal(context, language):
        respond(**ephemeral(why))
        return True
    return False


def actor(context: BoltContext) -> str:
    return f"slack:{context.user_id}"


def ephemeral(text: str) -> dict[str, Any]:
    return {"text": text, "response_type": "ephemeral", "replace_original": False}


def viewer(context: BoltContext) -> tuple[str | None, str | None]:
    """(team_id, user_id) of the person looking: whose table settings apply."""
    return team(context) or None, context.user_id


def team(context: BoltContext) -> str:
    """The workspace of the request (bot/app.py refuses any other than the one the app is installed in)."""
    installed = context.authorize_result.team_id if context.authorize_result else None
    return context.team_id or installed or ""


def sealer(context: BoltContext) -> Sealer:
    """Seals and checks our own values for this workspace (handlers/integrity.py)."""
    return Sealer.of(deps(context).settings, team(context))


def stale(context: BoltContext, client: WebClient, respond: Any) -> None:
    """A value failed its seal check: say the message is out of date (ephemerally), change nothing."""
    respond(**ephemeral(t("error.stale", lang(context, client))))


def admin_lang(context: BoltContext, client: WebClient, respond: Any) -> str | None:
    """The admin's language; for anyone else, tell them why not (ephemerally) and return None."""
    language = lang(context, client)
    return None if refused(context, language, respond) else language


def sealed_choice(body: dict[str, Any], context: BoltContext, pattern: re.Pattern[str]) -> re.Match[str] | None:
    """The clicked menu option's value, if its seal holds for this workspace and it has our shape."""
    action = body["actions"][0]
    value = sealer(context).unseal((action.get("selected_option") or {}).get("value"), str(action.get("action_id")))
    return pattern.match(value or "")
