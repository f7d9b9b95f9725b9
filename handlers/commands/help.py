"""`/contacts help` (`hilfe`, `?`, `-h`, `--help`): explain every subcommand that is registered."""

from __future__ import annotations

from typing import Any

from slack_bolt import Respond

from handlers.blocks.help import help_message
from handlers.commands.contacts import HELP_WORDS, registered_commands, subcommand


@subcommand(*HELP_WORDS)
def show_help(*, respond: Respond, lang: str, **_: Any) -> None:
    respond(response_type="ephemeral", **help_message(lang, registered_commands()))
