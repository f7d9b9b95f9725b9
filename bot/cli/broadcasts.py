"""`contactbot templates` and `contactbot broadcast ...`: the same services as Slack."""

from __future__ import annotations

import argparse
import getpass
import json
import mimetypes
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.cli.common import limit, open_engine
from bot.cli.errors import require_whatsapp
from bot.config.settings import Settings
from bot.domain.statuses import BroadcastStatus
from bot.i18n import number, t
from bot.services import audiences
from bot.services.broadcasts import ambiguity, approval, service
from bot.services.broadcasts.delivery_report import write_csv
from bot.services.broadcasts.sender import Runner
from handlers.blocks.approval import window_text
from handlers.clients.approval import cli_client, note, post_request, update_posts
from storage.broadcasts import EXCLUSIONS


def _actor() -> str:
    return f"cli:{getpass.getuser()}"[:50]


def cmd_templates(args: argparse.Namespace, settings: Settings) -> int:
    require_whatsapp(settings)
    found = service.templates(settings, refresh=True)
    if args.json:
        print(json.dumps([service.template_def(tpl) for tpl in found], ensure_ascii=False, indent=2))
        return 0
    for tpl in found:
        params = ", ".join(tpl.keys) or "-"
        line = f"{tpl.name:<32} {tpl.language:<6} {tpl.category:<14} {tpl.status:<9} {params}"
        if tpl.unsupported:  # shown, with why it is not offered for broadcasts
            line += "  " + t(f"broadcast.unsupported.{tpl.unsupported}", output_lang())
        print(line)
    return 0


def _audience(engine: Any, value: str) -> service.AudienceSpec:
    if value == "all":
        return service.AudienceSpec()
    found = audiences.find(engine, value)
    if found is None:
        raise service.BroadcastError("broadcast.error.no_audience", name=value)
    return service.AudienceSpec.saved(found.id, found.name)


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    when = datetime.fromisoformat(value)
    if when.tzinfo is None:
        raise service.BroadcastError("broadcast.error.naive_time", value=value)
    return when.astimezone(UTC)


def _print_preview(preview: service.Preview, lang: str) -> None:
    b = preview.breakdown
    print(t("broadcast.cli.recipients", lang, n=number(preview.recipients, lang), matched=number(b["matched"], lang)))
    for reason in (*EXCLUSIONS, "missing_param"):
        if b.get(reason):
            print(f"  - {t(f'broadcast.excluded.{reason}', lang)}: {number(b[reason], lang)}")
    if preview.over_limit:
        print(
            t(
                "broadcast.daily_limit_warning",
                lang,
                used=number(preview.daily_used, lang),
                limit=number(preview.daily_limit, lang),
            )
        )


def _upload(settings: Settings, path: str) -> str:
    try:
        content = Path(path).read_bytes()
    except OSError as exc:
        raise service.BroadcastError("broadcast.error.file", path=path, error=type(exc).__name__) from None
    mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return service.upload_header_file(settings, content, mime, Path(path).name)


def output_lang(environ: Mapping[str, str] | None = None) -> str:
    """The CLI's own language: CONTACTBOT_LANG, else the locale (LC_ALL, LANG): German for de*, else English."""
    env = os.environ if environ is None else environ
    for name in ("CONTACTBOT_LANG", "LC_ALL", "LANG"):
        value = (env.get(name) or "").strip().lower()
        if value and value not in ("c", "posix"):
            return "de" if value.startswith("de") else "en"
    return "en"


def cmd_send(args: argparse.Namespace, settings: Settings) -> int:
    lang = output_lang()
    require_whatsapp(settings, phone=True)
    engine = open_engine(settings)
    try:
        template = service.find_template(settings, args.template, args.lang_code)
        params = {}
        for raw in args.param or []:
            key, sep, value = raw.partition("=")
            if not sep:
                raise service.BroadcastError("broadcast.error.param_syntax", value=raw)
            if value.startswith("file:"):  # a header image/video/document: uploaded once, sent by its id
                value = _upload(settings, value.removeprefix("file:"))
            params[key.strip()] = service.ParamSource.parse(value)
        params = service.resolve_sources(engine, params)
        draft = service.Draft(
            template=template,
            params=params,
            audience=_audience(engine, args.audience),
            created_by=_actor(),
            scheduled_at=_when(args.at),
            report_lang=lang,
            request_key=args.key,
            local_time=args.local_time,
            quiet_hours=settings.quiet_hours if args.quiet_hours is None else args.quiet_hours,
        )
        preview = service.preview(engine, settings, draft)
        if preview.problems:
            raise service.BroadcastError("broadcast.error.params", problems=", ".join(preview.problems))
        _print_preview(preview, lang)
        if window := window_text(*service.window_values(draft.local_time, draft.quiet_hours), lang):
            print(t("broadcast.cli.window", lang, window=window))
        if not args.yes:
            answer = input(
                t("broadcast.cli.confirm", lang, template=template.name, n=number(preview.recipients, lang)) + " [y/N] "
            )
            if answer.strip().lower() not in ("y", "j", "yes", "ja"):
                print(t("broadcast.cli.aborted", lang))
                return 1
        row, created = service.create(engine, settings, draft)
    except service.BroadcastError as exc:
        print(t(exc.code, lang, **exc.values), file=sys.stderr)
        return 2
    print(
        t(
            "broadcast.cli.created" if created else "broadcast.cli.exists",
            lang,
            id=row.id,
            status=t(f"broadcast.status.{row.status}", lang),
        )
    )
    if row.status == BroadcastStatus.AWAITING_APPROVAL:
        if created:
            print(_post_request(settings, engine, row.id or 0, lang))
        print(t("broadcast.cli.awaiting", lang, id=row.id))
        return 0
    if row.status == BroadcastStatus.QUEUED and not args.queue:
        Runner(settings, engine).pump()
        return _print_status(engine, row.id or 0, lang, as_json=False)
    return 0


def _report_json(report: service.Report) -> dict[str, Any]:
    b = report.broadcast
    return {
        "id": b.id,
        "template": b.template,
        "language": b.language,
        "status": b.status,
        "pause_reason": b.pause_reason,
        "stop_code": b.stop_code,
        "stop_reason": b.stop_reason,
        "audience": b.audience.get("label") or b.audience.get("kind"),
        "total": b.total,
        "scheduled_at": b.scheduled_at.isoformat() if b.scheduled_at else None,
        "started_at": b.started_at.isoformat() if b.started_at else None,
        "finished_at": b.finished_at.isoformat() if b.finished_at else None,
        "counts": report.counts,
        "reasons": [{"status": r.status, "code": r.code, "title": r.title, "count": r.count} for r in report.reasons],
        "ambiguous": asdict(report.ambiguity),
        "waiting_for_window": report.waiting,
        "next_window_at": b.next_window_at.isoformat() if b.next_window_at else None,
        "local_time": b.local_time,
        "quiet_hours": b.quiet_hours,
        "approved_by": b.approved_by,
        "approval_expires_at": b.approval_expires_at.isoformat() if b.approval_expires_at else None,
    }


def _print_status(engine: Any, broadcast_id: int, lang: str, as_json: bool) -> int:
    try:
        report = service.report(engine, broadcast_id)
    except service.BroadcastError as exc:
        print(t(exc.code, lang, **exc.values), file=sys.stderr)
        return 1
    data = _report_json(report)
    if as_json:
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return 0
    counts = ", ".join(f"{t(f'broadcast.state.{k}', lang)} {number(v, lang)}" for k, v in sorted(report.counts.items()))
    status = t(f"broadcast.status.{data['status']}", lang)
    print(f"#{data['id']} {data['template']} ({data['language']}): {status} - {counts or '-'}")
    if data["stop_code"]:
        key = "broadcast.paused_by" if data["status"] == "paused" else "broadcast.stopped_by"
        print("  " + t(key, lang, code=data["stop_code"], reason=data["stop_reason"] or ""))
    for r in report.reasons:
        print(f"  {t(f'broadcast.state.{r.status}', lang)} {r.code or '-'}: {r.title} ({number(r.count, lang)})")
    for line in ambiguity.lines(report, lang):
        print(f"  {line}")
    if report.waiting:
        print("  " + t("broadcast.cli.waiting", lang, n=number(report.waiting, lang)))
    return 0


def cmd_status(args: argparse.Namespace, settings: Settings) -> int:
    return _print_status(open_engine(settings), args.id, args.lang, args.json)


def cmd_list(args: argparse.Namespace, settings: Settings) -> int:
    reports = service.recent(open_engine(settings), args.limit)
    if args.json:
        print(json.dumps([_report_json(r) for r in reports], ensure_ascii=False, indent=2))
        return 0
    if not reports:
        print(t("cli.broadcast.none", args.lang))
    for r in reports:
        b = r.broadcast
        when = (b.scheduled_at or b.created_at).strftime("%Y-%m-%d %H:%M")
        print(
            f"#{b.id:<5} {when}Z {b.template:<28} {t(f'broadcast.status.{b.status}', args.lang):<14} "
            f"{number(r.n('sent', 'delivered', 'read'), args.lang)}/{number(b.total, args.lang)}"
        )
    return 0


def cmd_change(args: argparse.Namespace, settings: Settings) -> int:
    try:
        row = service.change(open_engine(settings), args.id, args.action, _actor())
    except service.BroadcastError as exc:
        print(t(exc.code, args.lang, **exc.values), file=sys.stderr)
        return 1
    print(t("broadcast.cli.changed", args.lang, id=row.id, status=t(f"broadcast.status.{row.status}", args.lang)))
    return 0


def _post_request(settings: Settings, engine: Any, broadcast_id: int, lang: str) -> str:
    """Post the approval request to Slack (audit channel, else the other admins' DMs) when a token is set."""
    slack = cli_client(settings)
    if slack is None:
        return note("", broadcast_id, lang)
    client, sealer = slack
    return note(post_request(client, engine, settings, broadcast_id, sealer.seal), broadcast_id, lang)


def _identity(settings: Settings, as_user: str | None) -> str:
    """The CLI's own identity, or an admin it acts for (`--as`), who must be in CONTACTBOT_ADMINS."""
    if as_user is None:
        return _actor()
    if not settings.is_admin(as_user.strip()):
        raise service.BroadcastError("broadcast.error.not_admin_as", user=as_user)
    return f"slack:{as_user.strip()}"


def _update_posts(settings: Settings, row: Any, decider: str) -> None:
    if row.approval_posts and (slack := cli_client(settings)) is not None:
        update_posts(slack[0], row, decider)


def cmd_decide(args: argparse.Namespace, settings: Settings) -> int:
    """`broadcast approve|reject ID [--as USER_ID] [--reason TEXT]`."""
    lang = output_lang()
    engine = open_engine(settings)
    try:
        who = _identity(settings, args.as_user)
        if args.decision == "approve":
            row = approval.approve(engine, settings, args.id, who)
        else:
            row = approval.reject(engine, args.id, who, args.reason or "")
    except service.BroadcastError as exc:
        print(t(exc.code, lang, **exc.values), file=sys.stderr)
        return 2
    _update_posts(settings, row, who)
    if args.decision == "approve":
        until = row.approval_expires_at.strftime("%Y-%m-%d %H:%M") if row.approval_expires_at else "-"
        print(
            t("broadcast.cli.approved", lang, id=row.id, status=t(f"broadcast.status.{row.status}", lang), until=until)
        )
    else:
        print(t("broadcast.cli.rejected", lang, id=row.id, reason=row.decision_reason or ""))
    return 0


def cmd_edit(args: argparse.Namespace, settings: Settings) -> int:
    """`broadcast edit ID [--at] [--param ...] [--local-time] [--quiet-hours]`: before it starts; a broadcast
    that needs approval needs a new one afterwards (the request is posted again)."""
    lang = output_lang()
    engine = open_engine(settings)
    try:
        params = None
        if args.param:
            params = {}
            for raw in args.param:
                key, sep, value = raw.partition("=")
                if not sep:
                    raise service.BroadcastError("broadcast.error.param_syntax", value=raw)
                params[key.strip()] = service.ParamSource.parse(value)
        before = service.report(engine, args.id).broadcast
        row = approval.edit(
            engine,
            settings,
            args.id,
            _actor(),
            scheduled_at=_when(args.at),
            params=params,
            local_time=args.local_time,
            quiet_hours=args.quiet_hours,
        )
    except service.BroadcastError as exc:
        print(t(exc.code, lang, **exc.values), file=sys.stderr)
        return 2
    print(t("broadcast.cli.edited", lang, id=row.id, status=t(f"broadcast.status.{row.status}", lang)))
    if row.status == BroadcastStatus.AWAITING_APPROVAL:
        if before.approval_posts and (slack := cli_client(settings)) is not None:
            update_posts(slack[0], before, None, outdated=True)
        print(_post_request(settings, engine, row.id or 0, lang))
    return 0


def cmd_retry(args: argparse.Namespace, settings: Settings) -> int:
    n = service.retry_failed(open_engine(settings), args.id, _actor(), include_unknown=args.unknown)
    print(t("broadcast.cli.requeued", args.lang, n=number(n, args.lang), id=args.id))
    return 0


def cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    write_csv(open_engine(settings), args.id, sys.stdout, args.lang)
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("templates", help="list the WhatsApp Business Account's message templates")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_templates)

    bc = sub.add_parser("broadcast", help="send a WhatsApp template to an audience, now or later")
    bsub = bc.add_subparsers(dest="broadcast_command", required=True)

    def sp(name: str, help_: str) -> argparse.ArgumentParser:
        # The output's language is the CLI's one (CONTACTBOT_LANG, else the locale): see bot/cli/__init__.py.
        return bsub.add_parser(name, help=help_)

    # `send` keeps the README's contract: --lang is the template's language code; the output
    # language comes from CONTACTBOT_LANG or the locale (see output_lang).
    p = bsub.add_parser("send", help="create a broadcast (asks before sending unless --yes)")
    p.add_argument("--template", required=True)
    p.add_argument(
        "--lang",
        "--lang-code",
        "--template-lang",
        dest="lang_code",
        required=True,
        help="the template's language code, e.g. de or en_US",
    )
    p.add_argument(
        "--param",
        action="append",
        metavar="KEY=VALUE",
        help="KEY=fixed text, KEY=attr:ATTRIBUTE or KEY=contact:name, each optionally |FALLBACK; "
        "a header file as header.image=file:PATH (uploaded once)",
    )
    p.add_argument("--audience", default="all", help="all, or a saved audience's id or name")
    p.add_argument("--at", help="ISO 8601 time with offset, e.g. 2026-12-01T09:00+01:00")
    p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
    p.add_argument("--queue", action="store_true", help="leave sending to `contactbot worker`/`serve`")
    p.add_argument("--key", help="idempotency key: the same key never creates a second broadcast")
    p.add_argument("--local-time", help="HH:MM: each recipient gets it at this time in their own time zone")
    p.add_argument(
        "--quiet-hours",
        help="HH:MM-HH:MM in each recipient's time when nothing is sent (default CONTACTBOT_QUIET_HOURS; off: none)",
    )
    p.set_defaults(run=cmd_send)
    for decision, help_ in (
        ("approve", "approve a broadcast another admin requested (four-eyes)"),
        ("reject", "reject a broadcast awaiting approval, or revoke an approval"),
    ):
        p = sp(decision, help_)
        p.add_argument("id", type=int)
        p.add_argument("--as", dest="as_user", metavar="USER_ID", help="act as this admin (from CONTACTBOT_ADMINS)")
        p.add_argument("--reason", help="why (required to reject)")
        p.set_defaults(run=cmd_decide, decision=decision)
    p = sp("edit", "change a broadcast that has not started (needs a new approval when approval is on)")
    p.add_argument("id", type=int)
    p.add_argument("--at", help="ISO 8601 time with offset")
    p.add_argument("--param", action="append", metavar="KEY=VALUE")
    p.add_argument("--local-time")
    p.add_argument("--quiet-hours")
    p.set_defaults(run=cmd_edit)
    p = sp("list", "recent broadcasts")
    p.add_argument("--limit", type=limit(1000), default=20, help="1 to 1,000")
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_list)
    p = sp("status", "counts and failure reasons of one broadcast")
    p.add_argument("id", type=int)
    p.add_argument("--json", action="store_true")
    p.set_defaults(run=cmd_status)
    for action, help_ in (
        ("cancel", "cancel a scheduled or running broadcast"),
        ("pause", "pause sending"),
        ("resume", "resume a paused broadcast"),
    ):
        p = sp(action, help_)
        p.add_argument("id", type=int)
        p.set_defaults(run=cmd_change, action=action)
    p = sp("retry", "send again to recipients that failed for a passing reason")
    p.add_argument("id", type=int)
    p.add_argument("--unknown", action="store_true", help="also those whose send may have arrived (risk: twice)")
    p.set_defaults(run=cmd_retry)
    p = sp("report", "delivery report as CSV on stdout")
    p.add_argument("id", type=int)
    p.set_defaults(run=cmd_export)
