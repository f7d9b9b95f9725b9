"""`contactbot import FILE` and `contactbot export`: the same services as the Slack upload and button."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import shutil
import sys
from typing import Any

from bot.cli.common import filter_args, open_engine, parse_filter, parse_sort
from bot.cli.errors import config_error
from bot.config.settings import Settings
from bot.domain.uploads import limit_text
from bot.i18n import number, t
from bot.services import exports


def cmd_import(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here (start-up cost): pandas loads only for `import`.
    from bot.services import imports

    lang = args.lang
    if os.path.isdir(args.file):
        raise config_error("cli.error.is_dir", path=args.file)
    if not os.path.isfile(args.file):
        raise config_error("cli.error.no_file", path=args.file)
    name = os.path.basename(args.file)
    if os.path.getsize(args.file) > settings.max_upload_bytes:
        limit = limit_text(settings.max_upload_bytes)
        print(
            t("import.error.prefix", lang, file=name, reason=t("import.error.too_big", lang, limit=limit))
            .replace("*", "")
            .removeprefix(":x: "),
            file=sys.stderr,
        )
        return 1
    engine = open_engine(settings)
    actor = f"cli:{getpass.getuser()}"
    try:
        preview = imports.preview(engine, args.file, name, actor=actor, region=settings.default_region)
    except imports.FileProblem as exc:
        reason = t(exc.code, lang, **exc.values)
        print(
            t("import.error.prefix", lang, file=name, reason=reason).replace("*", "").removeprefix(":x: "),
            file=sys.stderr,
        )
        return 1
    result = preview
    applied = False
    if not args.dry_run:
        try:
            result = imports.apply_run(engine, preview.run_id, actor, consent_confirmed=args.consent_confirmed)
            applied = True
        except imports.ImportRefused as exc:
            imports.cancel_run(engine, preview.run_id, actor)
            _print(preview, lang, args.json, applied=False)
            singular = exc.code == "import.consent_needed" and exc.values.get("count") == 1
            print(t("cli.import.consent_needed_one" if singular else exc.code, lang, **exc.values), file=sys.stderr)
            return 3
    else:
        imports.cancel_run(engine, preview.run_id, actor)  # a dry run leaves no staging rows behind
    _print(result, lang, args.json, applied=applied, errors=preview)
    return 0


def _print(result: Any, lang: str, as_json: bool, *, applied: bool, errors: Any = None) -> None:
    from bot.services.imports import reason  # start-up cost: pandas loads only for `import`

    errors = errors or result
    if as_json:
        data = result.as_json(lang)
        data["errors"] = errors.as_json(lang)["errors"]
        data["applied"] = applied
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return
    c = result.counts
    print(
        t("cli.import.applied" if applied else "cli.import.dry_run", lang)
        + ", ".join(
            f"{number(getattr(c, k), lang)} {t(f'import.count.{k}', lang)}"
            for k in ("created", "updated", "unchanged", "activated", "deactivated", "rejected")
        )
    )
    if c.opted_out:
        print(t("import.preview.opted_out", lang, count=c.opted_out).replace("*", "").removeprefix(":warning: "))
    for err in errors.errors:
        print(
            t(
                "import.preview.error_line",
                lang,
                row=err["row"],
                column=err.get("column") or "-",
                reason=reason(err, lang),
            )
        )


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    sort, desc = parse_sort(args.sort)
    lang = args.header_lang or args.lang  # header names and delimiter follow the CLI's language unless given
    delimiter = exports.delimiter_for(lang, settings.csv_delimiter)
    engine = open_engine(settings)
    to_stdout = args.output in (None, "-")
    result = exports.export(
        engine,
        parse_filter(args),
        sort=sort,
        desc=desc,
        lang=lang,
        delimiter=delimiter,
        region=settings.default_region,
        path=None if to_stdout else args.output,
        actor=f"cli:{getpass.getuser()}",
    )
    if to_stdout:
        with open(result.path, "rb") as handle:
            shutil.copyfileobj(handle, sys.stdout.buffer)
        os.unlink(result.path)
        sys.stdout.flush()
    else:
        print(t("cli.export.done", args.lang, n=number(result.count, args.lang), path=args.output), file=sys.stderr)
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("import", help="import contacts from a CSV file (preview with --dry-run)")
    p.add_argument("file")
    p.add_argument("--dry-run", action="store_true", help="show what would change; write nothing")
    p.add_argument("--json", action="store_true", help="print counts and rejected rows as JSON")
    p.add_argument(
        "--consent-confirmed",
        action="store_true",
        help="the new contacts in the file consented to be contacted (needed to create contacts)",
    )
    p.set_defaults(run=cmd_import)

    p = sub.add_parser("export", help="export contacts as CSV (the same filters as `contacts list`)")
    filter_args(p)
    p.add_argument("-o", "--output", help="file to write (default: standard output)")
    p.add_argument(
        "--header-lang",
        "--lang",
        dest="header_lang",
        choices=["de", "en"],
        help="header names and the delimiter (de: `;`, en: `,`); default: the CLI's language (CONTACTBOT_LANG)",
    )
    p.set_defaults(run=cmd_export)
