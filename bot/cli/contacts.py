"""`contactbot contacts ...`, `tickets close`, `audit` and `demo-data`: the same services as Slack."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any

from bot.cli.common import filter_args, open_engine, parse_filter, parse_sort
from bot.config.settings import Settings
from bot.domain.contacts import PageRequest
from bot.domain.phone import PhoneError, to_e164
from bot.i18n import t
from bot.services import audit_log, tickets
from bot.services import contacts as contacts_service
from bot.services.contacts import list_contacts
from bot.services.demo_data import generate


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
    sort, desc = parse_sort(args.sort)
    engine = open_engine(settings)
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
    try:
        phone = to_e164(args.number, settings.default_region)
    except PhoneError as exc:
        print(f"{args.number!r} is not a valid phone number ({exc.code})", file=sys.stderr)
        return 2
    engine = open_engine(settings)
    found = contacts_service.by_phone(engine, phone, args.messenger)
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
        removed = contacts_service.erase(engine, found[0].id or 0, actor)
        print(f"deleted contact {found[0].id} and {sum(removed.values())} related rows")
    else:
        contact = contacts_service.change(engine, found[0].id or 0, args.action, actor)
        print(
            f"contact {contact.id}: {'blocked' if contact.blocked else 'not blocked'}, "
            f"{'active' if contact.active else 'inactive'}"
        )
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    started = time.perf_counter()
    n = generate(engine, args.count, tickets=args.tickets, seed=args.seed)
    print(f"inserted {n} demo contacts in {time.perf_counter() - started:.1f} s")
    return 0


def cmd_audit(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    entries = audit_log.recent(engine, args.limit, action=args.action)
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
    try:
        ticket, changed = tickets.close(open_engine(settings), args.id, f"cli:{getpass.getuser()}")
    except tickets.TicketNotFound:
        print(t("inbound.cli.not_found", args.lang, id=args.id), file=sys.stderr)
        return 1
    print(t("inbound.cli.closed" if changed else "inbound.cli.already_closed", args.lang, id=ticket.id))
    return 0


def add_commands(sub: Any) -> None:
    contacts = sub.add_parser("contacts", help="list and change contacts")
    csub = contacts.add_subparsers(dest="contacts_command", required=True)
    p = csub.add_parser("list")
    filter_args(p)
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

    tickets_parser = sub.add_parser("tickets", help="conversations with contacts")
    tsub = tickets_parser.add_subparsers(dest="tickets_command", required=True)
    p = tsub.add_parser("close", help="close a ticket; the contact's next message opens a new one")
    p.add_argument("id", type=int)
    p.add_argument("--lang", choices=["de", "en"], default="de")
    p.set_defaults(run=cmd_tickets_close)
