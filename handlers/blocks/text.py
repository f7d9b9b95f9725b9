"""Safe text for Block Kit: escaping, truncation, and date tokens."""

from __future__ import annotations

import re
from datetime import datetime

ELLIPSIS = "…"
# Bidi embeddings, overrides, isolates and marks, and zero-width characters: invisible, but they
# reorder or hide what is shown ("Bob" + U+202E + "gnp.exe" reads "Bobexe.png"). Shown text drops
# them; the stored original keeps them (exports write what was stored).
INVISIBLE = re.compile("[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff]")


def visible(value: object) -> str:
    return INVISIBLE.sub("", str(value))


def escape(value: object) -> str:
    """Customer-typed text into mrkdwn: `&`, `<`, `>` escaped so it can never ping or link, and
    invisible direction and zero-width characters removed so it shows what it is."""
    return visible(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def unescape(value: str) -> str:
    """Slash-command text as typed: Slack sends `&`, `<`, `>` as `&amp;`, `&lt;`, `&gt;`
    (https://docs.slack.dev/messaging/formatting-message-text#escaping); `&amp;` last, so `&amp;lt;` stays `&lt;`."""
    return value.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def cut(value: str, limit: int) -> str:
    """Shorten to `limit` characters with an ellipsis (Slack rejects, rather than trims, long text)."""
    return value if len(value) <= limit else value[: max(limit - 1, 0)] + ELLIPSIS


def date_token(when: datetime | None, fallback: str = "-", fmt: str = "{date_short_pretty} {time}") -> str:
    """Slack renders `<!date^...>` in each reader's own time zone; the fallback is UTC ISO."""
    if when is None:
        return fallback
    epoch = int(when.timestamp())
    return f"<!date^{epoch}^{fmt}|{when.strftime('%Y-%m-%d %H:%M')} UTC>"


def plain(text_: str, limit: int = 75) -> dict[str, object]:
    return {"type": "plain_text", "text": cut(visible(text_), limit), "emoji": True}


def mrkdwn(text_: str, limit: int = 3000) -> dict[str, str]:
    return {"type": "mrkdwn", "text": cut(text_, limit)}


def button(text_: str, action_id: str, value: str = "", style: str | None = None) -> dict[str, object]:
    element: dict[str, object] = {"type": "button", "text": plain(text_), "action_id": action_id}
    if value:
        element["value"] = value
    if style:
        element["style"] = style
    return element


def option(text_: str, value: str) -> dict[str, object]:
    return {"text": plain(text_), "value": value}


# Slack refuses a message whose blocks carry more than about 13,200 characters of text in total
# (`msg_blocks_too_long`, observed: slackapi/bolt-js#2509); builders stay below this budget.
MESSAGE_TEXT_BUDGET = 12_000


def text_size(node: object) -> int:
    """The characters of every text string in blocks (option labels included), as msg_blocks_too_long counts."""
    if isinstance(node, dict):
        own = len(node["text"]) if isinstance(node.get("text"), str) else 0
        return own + sum(text_size(v) for k, v in node.items() if k != "text" or not isinstance(v, str))
    if isinstance(node, list):
        return sum(text_size(v) for v in node)
    return 0
