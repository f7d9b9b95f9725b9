"""`/contacts groups` (Zielgruppen) and `/contacts attributes` (Nutzermerkmale): overview messages."""

from __future__ import annotations

from typing import Any

from slack_bolt import BoltContext, Respond

from bot.services import attributes as attribute_service
from bot.services import audiences as audience_service
from handlers.blocks.attributes import attributes_message
from handlers.blocks.audiences import groups_message
from handlers.commands.contacts import subcommand
from handlers.context import deps, sealer


@subcommand("groups", "gruppen", "zielgruppen", "audiences")
def show_groups(*, context: BoltContext, respond: Respond, lang: str, **_: Any) -> None:
    respond(
        response_type="ephemeral",
        **groups_message(audience_service.list_with_counts(deps(context).engine), lang, seal=sealer(context).seal),
    )


@subcommand("attributes", "merkmale", "nutzermerkmale")
def show_attributes(*, context: BoltContext, respond: Respond, lang: str, **_: Any) -> None:
    respond(
        response_type="ephemeral",
        **attributes_message(attribute_service.list_attributes(deps(context).engine), lang, seal=sealer(context).seal),
    )
