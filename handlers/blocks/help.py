"""`/contacts help`: every subcommand with an example, in the reader's language."""

from __future__ import annotations

from typing import Any

from bot.i18n import catalog, t
from handlers.blocks.text import cut, escape, mrkdwn

BUILT_IN = ("list", "search", "card", "help")


def command_line(name: str, lang: str) -> str:
    """A registered subcommand's line: its own text when the catalog has one, else just its name."""
    key = f"help.cmd.{name}"
    if key in catalog()["de"]:
        return t(key, lang)
    return t("help.cmd.other", lang, name=escape(cut(name, 40)))


def help_message(lang: str, commands: list[str], unknown: str | None = None) -> dict[str, Any]:
    """The help as an ephemeral message; `unknown` is a word that was neither a command nor a match."""
    intro = t("help.unknown", lang, word=escape(cut(unknown, 40))) if unknown else t("help.title", lang)
    lines = [t(f"help.{name}", lang) for name in BUILT_IN] + [command_line(n, lang) for n in commands]
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": "help_intro", "text": mrkdwn(intro)},
        {"type": "section", "block_id": "help_commands", "text": mrkdwn("\n".join(f"• {line}" for line in lines))},
        {"type": "context", "block_id": "help_more", "elements": [mrkdwn(t("help.more", lang))]},
        {"type": "context", "block_id": "help_admins", "elements": [mrkdwn(t("help.admins", lang))]},
    ]
    return {"blocks": blocks, "text": t("help.fallback", lang)}
