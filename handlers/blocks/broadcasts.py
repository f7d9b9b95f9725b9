"""Block Kit for broadcasts: the composer modal (three steps), the live report, the list. Pure functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from bot.domain.statuses import BroadcastStatus, DeliveryStatus
from bot.i18n import number, t
from bot.services.broadcasts import ambiguity
from bot.services.broadcasts.service import Preview, Report
from bot.whatsapp.media import SLACK_FILETYPES
from bot.whatsapp.templates import Template
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, option, plain
from handlers.integrity import Seal
from storage.broadcasts import EXCLUSIONS
from storage.models import utcnow

PICK_CALLBACK = "bc_pick"
PARAMS_CALLBACK = "bc_params"
CONFIRM_CALLBACK = "bc_confirm"
ACTIONS = ("bc_pause", "bc_resume", "bc_cancel", "bc_retry", "bc_csv")
AUDIENCE_PURPOSE = "bc_audience"  # a saved group's option in the composer (its select's action_id is "v")
MAX_TEMPLATES = 100  # a static_select holds at most 100 options
MAX_LISTED = 10


def _meta(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)[:3000]


def _modal(
    callback: str, lang: str, meta: dict[str, Any], blocks: list[dict[str, Any]], submit: str | None
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback,
        "private_metadata": _meta(meta),
        "title": plain(t("broadcast.composer.title", lang), 24),
        "close": plain(t("broadcast.composer.cancel", lang), 24),
        "blocks": blocks,
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def loading_view(lang: str, meta: dict[str, Any], callback: str = PICK_CALLBACK) -> dict[str, Any]:
    return _modal(callback, lang, meta, [{"type": "section", "text": mrkdwn(":hourglass_flowing_sand: …")}], None)


def message_view(lang: str, text: str) -> dict[str, Any]:
    return _modal(PICK_CALLBACK, lang, {}, [{"type": "section", "text": mrkdwn(text)}], None)


MAX_OPTION_VALUE = (
    150  # an option's value: https://docs.slack.dev/reference/block-kit/composition-objects/option-object
)
DIGEST = "#"  # marks a value that names its template by a digest


def template_value(tpl: Template) -> str:
    """The select option's value for a template: `name|language`, or a digest of it when that does not fit.

    A template name may have up to 512 characters (Meta's message template reference:
    https://developers.facebook.com/docs/graph-api/reference/whats-app-business-account/message_templates/,
    `name`: "Maximum 512 characters"), an option value only 150: a cut value named no template at all."""
    plain_value = f"{tpl.name}|{tpl.language}"
    if len(plain_value) <= MAX_OPTION_VALUE:
        return plain_value
    return DIGEST + hashlib.sha256(plain_value.encode()).hexdigest()


def template_named(templates: Sequence[Template], value: str) -> tuple[str, str]:
    """(name, language) that a select value stands for (see `template_value`); ("", "") when none does."""
    if not value.startswith(DIGEST):
        name, _, code = value.partition("|")
        return name, code
    found = next((tpl for tpl in templates if template_value(tpl) == value), None)
    return (found.name, found.language) if found is not None else ("", "")


def _audience_options(
    lang: str, audiences: Sequence[tuple[int, str]], has_filter: bool, seal: Seal
) -> list[dict[str, Any]]:
    options = [option(t("broadcast.composer.audience.all", lang), "all")]
    if has_filter:
        options.append(option(t("broadcast.composer.audience.filter", lang), "filter"))
    options += [
        option(t("broadcast.composer.audience.saved", lang, name=name), seal(f"aud:{aid}", AUDIENCE_PURPOSE))
        for aid, name in audiences[:98]
    ]
    return options


TEMPLATE_SEARCH = "tpl_search"  # the external select used when a static one cannot hold every template


def sendable(templates: Sequence[Template]) -> list[Template]:
    """Approved templates of a kind we can fill (carousel, limited-time offer, catalog, authentication: not)."""
    return [tpl for tpl in templates if tpl.status == "APPROVED" and not tpl.unsupported]


def _template_option(tpl: Template) -> dict[str, Any]:
    return option(cut(f"{tpl.name} · {tpl.language} · {tpl.category.lower()}", 75), template_value(tpl))


def template_options(templates: Sequence[Template], query: str) -> list[dict[str, Any]]:
    """Options for the template search: names containing what was typed, at most Slack's 100."""
    needle = query.strip().lower()
    found = [tpl for tpl in sendable(templates) if needle in tpl.name.lower() or needle in tpl.language.lower()]
    return [_template_option(tpl) for tpl in found[:MAX_TEMPLATES]]


def _template_element(approved: Sequence[Template], lang: str) -> dict[str, Any]:
    if len(approved) <= MAX_TEMPLATES:
        return {"type": "static_select", "action_id": "v", "options": [_template_option(t_) for t_ in approved]}
    return {  # a WABA with hundreds of templates: the user types, the app answers with the matches
        "type": "external_select",
        "action_id": TEMPLATE_SEARCH,
        "min_query_length": 0,
        "placeholder": plain(t("broadcast.composer.template_search", lang)),
    }


def pick_view(
    templates: Sequence[Template],
    audiences: Sequence[tuple[int, str]],
    lang: str,
    meta: dict[str, Any],
    *,
    seal: Seal,
    quiet_default: str = "",
) -> dict[str, Any]:
    """Step 1: template, recipients (a saved group's value is sealed), when, optional test number."""
    approved = sendable(templates)
    if not approved:
        return message_view(lang, t("broadcast.composer.no_templates", lang))
    audience_options = _audience_options(lang, audiences, bool(meta.get("blk")), seal)
    initial = audience_options[1] if meta.get("blk") and len(audience_options) > 1 else audience_options[0]
    when_options = [
        option(t("broadcast.composer.now", lang), "now"),
        option(t("broadcast.composer.later", lang), "later"),
    ]
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": "tpl",
            "label": plain(t("broadcast.composer.template", lang), 2000),
            "hint": plain(t("broadcast.composer.template_hint", lang), 2000),
            "element": _template_element(approved, lang),
        },
        {
            "type": "input",
            "block_id": "aud",
            "label": plain(t("broadcast.composer.audience", lang), 2000),
            "element": {
                "type": "static_select",
                "action_id": "v",
                "options": audience_options,
                "initial_option": initial,
            },
        },
        {
            "type": "input",
            "block_id": "when",
            "label": plain(t("broadcast.composer.when", lang), 2000),
            "element": {
                "type": "radio_buttons",
                "action_id": "v",
                "options": when_options,
                "initial_option": when_options[0],
            },
        },
        {
            "type": "input",
            "block_id": "at",
            "optional": True,
            "label": plain(t("broadcast.composer.at", lang), 2000),
            "element": {"type": "datetimepicker", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "lt",
            "optional": True,
            "label": plain(t("broadcast.composer.local_time", lang), 2000),
            "hint": plain(t("broadcast.composer.local_time_hint", lang), 2000),
            "element": {"type": "timepicker", "action_id": "v"},
        },
        {
            "type": "input",
            "block_id": "qh",
            "optional": True,
            "label": plain(t("broadcast.composer.quiet_hours", lang), 2000),
            "hint": plain(t("broadcast.composer.quiet_hours_hint", lang), 2000),
            "element": {
                "type": "plain_text_input",
                "action_id": "v",
                "max_length": 11,
                **({"initial_value": quiet_default} if quiet_default else {}),
            },
        },
        {
            "type": "input",
            "block_id": "test",
            "optional": True,
            "label": plain(t("broadcast.composer.test", lang), 2000),
            "hint": plain(t("broadcast.composer.test_hint", lang), 2000),
            "element": {"type": "plain_text_input", "action_id": "v", "max_length": 30},
        },
    ]
    return _modal(PICK_CALLBACK, lang, meta, blocks, t("broadcast.composer.next", lang))


def _source_options(lang: str, attributes: Sequence[tuple[str, str]]) -> list[dict[str, Any]]:
    options = [
        option(t("broadcast.composer.field.text", lang), "text"),
        option(t("broadcast.composer.field.name", lang), "name"),
        option(t("broadcast.composer.field.phone", lang), "phone"),
    ]
    return options + [option(cut(label, 75), f"attr:{key}"[:150]) for key, label in attributes[:97]]


def params_view(
    template: Template, attributes: Sequence[tuple[str, str]], lang: str, meta: dict[str, Any]
) -> dict[str, Any]:
    """Step 2: per parameter its source (fixed text, or a contact field) and the text or fallback."""
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(t("broadcast.composer.body", lang, body=escape(cut(template.body, 2800))))},
    ]
    params = template.params[:45]
    # One select of sources per parameter: 10 parameters x 100 attributes passed the 250 kB a view may have
    # (view_too_large); keep about 1,000 options in the whole view.
    sources = _source_options(lang, attributes)[: max(10, min(100, 1000 // max(1, len(params))))]
    for p in params:
        blocks.append(
            {
                "type": "input",
                "block_id": f"src:{p.key}",
                "optional": True,
                "label": plain(t("broadcast.composer.param", lang, name=f"{{{{{p.key}}}}}"), 2000),
                "hint": plain(t("broadcast.composer.param_field", lang), 2000),
                "element": {
                    "type": "static_select",
                    "action_id": "v",
                    "options": sources,
                    "initial_option": sources[0],
                },
            }
        )
        value_block: dict[str, Any] = {
            "type": "input",
            "block_id": f"val:{p.key}",
            "optional": True,
            "label": plain(
                t("broadcast.composer.param_text", lang) + " / " + t("broadcast.composer.param_fallback", lang),
                2000,
            ),
            "element": {"type": "plain_text_input", "action_id": "v", "max_length": 500},
        }
        if p.kind != "text":  # what a media, location, coupon or URL-suffix value looks like
            value_block["hint"] = plain(t(f"broadcast.composer.kind.{p.kind}", lang), 2000)
        blocks.append(value_block)
        if p.kind in SLACK_FILETYPES:  # a media header: or a file from this computer, uploaded to WhatsApp once
            blocks.append(
                {
                    "type": "input",
                    "block_id": f"file:{p.key}",
                    "optional": True,
                    "label": plain(t("broadcast.composer.param_file", lang), 2000),
                    "element": {
                        "type": "file_input",
                        "action_id": "v",
                        "filetypes": SLACK_FILETYPES[p.kind],
                        "max_files": 1,
                    },
                }
            )
    return _modal(PARAMS_CALLBACK, lang, meta, blocks, t("broadcast.composer.next", lang))


def _excluded(preview: Preview, lang: str) -> str:
    parts = [
        f"{t(f'broadcast.excluded.{k}', lang)} {number(preview.breakdown[k], lang)}"
        for k in (*EXCLUSIONS, "missing_param")
        if preview.breakdown.get(k)
    ]
    return t("broadcast.confirm.excluded", lang, parts=", ".join(parts)) if parts else ""


def confirm_view(
    template: Template,
    preview: Preview,
    lang: str,
    meta: dict[str, Any],
    when: int | None,
    test_note: str | None,
    may_send: bool,
    window: str = "",
    approval: bool = False,
) -> dict[str, Any]:
    """Step 3: what will happen, in one sentence with the count; the button only for admins."""
    when_text = t("broadcast.confirm.when", lang, when=date_token(datetime.fromtimestamp(when, UTC))) if when else ""
    lines = [
        t(
            "broadcast.confirm.text",
            lang,
            template=escape(template.name),
            lang=escape(template.language),
            n=number(preview.recipients, lang),
            when=when_text,
        )
    ]
    if excluded := _excluded(preview, lang):
        lines.append(excluded)
    if window:
        lines.append(t("broadcast.approval.window", lang, window=window))
    if approval:
        lines.append(t("broadcast.confirm.approval", lang))
    if preview.over_limit:
        lines.append(
            t(
                "broadcast.daily_limit_warning",
                lang,
                used=number(preview.daily_used, lang),
                limit=number(preview.daily_limit, lang),
            )
        )
    if test_note:
        lines.append(test_note)
    if preview.recipients == 0:
        lines.append(t("broadcast.error.no_recipients", lang))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn("\n".join(lines))},
        {
            "type": "context",
            "elements": [mrkdwn(t("broadcast.composer.body", lang, body=escape(cut(template.body, 2800))))],
        },
    ]
    submit = None
    if may_send and preview.recipients > 0:
        submit = t("broadcast.composer.schedule" if when else "broadcast.composer.send", lang)
        if approval:
            submit = t("broadcast.composer.request", lang)
    return _modal(CONFIRM_CALLBACK, lang, meta, blocks, submit)


# --- report and list ---------------------------------------------------------------------------------


def _reason_text(code: int | None, title: str, lang: str) -> str:
    if code is None:
        key = f"broadcast.reason.{title}"
        try:
            return t(key, lang)
        except KeyError:
            return escape(title) or t("broadcast.reason.unknown_code", lang)
    try:
        return f"{t(f'broadcast.code.{code}', lang)} ({code})"
    except KeyError:
        return f"{escape(title)} ({code})"


def _status_text(report: Report, lang: str) -> str:
    b = report.broadcast
    status = t(f"broadcast.status.{b.status}", lang)
    if b.status == BroadcastStatus.PAUSED and b.pause_reason in ("daily_limit", "breaker", "template", "restricted"):
        status = t(f"broadcast.paused.{b.pause_reason}", lang)
    if b.status == BroadcastStatus.SCHEDULED:
        status += " · " + t("broadcast.report.scheduled", lang, when=date_token(b.scheduled_at))
    kind = b.audience.get("kind") if b.audience.get("kind") in ("all", "filter") else "all"
    audience = b.audience.get("label") or t(f"broadcast.audience.{kind}", lang)
    return t("broadcast.report.status", lang, status=status, audience=escape(audience), total=number(b.total, lang))


def _counts_text(report: Report, lang: str) -> str:
    return t(
        "broadcast.report.counts",
        lang,
        sent=number(report.n(DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ), lang),
        delivered=number(report.n(DeliveryStatus.DELIVERED, DeliveryStatus.READ), lang),
        read=number(report.n(DeliveryStatus.READ), lang),
        failed=number(report.n(DeliveryStatus.FAILED), lang),
        unknown=number(report.n(DeliveryStatus.UNKNOWN), lang),
        remaining=number(report.n(DeliveryStatus.PENDING, DeliveryStatus.SENDING), lang),
    )


def _buttons(report: Report, lang: str, seal: Seal) -> list[dict[str, Any]]:
    b = report.broadcast

    def value(action_id: str) -> str:
        return seal(str(b.id), action_id)

    out = []
    if b.status == BroadcastStatus.RUNNING:
        out.append(button(t("broadcast.report.pause", lang), "bc_pause", value("bc_pause")))
    if b.status in (BroadcastStatus.PAUSED, BroadcastStatus.STOPPED):
        out.append(button(t("broadcast.report.resume", lang), "bc_resume", value("bc_resume"), "primary"))
    if b.status in (
        BroadcastStatus.AWAITING_APPROVAL,
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.QUEUED,
        BroadcastStatus.RUNNING,
        BroadcastStatus.PAUSED,
    ):
        out.append(button(t("broadcast.report.cancel", lang), "bc_cancel", value("bc_cancel"), "danger"))
    if b.status in (BroadcastStatus.DONE, BroadcastStatus.STOPPED) and report.retryable:
        out.append(button(t("broadcast.report.retry", lang), "bc_retry", value("bc_retry")))
    if b.status not in (
        BroadcastStatus.SCHEDULED,
        BroadcastStatus.QUEUED,
        BroadcastStatus.AWAITING_APPROVAL,
        BroadcastStatus.REJECTED,
    ):
        out.append(button(t("broadcast.report.csv", lang), "bc_csv", value("bc_csv")))
    return out


def _funnel(report: Report, lang: str, width: int = 20) -> str | None:
    """Sent -> delivered -> read as bars: where a broadcast loses people shows at a glance."""
    sent = report.n(DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ)
    if not sent:
        return None
    lines = []
    for state, n in (
        (DeliveryStatus.SENT, sent),
        (DeliveryStatus.DELIVERED, report.n(DeliveryStatus.DELIVERED, DeliveryStatus.READ)),
        (DeliveryStatus.READ, report.n(DeliveryStatus.READ)),
    ):
        filled = round(width * n / sent)
        bar = "█" * filled + "░" * (width - filled)
        lines.append(f"`{bar}` {100 * n // sent} % {t(f'broadcast.state.{state}', lang)}")
    return "\n".join(lines)


def report_message(report: Report, lang: str, *, seal: Seal) -> dict[str, Any]:
    """The broadcast's own message, updated while it sends: counts, reasons, and what one can do
    (the buttons' value, the broadcast id, is sealed: handlers/integrity.py)."""
    b = report.broadcast
    title = t("broadcast.report.title", lang, id=b.id, template=escape(b.template))
    text = f"*{title}*\n{_status_text(report, lang)}\n{_counts_text(report, lang)}"
    if extra := ambiguity.lines(report, lang):
        text += "\n" + "\n".join(extra)
    if report.waiting:
        upcoming = b.next_window_at if b.next_window_at and b.next_window_at > utcnow() else None
        after = t("broadcast.report.next_window", lang, when=date_token(upcoming)) if upcoming else ""
        text += "\n" + t("broadcast.report.waiting", lang, n=number(report.waiting, lang), next=after)
    if b.status == BroadcastStatus.REJECTED and b.decision_reason:
        text += "\n:no_entry: " + escape(cut(b.decision_reason, 300))
    if b.stop_code:
        text += "\n:octagonal_sign: " + t(
            "broadcast.paused_by" if b.status == "paused" else "broadcast.stopped_by",
            lang,
            code=b.stop_code,
            reason=_reason_text(b.stop_code, b.stop_reason or "", lang),
        )
    blocks: list[dict[str, Any]] = [{"type": "section", "block_id": f"bcr|{b.id}", "text": mrkdwn(text)}]
    if report.reasons:
        lines = [t("broadcast.report.reasons", lang)] + [
            f"• {_reason_text(r.code, r.title, lang)}: {number(r.count, lang)}" for r in report.reasons
        ]
        blocks.append({"type": "section", "text": mrkdwn("\n".join(lines))})
    if funnel := _funnel(report, lang):
        blocks.append({"type": "context", "elements": [mrkdwn(funnel)]})
    if buttons := _buttons(report, lang, seal):
        blocks.append({"type": "actions", "block_id": f"bca|{b.id}", "elements": buttons})
    fallback = t("broadcast.report.fallback", lang, id=b.id, status=t(f"broadcast.status.{b.status}", lang))
    return {"text": fallback, "blocks": blocks}


def broadcast_list(reports: Sequence[Report], lang: str, *, seal: Seal) -> dict[str, Any]:
    """`/contacts broadcasts`: the latest ones, each with its counts and buttons."""
    blocks: list[dict[str, Any]] = [{"type": "header", "text": plain(t("broadcast.list.title", lang), 150)}]
    if not reports:
        blocks.append({"type": "section", "text": mrkdwn(t("broadcast.list.empty", lang))})
    for report in reports[:MAX_LISTED]:
        b = report.broadcast
        title = t("broadcast.report.title", lang, id=b.id, template=escape(b.template))
        text = (
            f"*{title}* · {date_token(b.scheduled_at or b.created_at)}\n{_status_text(report, lang)}\n"
            f"{_counts_text(report, lang)}"
        )
        blocks.append({"type": "section", "block_id": f"bcl|{b.id}", "text": mrkdwn(text)})
        if buttons := _buttons(report, lang, seal):
            blocks.append({"type": "actions", "block_id": f"bcla|{b.id}", "elements": buttons})
    if len(reports) > MAX_LISTED:
        blocks.append({"type": "context", "elements": [mrkdwn(t("broadcast.list.more", lang, n=MAX_LISTED))]})
    return {"text": t("broadcast.list.title", lang), "blocks": blocks}
