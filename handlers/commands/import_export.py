"""`/contacts import` (how to upload) and `/contacts export [search]` (where should the file go?)."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond

from handlers.actions.export import import_help
from handlers.blocks import exports as blocks
from handlers.commands.contacts import subcommand
from handlers.context import ephemeral, sealer
from handlers.list_state import ListState


@subcommand("import", "importieren")
def import_command(*, rest: str, context: BoltContext, respond: Respond, lang: str, **_: Any) -> None:
    respond(**ephemeral(import_help(context, lang)))


@subcommand("export", "exportieren")
def export_command(*, rest: str, context: BoltContext, respond: Respond, lang: str, **_: Any) -> None:
    state = ListState(status="all" if rest == "all" else "active", search=None if rest in ("", "all") else rest)
    respond(response_type="ephemeral", **blocks.choice(state, lang, seal=sealer(context).seal))
