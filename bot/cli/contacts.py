"""`contactbot contacts ...`, `tickets close`, `audit` and `demo-data`: the same services as Slack."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
import time
from typing import Any

from bot.cli.common import filter_args, limit, messenger, open_engine, parse_filter, parse_sort
from bot.cli.errors import config_error, runtime_error
from bot.config.settings import Settings
from bot.domain.contacts import MESSENGERS, PageRequest
from bot.domain.phone import PhoneError, display, to_e164
from bot.i18n import number, t, total
from bot.services import audit_log, history, tickets
from bot.services import contacts as contacts_service
from bot.services.contacts import list_contacts
from bot.services.demo_data import generate

MAX_LIST = 1_000_000  # `--limit`: rows a terminal list or the audit log may print


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
        found = {"total": page.total, "more": page.total_capped, "contacts": rows}  # more: total is a lower bound
        print(json.dumps(found, ensure_ascii=False, indent=2))
        return 0
    lang = args.lang
    if not rows:
        print(t("cli.contacts.none_for", lang, term=args.search) if args.search else t("cli.contacts.none", lang))
        return 0
    shown = number(len(rows), lang)
    print(t("cli.contacts.count", lang, shown=shown, total=total(page.total, page.total_capped, lang)))
    for r in rows:
        status = t(f"cli.contacts.{r['status']}", lang)
        blocked = t("cli.contacts.blocked", lang) if r["blocked"] else ""
        last_chat = t("cli.contacts.last_chat", lang, when=r["last_chat"] or "-")
        print(
            f"{r['phone']:<17} {r['messenger']:<10} {(r['name'] or '-')[:30]:<30} {status:<8} {blocked:<9} {last_chat}"
        )
    return 0


def _one_contact(args: argparse.Namespace, settings: Settings) -> Any:
    """The one contact NUMBER (and --messenger) names, or the error that says why not."""
    try:
        phone = to_e164(args.number, settings.default_region)
    except PhoneError as exc:
        raise config_error("cli.error.bad_phone", value=repr(args.number), code=exc.code) from None
    found = contacts_service.by_phone(open_engine(settings), phone, args.messenger)
    if not found:
        raise runtime_error("cli.error.no_contact")
    if len(found) > 1:
        raise runtime_error(
            "cli.error.several_contacts", n=len(found), messengers=", ".join(c.messenger for c in found)
        )
    return found[0]


def _local(when: Any) -> str:
    """A time in the terminal's own zone, ISO 8601 (`2026-03-01 10:15:00+01:00`)."""
    return str(when.astimezone().isoformat(sep=" ", timespec="seconds")) if when is not None else "-"


def _event_json(e: Any) -> dict[str, Any]:
    return {
        "at": e.at.isoformat(),
        "direction": e.direction,
        "kind": e.kind,
        "template": e.template,
        "language": e.language,
        "broadcast_id": e.broadcast_id,
        "text": e.text,
        "status": e.status,
        "timeline": [{"status": name, "at": when.isoformat()} for name, when in e.timeline()],
        "error_code": e.error_code,
        "error_title": e.error_title,
    }


def cmd_contacts_history(args: argparse.Namespace, settings: Settings) -> int:
    """`contacts history NUMBER`: templates sent (name, text, sent → delivered → read / failed) and messages."""
    if args.before and not history.valid_cursor(args.before):
        raise config_error("cli.history.bad_cursor", value=repr(args.before))
    contact = _one_contact(args, settings)
    found = history.page(open_engine(settings), contact.id or 0, args.before, args.limit)
    if args.json:
        out = {"contact": contact_json(contact), "events": [_event_json(e) for e in found.events]}
        print(json.dumps(out | {"next": found.next_cursor}, ensure_ascii=False, indent=2))
        return 0
    lang = args.lang
    who = f"{contact.name} ({display(contact.phone)})" if contact.name else display(contact.phone)
    zone = time.strftime("%Z") or "UTC"
    print(t("cli.history.header", lang, who=who, zone=zone))
    if not found.events:
        print(t("cli.history.none", lang))
    for e in found.events:
        if e.kind == "template":
            head = t("cli.history.template", lang, template=e.template, lang=e.language, id=e.broadcast_id)
        else:
            head = t(f"cli.history.{e.direction}", lang) + (f" [{e.kind}]" if e.kind != "text" else "")
        print(f"{_local(e.at)}  {head}")
        if e.text:
            print("    " + e.text.replace("\n", "\n    "))
        steps = [f"{t(f'history.step.{name}', lang)} {_local(when)}" for name, when in e.timeline()]
        if e.status in ("unknown", "held", "paused"):
            steps.append(t(f"history.state.{e.status}", lang))
        if steps:
            print("    " + " → ".join(steps))
        if e.error_code is not None or (e.status == "failed" and e.error_title):
            reason = f"{e.error_title or ''} ({e.error_code})" if e.error_code is not None else e.error_title
            print("    " + t("history.reason", lang, reason=reason))
    if found.next_cursor:
        print(t("cli.history.more", lang, number=contact.phone, cursor=found.next_cursor))
    return 0


def cmd_contacts_change(args: argparse.Namespace, settings: Settings) -> int:
    try:
        phone = to_e164(args.number, settings.default_region)
    except PhoneError as exc:
        raise config_error("cli.error.bad_phone", value=repr(args.number), code=exc.code) from None
    engine = open_engine(settings)
    found = contacts_service.by_phone(engine, phone, args.messenger)
    if not found:
        raise runtime_error("cli.error.no_contact")
    if len(found) > 1:
        raise runtime_error(
            "cli.error.several_contacts", n=len(found), messengers=", ".join(c.messenger for c in found)
        )
    actor = f"cli:{getpass.getuser()}"
    lang = args.lang
    if args.action == "delete":
        removed = contacts_service.erase(engine, found[0].id or 0, actor)
        print(t("cli.contacts.deleted", lang, id=found[0].id, n=sum(removed.values())))
    else:
        contact = contacts_service.change(engine, found[0].id or 0, args.action, actor)
        print(
            t(
                "cli.contacts.changed",
                lang,
                id=contact.id,
                blocked=t("cli.contacts.blocked" if contact.blocked else "cli.contacts.not_blocked", lang),
                active=t("cli.contacts.active" if contact.active else "cli.contacts.inactive", lang),
            )
        )
    return 0


def cmd_demo_data(args: argparse.Namespace, settings: Settings) -> int:
    engine = open_engine(settings)
    started = time.perf_counter()
    n = generate(engine, args.count, tickets=args.tickets, seed=args.seed)
    seconds = f"{time.perf_counter() - started:.1f}"
    print(t("cli.demo.inserted", args.lang, n=n, seconds=seconds.replace(".", ",") if args.lang == "de" else seconds))
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
    if not entries:
        print(t("cli.audit.none", args.lang))
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
    p.add_argument("--limit", type=limit(MAX_LIST), default=20, help=f"1 to {MAX_LIST:,}")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_contacts_list)
    for action in ("block", "unblock", "activate", "deactivate", "delete"):
        p = csub.add_parser(action)
        p.add_argument("number")
        p.add_argument("--messenger", type=messenger, choices=MESSENGERS)
        p.set_defaults(run=cmd_contacts_change, action=action)
    p = csub.add_parser("history", help="templates sent to a contact and its messages, newest first")
    p.add_argument("number")
    p.add_argument("--messenger", type=messenger, choices=MESSENGERS)
    p.add_argument("--limit", type=limit(history.MAX_PAGE), default=20, help=f"1 to {history.MAX_PAGE}")
    p.add_argument("--before", help="the cursor printed under a page: the entries older than it")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_contacts_history)

    p = sub.add_parser("demo-data", help="insert realistic fake contacts")
    p.add_argument("--count", type=int, default=1000)
    p.add_argument("--tickets", type=float, default=0.1, help="share of contacts with a ticket")
    p.add_argument("--seed", type=int, default=1)
    p.set_defaults(run=cmd_demo_data)

    p = sub.add_parser("audit", help="show the audit log")
    p.add_argument("--limit", type=limit(MAX_LIST), default=50, help=f"1 to {MAX_LIST:,}")
    p.add_argument("--action")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_audit)

    tickets_parser = sub.add_parser("tickets", help="conversations with contacts")
    tsub = tickets_parser.add_subparsers(dest="tickets_command", required=True)
    p = tsub.add_parser("close", help="close a ticket; the contact's next message opens a new one")
    p.add_argument("id", type=int)
    p.set_defaults(run=cmd_tickets_close)
