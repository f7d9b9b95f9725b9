"""`contactbot ...`: serve, migrate, and manage contacts from a terminal with the same services as Slack.

One module per command group; each has `add_commands(sub)`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.cli import broadcasts, contacts, csv, groups, serve, worker
from bot.config.logs import secrets_of, setup
from bot.config.settings import SettingsError, load_settings
from storage.db import database_password

# Features register their own subcommands here: name -> (configure parser, run).
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactbot", description="Slack contact console for messenger customer service."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (serve, contacts, groups, csv, broadcasts, worker):
        group.add_commands(sub)
    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup(secrets=secrets_of(settings, database_password(settings.database_url)))
        if args.command == "serve":
            settings.require_slack()
    except SettingsError as exc:
        print(f"contactbot: configuration error: {exc}", file=sys.stderr)
        return 2
    return int(args.run(args, settings))
