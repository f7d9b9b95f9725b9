"""How a person who did something (an audit actor) is shown in mrkdwn."""

from __future__ import annotations

from handlers.blocks.text import cut, escape


def who(actor: str | None) -> str:
    """`slack:U123`, `U123` -> a Slack mention; `cli:anna` or anything else -> the escaped name."""
    if not actor:
        return "-"
    kind, _, rest = actor.partition(":")
    if not rest:
        kind, rest = "slack", kind
    if kind == "slack" and rest[:1] in ("U", "W") and rest.isalnum():
        return f"<@{rest}>"
    return escape(cut(rest, 40))
