"""`contactbot ...`: serve, migrate, and manage contacts from a terminal with the same services as Slack."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Sequence
from typing import Any

from bot.settings import Settings, SettingsError, load_settings

log = logging.getLogger("contactbot")
Command = Callable[[argparse.Namespace, Settings], int]
# Features register their own subcommands here: name -> (configure parser, run).
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def _engine(settings: Settings):  # type: ignore[no-untyped-def]
    from storage.db import engine_for, upgrade

    upgrade(settings.database_url)
    engine = engine_for(settings.database_url)
    if settings.audit_channel and settings.slack_bot_token:
        from bot.audit_feed import install_for_cli

        install_for_cli(settings, engine)  # terminal changes reach the audit channel too
    return engine


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    from bot import lifecycle
    from bot.app import create_app
    from bot.server import create_asgi

    settings.require_slack()
    engine = _engine(settings)
    bolt = create_app(settings, engine)
    executors = lifecycle.instrument(bolt)  # request ids in listener logs; drained on SIGTERM
    socket_handler = None
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        socket_handler = SocketModeHandler(bolt, settings.slack_app_token)
        socket_handler.connect()
        log.info("Slack traffic over Socket Mode; HTTP serves health and webhooks")
    asgi = create_asgi(settings, engine, None if socket_handler else bolt)
    log.info("serving on http://%s:%s", args.host, args.port)
    from bot.worker import start_sending

    sender = None if args.no_scheduler else start_sending(settings, engine)  # broadcasts, scheduled ones
    # SIGTERM: no new work, work in flight finishes within CONTACTBOT_SHUTDOWN_GRACE_SECONDS (bot/lifecycle.py)
    try:
        return lifecycle.serve(
            asgi,
            args.host,
            args.port,
            grace=settings.shutdown_grace,
            executors=executors,
            socket_handler=socket_handler,
            header_timeout=settings.header_timeout,
        )
    finally:
        if sender is not None:
            sender.stop()


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    from storage.db import engine_for, upgrade

    upgrade(settings.database_url)
    from storage.db import current_revision

    print(f"database at revision {current_revision(engine_for(settings.database_url))}")
    return 0


def _filter_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=["active", "inactive", "all"], default="active")
    p.add_argument("--blocked", action="store_true", help="only blocked contacts")
    p.add_argument("--messenger", choices=None)
    p.add_argument("--search")
    p.add_argument(
        "--sort",
        default="last_chat:desc",
        help="FIELD[:asc|desc], FIELD one of phone, messenger, first_contact, last_chat, name, status",
    )


def parse_filter(args: argparse.Namespace) -> Any:
    from storage.contacts import ContactFilter
    from storage.models import MESSENGERS

    if args.messenger and args.messenger not in MESSENGERS:
        raise SystemExit(f"--messenger must be one of {', '.join(MESSENGERS)}")
    return ContactFilter(
        status=args.status, blocked=True if args.blocked else None, messenger=args.messenger, search=args.search
    )


def parse_sort(value: str) -> tuple[str, bool]:
    from storage.contacts import SORT_COLUMNS

    field, _, direction = value.partition(":")
    if field not in SORT_COLUMNS or direction not in ("", "asc", "desc"):
        raise SystemExit(f"--sort {value!r}: use FIELD[:asc|desc] with FIELD one of {', '.join(SORT_COLUMNS)}")
    return field, (direction == "desc") if direction else field in ("first_contact", "last_chat")


def contact_json(contact: Any) -> dict[str, Any]:
    return {
        "id": contact.id,
        "phone": contact.phone,
        "messenger": contact.messenger,
        "name": contact.name,
        "first_contact": contact.first_contact_at.isoformat() if contact.first_contact_at else None,
        "last_chat": contact.last_chat_at.isoformat() if contact.last_chat_at else None,
        "blocked": contact.blocked,
        "status": "active" if contact.active else "inactive",
    }


def cmd_contacts_list(args: argparse.Namespace, settings: Settings) -> int:
    from bot.contacts import list_contacts
    from storage.contacts import PageRequest

    sort, desc = parse_sort(args.sort)
    engine = _engine(settings)
    page = list_contacts(
        engine, parse_filter(args), PageRequest(sort=sort, desc=desc, limit=args.limit), settings.default_region
    )
    rows = [contact_json(c) for c in page.rows]
    if args.json:
        print(json.dumps({"total": page.total, "contacts": rows}, ensure_ascii=False, indent=2))
        return 0
    print(f"{len(rows)} of {page.total} contacts")
    for r in rows:
        print(
            f"{r['phone']:<17} {r['messenger']:<10} {(r['name'] or '-')[:30]:<30} {r['status']:<8} "
            f"{'blocked' if r['blocked'] else '':<7} last chat {r['last_chat'] or '-'}"
        )
    return 0


def cmd_contacts_change(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from bot import contacts as service
    from bot.phone import PhoneError, to_e164
    from storage import contacts as store
    from storage.db import session_scope

    try:
        phone = to_e164(args.number, settings.default_region)
    except PhoneError as exc:
        print(f"{args.number!r} is not a valid phone number ({exc.code})", file=sys.stderr)
        return 2
    engine = _engine(settings)
    with session_scope(engine) as session:
        found = store.by_phone(session, phone, args.messenger)
    if not found:
        print("no such contact", file=sys.stderr)
        return 1
    if len(found) > 1:
        print(
            f"{len(found)} contacts have this number; pick one with --messenger "
            f"({', '.join(c.messenger for c in found)})",
            file=sys.stderr,
        )
        return 1
    actor = f"cli:{getpass.getuser()}"
    if args.action == "delete":
        removed = service.erase(engine, found[0].id or 0, actor)
        print(f"deleted contact {found[0].id} and {sum(removed.values())} related rows")
    else:
        contact = service.change(engine, found[0].id or 0, args.action, actor)
        print(
            f"contact {contact.id}: {'blocked' if contact.blocked else 'not blocked'}, "
            f"{'active' if contact.active else 'inactive'}"
        )
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    import time

    from bot.demo_data import generate

    engine = _engine(settings)
    started = time.perf_counter()
    n = generate(engine, args.count, tickets=args.tickets, seed=args.seed)
    print(f"inserted {n} demo contacts in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    from sqlmodel import Session

    from storage import audit

    engine = _engine(settings)
    with Session(engine) as session:
        entries = audit.recent(session, args.limit, action=args.action)
    if args.json:
        print(
            json.dumps(
                [
                    {
                        "at": e.at.isoformat(),
                        "actor": e.actor,
                        "action": e.action,
                        "object_type": e.object_type,
                        "object_id": e.object_id,
                        "detail": e.detail,
                    }
                    for e in entries
                ],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    for e in entries:
        detail = json.dumps(e.detail, ensure_ascii=False) if e.detail else ""
        print(f"{e.at:%Y-%m-%d %H:%M:%S}Z  {e.actor:<16} {e.action:<22} {e.object_type}:{e.object_id or '-'} {detail}")
    return 0


def cmd_tickets_close(args: argparse.Namespace, settings: Settings) -> int:
    import getpass

    from bot import tickets
    from bot.i18n import t

    try:
        ticket, changed = tickets.close(_engine(settings), args.id, f"cli:{getpass.getuser()}")
    except tickets.TicketNotFound:
        print(t("inbound.cli.not_found", args.lang, id=args.id), file=sys.stderr)
        return 1
    print(t("inbound.cli.closed" if changed else "inbound.cli.already_closed", args.lang, id=ticket.id))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="contactbot", description="Slack contact console for messenger customer service."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("serve", help="run the Slack app and the HTTP routes")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--no-scheduler", action="store_true", help="do not send broadcasts here (run `contactbot worker` separately)"
    )
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("db", help="database schema")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(run=cmd_db)

    contacts = sub.add_parser("contacts", help="list and change contacts")
    csub = contacts.add_subparsers(dest="contacts_command", required=True)
    p = csub.add_parser("list")
    _filter_args(p)
    p.add_argument("--limit", type=int, default=20)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_contacts_list)
    for action in ("block", "unblock", "activate", "deactivate", "delete"):
        p = csub.add_parser(action)
        p.add_argument("number")
        p.add_argument("--messenger")
        p.set_defaults(run=cmd_contacts_change, action=action)

    p = sub.add_parser("demo-data", help="insert realistic fake contacts")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--tickets", type=float, default=0.1, help="share of contacts with a ticket")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=cmd_demo_data)

    p = sub.add_parser("audit", help="show the audit log")
    p.add_argument("--limit", type=int, default=50)
    p.add_argument("--action")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_audit)

    tickets = sub.add_parser("tickets", help="conversations with contacts")
    tsub = tickets.add_subparsers(dest="tickets_command", required=True)
    p = tsub.add_parser("close", help="close a ticket; the contact's next message opens a new one")
    p.add_argument("id", type=int)
    p.add_argument("--lang", choices=["de", "en"], default="de")
    p.set_defaults(run=cmd_tickets_close)

    from bot.cli_groups import add_commands as add_group_commands

    add_group_commands(sub)
    from bot.csv_cli import add_commands as add_csv_commands

    add_csv_commands(sub)
    from bot.broadcast_cli import add_commands as add_broadcast_commands

    add_broadcast_commands(sub)
    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from bot.logs import secrets_of, setup

    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
        setup(secrets=secrets_of(settings))
        if args.command == "serve":
            settings.require_slack()
    except SettingsError as exc:
        print(f"contactbot: configuration error: {exc}", file=sys.stderr)
        return 2
    return int(args.run(args, settings))
