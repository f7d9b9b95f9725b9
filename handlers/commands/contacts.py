"""`/contacts [search text | subcommand ...]`: ack at once, answer ephemerally from a lazy listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from handlers.context import deps, lang, viewer
from handlers.contact_list_view import render
from handlers.list_state import ListState

Subcommand = Callable[..., None]
# Other features add their own words here (import, export, notify, ...); anything else is a search.
SUBCOMMANDS: dict[str, Subcommand] = {}


def subcommand(*names: str) -> Callable[[Subcommand], Subcommand]:
    def add(func: Subcommand) -> Subcommand:
        for name in names:
            SUBCOMMANDS[name] = func
        return func

    return add


def ack_command(ack: Ack) -> None:
    ack()


def run_command(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    text = (command.get("text") or "").strip()
    language = lang(context, client)
    word, _, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower())
    if handler is not None:
        handler(rest=rest.strip(), command=command, context=context, client=client, respond=respond,
                lang=language)
        return
    state = ListState(search=text or None)
    respond(response_type="ephemeral", **render(deps(context), state, language, viewer=viewer(context)))


def register(app: App) -> None:
    app.command("/contacts")(ack=ack_command, lazy=[run_command])
