"""Block Kit for four-eyes approval of broadcasts (issue 18): the request, its decided form, the reason modal.

Pure functions. The buttons carry `<broadcast id>:<fingerprint prefix>` sealed for their action, so an
approval is for exactly the broadcast the approver was shown (a changed one is refused).
"""

from __future__ import annotations

from typing import Any

from bot.i18n import number, t
from bot.services.broadcasts.approval import Request
from handlers.blocks.people import who
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, plain
from handlers.integrity import Seal
from storage.broadcasts import EXCLUSIONS
from storage.models import Broadcast

APPROVE = "bc_approve"
REJECT = "bc_reject"
REASON_CALLBACK = "bc_reject_reason"
FINGERPRINT_CHARS = 16


def window_text(local_time: str | None, quiet_hours: str | None, lang: str) -> str:
    parts = []
    if local_time:
        parts.append(t("broadcast.window.local", lang, time=local_time))
    if quiet_hours:
        start, _, end = quiet_hours.partition("-")
        parts.append(t("broadcast.window.quiet", lang, start=start, end=end))
    return ", ".join(parts)


def decision_value(broadcast_id: int, fingerprint: str) -> str:
    return f"{broadcast_id}:{fingerprint[:FINGERPRINT_CHARS]}"


def request_message(req: Request, lang: str, hours: float, *, seal: Seal) -> dict[str, Any]:
    """The approval request: preview with a real recipient's values, audience, exclusions, schedule, requester."""
    b = req.broadcast
    excluded = [
        f"{t(f'broadcast.excluded.{k}', lang)} {number(req.breakdown[k], lang)}"
        for k in (*EXCLUSIONS, "missing_param")
        if req.breakdown.get(k)
    ]
    lines = [
        "*" + t("broadcast.approval.title", lang, id=b.id, template=escape(b.template), lang=escape(b.language)) + "*",
        t("broadcast.approval.requester", lang, who=who(b.created_by)),
        t(
            "broadcast.approval.recipients",
            lang,
            n=number(req.breakdown["recipients"], lang),
            matched=number(req.breakdown["matched"], lang),
            excluded=t("broadcast.approval.excluded", lang, parts=", ".join(excluded)) if excluded else "",
        ),
        t("broadcast.approval.at", lang, when=date_token(b.scheduled_at))
        if b.scheduled_at
        else t("broadcast.approval.now", lang),
    ]
    if window := window_text(b.local_time, b.quiet_hours, lang):
        lines.append(t("broadcast.approval.window", lang, window=window))
    sample = t("broadcast.approval.no_sample", lang)
    if req.sample:
        sample = "> " + escape(cut(req.sample, 2000)).replace("\n", "\n> ")
    value = decision_value(b.id or 0, req.fingerprint)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "block_id": f"bap|{b.id}", "text": mrkdwn("\n".join(lines))},
        {"type": "section", "text": mrkdwn(t("broadcast.approval.preview", lang) + "\n" + sample)},
        {"type": "context", "elements": [mrkdwn(t("broadcast.approval.hint", lang, hours=f"{hours:g}"))]},
        {
            "type": "actions",
            "block_id": f"bapa|{b.id}",
            "elements": [
                button(t("broadcast.approval.approve", lang), APPROVE, seal(value, APPROVE), "primary"),
                button(t("broadcast.approval.reject", lang), REJECT, seal(value, REJECT), "danger"),
            ],
        },
    ]
    return {"text": t("broadcast.approval.fallback", lang, id=b.id), "blocks": blocks}


def decided_message(row: Broadcast, lang: str, decider: str | None, outdated: bool = False) -> dict[str, Any]:
    """The request once decided (or outdated by a change): the same title, the decision, no buttons."""
    title = t("broadcast.approval.title", lang, id=row.id, template=escape(row.template), lang=escape(row.language))
    if outdated:
        decision = t("broadcast.approval.outdated", lang)
    elif row.status == "rejected":
        decision = t(
            "broadcast.approval.rejected",
            lang,
            who=who(decider),
            reason=escape(cut(row.decision_reason or "", 300)),
        )
    else:
        decision = t("broadcast.approval.approved", lang, who=who(decider), until=date_token(row.approval_expires_at))
    return {
        "text": t("broadcast.approval.fallback", lang, id=row.id),
        "blocks": [{"type": "section", "block_id": f"bap|{row.id}", "text": mrkdwn(f"*{title}*\n{decision}")}],
    }


def reason_modal(value: str, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    """Reject asks for a reason; `meta` carries the sealed decision value and where the request lives."""
    return {
        "type": "modal",
        "callback_id": REASON_CALLBACK,
        "private_metadata": {**meta, "v": value},
        "title": plain(t("broadcast.approval.reason_title", lang), 24),
        "submit": plain(t("broadcast.approval.reason_submit", lang), 24),
        "close": plain(t("broadcast.composer.cancel", lang), 24),
        "blocks": [
            {
                "type": "input",
                "block_id": "reason",
                "label": plain(t("broadcast.approval.reason_label", lang), 2000),
                "element": {"type": "plain_text_input", "action_id": "v", "multiline": True, "max_length": 300},
            }
        ],
    }
