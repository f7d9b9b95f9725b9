"""`contactbot groups ...` (target groups) and `contactbot attributes ...` (user attributes)."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from typing import Any

from bot.cli.common import n_contacts
from bot.cli.errors import config_error
from bot.config.settings import Settings
from bot.i18n import number, t
from bot.services import attributes, audiences
from bot.services.attributes import AttributeValueError
from bot.services.audiences import AudienceError
from storage.db import engine_for, upgrade


def _engine(settings: Settings) -> Any:
    upgrade(settings.database_url)
    return engine_for(settings.database_url)


def _actor() -> str:
    return f"cli:{getpass.getuser()}"


def _fail(code: str, values: dict[str, object], lang: str) -> int:
    print(t("cli.error.prefix", lang, message=t(code, lang, **values)), file=sys.stderr)
    return 1


def cmd_groups(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    lang = args.lang
    try:
        if args.groups_command == "list":
            infos = audiences.list_with_counts(engine)
            if args.json:
                print(json.dumps([vars(i) for i in infos], ensure_ascii=False, indent=2))
                return 0
            if not infos:
                print(t("cli.groups.none", lang))
            for info in infos:
                print(t("cli.groups.line", lang, id=info.id, name=info.name, members=n_contacts(info.members, lang)))
            return 0
        if args.groups_command == "create":
            spec = json.loads(args.filter) if args.filter else {"conditions": []}
            info = audiences.create(engine, args.name, spec, _actor())
            print(t("cli.groups.created", lang, id=info.id, members=n_contacts(info.members, lang)))
            return 0
        found = audiences.find(engine, args.group)
        if found is None:
            return _fail("audience.gone", {}, lang)
        if args.groups_command == "rename":
            audiences.rename(engine, found.id, args.name, _actor())
            print(t("cli.groups.renamed", lang, id=found.id))
        else:
            audiences.delete(engine, found.id, _actor())
            print(t("cli.groups.deleted", lang, id=found.id, members=n_contacts(found.members, lang)))
        return 0
    except AudienceError as exc:
        return _fail(exc.code, exc.values, lang)
    except json.JSONDecodeError as exc:
        raise config_error("cli.error.filter_json", cause=str(exc)) from None


def cmd_attributes(args: argparse.Namespace, settings: Settings) -> int:
    engine = _engine(settings)
    lang = args.lang
    try:
        if args.attributes_command == "list":
            listed = attributes.list_attributes(engine)
            if not listed:
                print(t("cli.attributes.none", lang))
            for attribute, holders in listed:
                choices = f" [{', '.join(attribute.choices)}]" if attribute.choices else ""
                label = attribute.label_de if lang == "de" else (attribute.label_en or attribute.label_de)
                values = t("cli.attributes.line_values", lang, n=number(holders, lang))
                print(f"{attribute.id:>5}  {attribute.key:<24} {label:<24} {attribute.type:<7}{choices}  {values}")
            return 0
        if args.attributes_command == "add":
            created = attributes.create(
                engine, args.label, args.label_en, args.type, _actor(), choices=args.choice, key=args.key
            )
            print(t("cli.attributes.created", lang, id=created.id, key=created.key))
            return 0
        rows = {a.key: a for a, _ in attributes.list_attributes(engine)}
        chosen = rows.get(args.key)
        if chosen is None:
            return _fail("attr.gone", {}, lang)
        if args.attributes_command == "rename":
            attributes.update(engine, chosen.id or 0, _actor(), label_de=args.label, label_en=args.label_en)
            print(t("cli.attributes.renamed", lang, key=chosen.key))
        else:
            held = attributes.delete(engine, chosen.id or 0, _actor())
            print(t("cli.attributes.deleted", lang, key=chosen.key, n=number(held, lang)))
        return 0
    except AttributeValueError as exc:
        return _fail(exc.code, exc.values, lang)


def add_commands(sub: Any) -> None:
    groups = sub.add_parser("groups", help="target groups (Zielgruppen)")
    gsub = groups.add_subparsers(dest="groups_command", required=True)
    p = gsub.add_parser("list")
    p.add_argument("--json", action="store_true")
    p = gsub.add_parser("create", help='e.g. --filter \'{"conditions":[{"field":"status","value":"active"}]}\'')
    p.add_argument("name")
    p.add_argument("--filter", help="JSON filter (see storage/audiences.py)")
    p = gsub.add_parser("rename")
    p.add_argument("group", help="id or name")
    p.add_argument("name")
    p = gsub.add_parser("delete")
    p.add_argument("group", help="id or name")
    groups.set_defaults(run=cmd_groups)
    for name in ("list", "create", "rename", "delete"):
        gsub.choices[name].set_defaults(run=cmd_groups)

    attrs = sub.add_parser("attributes", help="user attributes (Nutzermerkmale)")
    asub = attrs.add_subparsers(dest="attributes_command", required=True)
    asub.add_parser("list")
    p = asub.add_parser("add")
    p.add_argument("label", help="German label")
    p.add_argument("--label-en")
    p.add_argument("--type", choices=["text", "number", "date", "bool", "choice"], default="text")
    p.add_argument("--choice", action="append", help="allowed value (repeat) for --type choice")
    p.add_argument("--key")
    p = asub.add_parser("rename")
    p.add_argument("key")
    p.add_argument("label")
    p.add_argument("--label-en")
    p = asub.add_parser("delete")
    p.add_argument("key")
    for name in ("list", "add", "rename", "delete"):
        asub.choices[name].set_defaults(run=cmd_attributes)
