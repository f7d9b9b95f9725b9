"""What every command group shares: the engine a command works on, the list filter options."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import NoReturn

from bot.cli.errors import config_error
from bot.config.settings import Settings
from bot.domain.contacts import MESSENGERS, SORT_FIELDS, ContactFilter
from bot.i18n import cli_language, number, t
from handlers.clients.audit_feed import install_for_cli
from storage.db import Engine, engine_for, upgrade


def open_engine(settings: Settings) -> Engine:
    """The migrated database; with an audit channel configured, terminal changes are posted there too."""
    upgrade(settings.database_url)
    engine = engine_for(settings.database_url)
    if settings.audit_channel and settings.slack_bot_token:
        install_for_cli(settings, engine)  # terminal changes reach the audit channel too
    return engine


class Parser(argparse.ArgumentParser):
    """argparse, but a wrong argument is one line on stderr (exit 2) instead of the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} ({self.prog} --help)", file=sys.stderr)
        raise SystemExit(2)


def limit(maximum: int) -> Callable[[str], int]:
    """An argparse type for `--limit`: a whole number from 1 to `maximum` (`-5` used to list everything)."""

    def parse(value: str) -> int:
        try:
            n = int(value)
        except ValueError:
            n = 0
        if not 1 <= n <= maximum:
            raise argparse.ArgumentTypeError(
                t("cli.error.limit", cli_language(os.environ), max=maximum, value=value).removeprefix("--limit ")
            )
        return n

    return parse


def messenger(value: str) -> str:
    """`--messenger WhatsApp` is `whatsapp`: the names are case-insensitive."""
    return value.strip().lower()


def filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["active", "inactive", "all"], default="active")
    p.add_argument("--blocked", action="store_true", help="only blocked contacts")
    p.add_argument("--messenger", type=messenger, choices=MESSENGERS, help=f"one of {', '.join(MESSENGERS)}")
    p.add_argument("--search")
    p.add_argument(
        "--sort",
        default="last_chat:desc",
        help="FIELD[:asc|desc], FIELD one of phone, messenger, first_contact, last_chat, name, status",
    )


def parse_filter(args: argparse.Namespace) -> ContactFilter:
    return ContactFilter(
        status=args.status, blocked=True if args.blocked else None, messenger=args.messenger, search=args.search
    )


def parse_sort(value: str) -> tuple[str, bool]:
    field, _, direction = value.partition(":")
    if field not in SORT_FIELDS or direction not in ("", "asc", "desc"):
        raise config_error("cli.error.sort", value=value, fields=", ".join(SORT_FIELDS))
    return field, (direction == "desc") if direction else field in ("first_contact", "last_chat")


def n_contacts(n: int, lang: str) -> str:
    """ "1 contact", "2 contacts" (German: "1 Kontakt", "2 Kontakte")."""
    return t("cli.n_contacts.one", lang) if n == 1 else t("cli.n_contacts.other", lang, n=number(n, lang))
