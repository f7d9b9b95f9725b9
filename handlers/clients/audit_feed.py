"""After every committed change: post it to the audit channel (when set) and refresh the actor's Home.

One central place, so no feature has to remember it: `storage.audit_events` notices every audit
row written (through `storage.audit.record` or a Core insert, e.g. the CSV import) and calls us
after the commit (never for a rolled-back change). The Slack calls run on a small background pool
so the user's own answer is not delayed by them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings
from bot.i18n import DEFAULT_LANGUAGE
from bot.services import contacts
from handlers.blocks.audit_post import audit_text
from handlers.clients.web_api import web_client
from handlers.deps import Deps
from storage import audit_events
from storage.audit_events import Committed
from storage.db import Engine
from storage.models import Contact

log = logging.getLogger(__name__)
Render = Callable[[Committed, Contact | None, str], str]
RefreshHome = Callable[[WebClient, Deps, str], object]
_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="audit-feed")


def install(deps: Deps, client: WebClient, render: Render, refresh_home: RefreshHome | None = None) -> None:
    """Subscribe to the engine's committed audit entries (idempotent per engine)."""

    def on_commit(entries: list[Committed]) -> None:
        _pool.submit(deliver, deps, client, entries, render, refresh_home)

    audit_events.subscribe(deps.engine, "audit_feed", on_commit)


def install_for_cli(settings: Settings, engine: Engine) -> None:
    """The CLI has no Bolt app: post its changes with a plain client (the pool finishes before exit)."""
    install(Deps(settings=settings, engine=engine), web_client(settings), audit_text)


def slack_user(actor: str) -> str | None:
    kind, _, rest = actor.partition(":")
    return rest if kind == "slack" and rest[:1] in ("U", "W") and rest.isalnum() else None


def deliver(
    deps: Deps, client: WebClient, entries: list[Committed], render: Render, refresh_home: RefreshHome | None
) -> None:
    try:
        channel = deps.settings.audit_channel
        if channel:
            try:
                for entry in entries:
                    text = render(entry, _changed_contact(deps, entry), DEFAULT_LANGUAGE)
                    client.chat_postMessage(channel=channel, text=text, unfurl_links=False, unfurl_media=False)
            except SlackApiError as exc:  # e.g. not_in_channel: the bot must be invited (docs/deploy.md)
                log.warning("audit feed: posting to the audit channel failed: %s", exc.response.get("error"))
        if refresh_home is not None:  # the actor's Home is refreshed even when the audit post failed
            for user_id in dict.fromkeys(u for e in entries if (u := slack_user(e.actor))):
                refresh_home(client, deps, user_id)
    except (SlackApiError, OSError) as exc:
        log.warning("audit feed: posting failed: %s", type(exc).__name__)
    except Exception:  # a background job: log it, never crash the pool
        log.exception("audit feed failed")


def _changed_contact(deps: Deps, entry: Committed) -> Contact | None:
    """The contact a non-deleting change is about, to name it; deletions are never looked up."""
    if entry.object_type != "contact" or entry.action == "contact.delete" or not (entry.object_id or "").isdigit():
        return None
    return contacts.find(deps.engine, int(entry.object_id or 0))
