"""What every command group shares: the engine a command works on, the list filter options."""

from __future__ import annotations

import argparse

from bot.config.settings import Settings
from bot.domain.contacts import MESSENGERS, SORT_FIELDS, ContactFilter
from handlers.clients.audit_feed import install_for_cli
from storage.db import Engine, engine_for, upgrade


def open_engine(settings: Settings) -> Engine:
    """The migrated database; with an audit channel configured, terminal changes are posted there too."""
    upgrade(settings.database_url)
    engine = engine_for(settings.database_url)
    if settings.audit_channel and settings.slack_bot_token:
        install_for_cli(settings, engine)  # terminal changes reach the audit channel too
    return engine


def filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["active", "inactive", "all"], default="active")
    p.add_argument("--blocked", action="store_true", help="only blocked contacts")
    p.add_argument("--messenger", choices=None)
    p.add_argument("--search")
    p.add_argument(
        "--sort",
        default="last_chat:desc",
        help="FIELD[:asc|desc], FIELD one of phone, messenger, first_contact, last_chat, name, status",
    )


def parse_filter(args: argparse.Namespace) -> ContactFilter:
    if args.messenger and args.messenger not in MESSENGERS:
        raise SystemExit(f"--messenger must be one of {', '.join(MESSENGERS)}")
    return ContactFilter(
        status=args.status, blocked=True if args.blocked else None, messenger=args.messenger, search=args.search
    )


def parse_sort(value: str) -> tuple[str, bool]:
    field, _, direction = value.partition(":")
    if field not in SORT_FIELDS or direction not in ("", "asc", "desc"):
        raise SystemExit(f"--sort {value!r}: use FIELD[:asc|desc] with FIELD one of {', '.join(SORT_FIELDS)}")
    return field, (direction == "desc") if direction else field in ("first_contact", "last_chat")
