"""Open a modal at once, fill it in afterwards: Slack's trigger_id lives 3 s and works once.

A modal whose content takes database reads (a table with 95 columns, a contact with many attributes) used to be
built first and opened after, and under load the trigger had expired (`expired_trigger_id`: nothing opens).
Now a small loading modal is opened with the trigger right away, and the real one replaces it with views.update
(with the opened view's hash, so a newer change by the user is not overwritten).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_sdk import WebClient

from bot.i18n import t
from handlers.blocks.text import mrkdwn, plain


def loading_modal(title: str, lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": plain(title, 24),
        "close": plain(t("home.coming.close", lang), 24),
        "blocks": [{"type": "section", "text": mrkdwn(":hourglass_flowing_sand: …")}],
    }


def open_then_fill(
    client: WebClient, trigger_id: str, title: str, lang: str, build: Callable[[], dict[str, Any]]
) -> None:
    """views.open a loading modal with the trigger now, then views.update it with `build()`."""
    opened = client.views_open(trigger_id=trigger_id, view=loading_modal(title, lang))["view"]
    client.views_update(view_id=opened["id"], hash=opened.get("hash"), view=build())
