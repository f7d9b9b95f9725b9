"""`/contacts [search text | subcommand ...]`: ack at once, answer ephemerally from a lazy listener.

Routing: a registered subcommand word runs it; a full phone number or an exact name of exactly one
contact shows that contact's card; anything else is a list search, and a single word that is no
command and matches nobody gets the help below the empty result.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient

from bot.services import contact_card
from handlers.blocks.contact_card import contact_card as card_message
from handlers.blocks.help import help_message
from handlers.blocks.text import unescape
from handlers.context import deps, lang, sealer, viewer
from handlers.direct_reply import DirectReply, dm_channel
from handlers.errors import answers_errors
from handlers.list_state import ListState
from handlers.screens.contact_list import render

Subcommand = Callable[..., None]
# Other features add their own words here (import, export, notify, ...); anything else is a search.
SUBCOMMANDS: dict[str, Subcommand] = {}
# Words whose subcommand opens a modal: they run in the ack path (right after the ack, on the ack pool), where the
# trigger_id (valid 3 s, once) is fresh; a lazy listener may wait behind other lazy work and miss it.
IN_ACK: set[str] = set()
HELP_WORDS = ("help", "hilfe", "?", "-h", "--help")
# One word that could be a mistyped command (`exprot`, `--verbose`), as opposed to a name or number.
COMMAND_LIKE = re.compile(r"^(-{1,2})?[a-zäöüß]{2,20}$")


def subcommand(*names: str, in_ack: bool = False) -> Callable[[Subcommand], Subcommand]:
    """Register a `/contacts <word>`; `in_ack`: it opens a modal, so it runs in the ack path (IN_ACK)."""

    def add(func: Subcommand) -> Subcommand:
        for name in names:
            SUBCOMMANDS[name] = func
            if in_ack:
                IN_ACK.add(name)
        return func

    return add


def ack_command(ack: Ack) -> None:
    ack()


def opens_modal(text: str) -> bool:
    """Whether `/contacts <text>` runs a subcommand that opens a modal."""
    return unescape(text).strip().partition(" ")[0].lower() in IN_ACK


def _opens_modal(body: dict[str, Any]) -> bool:  # a Bolt matcher: Bolt passes `body` by name
    return opens_modal(str(body.get("text") or ""))


def run_in_ack(ack: Ack, command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """`/contacts notify` and the like: acked, then run on this (ack pool) thread, so views.open comes while the
    trigger_id is fresh however busy the lazy pool is; whatever takes longer fills the modal with views.update."""
    ack()
    run_command(command=command, context=context, client=client, respond=respond)


@answers_errors
def run_command(command: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    # "Müller & Co" arrives as "Müller &amp; Co"; a NUL byte is text that no name or number holds (PostgreSQL
    # refuses it in a parameter).
    text = unescape(command.get("text") or "").replace("\x00", "\ufffd").strip()
    language = lang(context, client)
    word, _, rest = text.partition(" ")
    handler = SUBCOMMANDS.get(word.lower())
    if handler is not None:
        handler(rest=rest.strip(), command=command, context=context, client=client, respond=respond, lang=language)
        return
    d = deps(context)
    region = d.settings.default_region
    if text and (cid := contact_card.find_one(d.engine, text, region)) is not None:
        try:
            respond(
                response_type="ephemeral",
                **card_message(contact_card.load(d.engine, cid), language, seal=sealer(context).seal),
            )
            return
        except contact_card.NotFound:  # deleted between the two reads: fall back to the search
            pass
    state = ListState(search=text or None)
    payload = render(d, state, language, viewer=viewer(context))
    if COMMAND_LIKE.match(text.lower()) and not contact_card.matches_any(d.engine, text, region):
        # Maybe a mistyped command: keep the (empty) search result, and explain what /contacts does.
        help_blocks = help_message(language, registered_commands(), unknown=text)["blocks"]
        payload["blocks"] = [*payload["blocks"], {"type": "divider"}, *help_blocks][:50]
    respond(response_type="ephemeral", **payload)


def registered_commands() -> list[str]:
    """One name per registered subcommand (the first it was registered under), help left out."""
    seen: set[int] = set()
    names: list[str] = []
    for name, func in SUBCOMMANDS.items():
        if name in HELP_WORDS or id(func) in seen:
            continue
        seen.add(id(func))
        names.append(name)
    return names


def run_for_user(
    text: str, user_id: str, team_id: str | None, trigger_id: str | None, context: BoltContext, client: WebClient
) -> None:
    """Run `/contacts <text>` for a surface without a channel (Home, global shortcut): answers go to the DM.

    The subcommand gets a command payload like Slack's, with the DM as channel and the click's
    trigger_id, so a feature that opens a modal or posts a message works from there unchanged.
    """
    channel = dm_channel(client, user_id)
    command = {
        "command": "/contacts",
        "text": text,
        "user_id": user_id,
        "team_id": team_id or "",
        "channel_id": channel,
        "trigger_id": trigger_id or "",
        "response_url": "",
    }
    run_command(command=command, context=context, client=client, respond=DirectReply(client, channel))


def register(app: App) -> None:
    app.command("/contacts", matchers=[_opens_modal])(run_in_ack)  # first: Bolt runs the first listener that matches
    app.command("/contacts")(ack=ack_command, lazy=[run_command])
