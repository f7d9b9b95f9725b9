"""The App Home tab: counts, main actions, recent imports/exports, open broadcasts (max 100 blocks)."""

from __future__ import annotations

from typing import Any

from bot.i18n import catalog, number, t
from bot.services.dashboard import Dashboard
from handlers.blocks.contact_list import MESSENGER_NAMES
from handlers.blocks.people import who
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, plain
from storage.stats import BroadcastInfo, RunInfo

HOME_ACTIONS = ("open_list", "notify", "import_help", "table_settings", "groups", "refresh")
# Buttons whose feature's own listener works without a response_url (it opens a modal from the
# trigger_id) reuse that action_id; the others are `home_<name>` (handlers/actions/app_home.py).
REUSED_ACTION_IDS = {"table_settings": "list_table_settings"}
COUNT_WORDS = (
    "rows",
    "contacts",
    "created",
    "updated",
    "unchanged",
    "activated",
    "deactivated",
    "opted_out",
    "rejected",
    "errors",
)


def _counts_text(counts: dict[str, int], lang: str) -> str:
    parts = [f"{number(counts[k], lang)} {t(f'home.count_word.{k}', lang)}" for k in COUNT_WORDS if counts.get(k)]
    return " · ".join(parts)


def _status(prefix: str, status: str, lang: str) -> str:
    """A status word from the catalog, or the raw (escaped) value another feature wrote."""
    key = f"{prefix}.{status}"
    return t(key, lang) if key in catalog()["de"] else escape(cut(status, 30))


def _run_line(run: RunInfo, lang: str) -> str:
    when = date_token(run.at)
    if run.kind == "import":
        status = _status("home.import_status", run.status, lang)
        line = t(
            "home.run.import", lang, name=escape(cut(run.name or "?", 80)), status=status, when=when, who=who(run.by)
        )
    else:
        line = t("home.run.export", lang, when=when, who=who(run.by))
    counts = _counts_text(run.counts, lang)
    return f"{line}\n{counts}" if counts else line


def _broadcast_line(b: BroadcastInfo, lang: str) -> str:
    template = escape(cut(b.template, 80)) if b.template else t("home.broadcast.no_template", lang)
    when = t("home.broadcast.scheduled_for", lang, when=date_token(b.scheduled_at)) if b.scheduled_at else ""
    status = _status("home.broadcast.status", b.status, lang)
    line = t("home.broadcast.line", lang, template=template, status=status, when=when).rstrip(" ·")
    p = b.progress
    total = p.get("total", 0)
    if total:
        done = min(p.get("sent", 0) + p.get("failed", 0) + p.get("skipped", 0), total)  # sent includes read
        line += "\n" + t(
            "home.broadcast.progress",
            lang,
            done=number(done, lang),
            total=number(total, lang),
            percent=round(100 * done / total),
        )
        details = [
            f"{t(f'home.broadcast.detail.{k}', lang)} {number(p[k], lang)}"
            for k in ("delivered", "read", "failed")
            if p.get(k)
        ]
        if details:
            line += " · " + " · ".join(details)
    return line


def home_view(board: Dashboard, lang: str, is_admin: bool) -> dict[str, Any]:
    c = board.counts
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": plain(t("home.title", lang), 150)},
        {
            "type": "section",
            "block_id": "home_counts",
            "fields": [
                mrkdwn(f"*{t('home.count.total', lang)}*\n{number(c.total, lang)}"),
                mrkdwn(f"*{t('home.count.active', lang)}*\n{number(c.active, lang)}"),
                mrkdwn(f"*{t('home.count.inactive', lang)}*\n{number(c.inactive, lang)}"),
                mrkdwn(f"*{t('home.count.blocked', lang)}*\n{number(c.blocked, lang)}"),
            ],
        },
    ]
    if c.total:
        blocks.append(
            {
                "type": "section",
                "block_id": "home_new",
                "text": mrkdwn(t("home.new", lang, week=number(c.new_7d, lang), month=number(c.new_30d, lang))),
            }
        )
        messengers = [f"{MESSENGER_NAMES.get(m, escape(m))}: {number(n, lang)}" for m, n in c.by_messenger.items()]
        blocks.append(
            {
                "type": "section",
                "block_id": "home_messengers",
                "text": mrkdwn(t("home.by_messenger", lang) + "\n" + " · ".join(messengers)),
            }
        )
    else:
        blocks.append({"type": "section", "block_id": "home_empty", "text": mrkdwn(t("home.empty", lang))})
    blocks.append(
        {
            "type": "actions",
            "block_id": "home_actions",
            "elements": [
                button(
                    t(f"home.button.{name}", lang),
                    REUSED_ACTION_IDS.get(name, f"home_{name}"),
                    name,
                    "primary" if name == "open_list" else None,
                )
                for name in HOME_ACTIONS
            ],
        }
    )
    blocks.append(
        {"type": "context", "elements": [mrkdwn(t("home.role.admin" if is_admin else "home.role.viewer", lang))]}
    )

    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain(t("home.runs.title", lang), 150)})
    runs = sorted([*board.imports, *board.exports], key=lambda r: r.at, reverse=True)[:6]
    if runs:
        blocks.extend(
            {"type": "section", "block_id": f"home_run_{r.kind}_{i}", "text": mrkdwn(_run_line(r, lang))}
            for i, r in enumerate(runs)
        )
    else:
        blocks.append({"type": "context", "elements": [mrkdwn(t("home.runs.none", lang))]})

    blocks.append({"type": "divider"})
    blocks.append({"type": "header", "text": plain(t("home.broadcasts.title", lang), 150)})
    if board.broadcasts:
        blocks.extend(
            {"type": "section", "block_id": f"home_broadcast_{b.id}", "text": mrkdwn(_broadcast_line(b, lang))}
            for b in board.broadcasts
        )
    else:
        blocks.append({"type": "context", "elements": [mrkdwn(t("home.broadcasts.none", lang))]})
    blocks.append(
        {
            "type": "actions",
            "block_id": "home_broadcast_actions",
            "elements": [button(t("home.button.broadcasts", lang), "home_broadcasts", "broadcasts")],
        }
    )

    blocks.append({"type": "divider"})
    blocks.append({"type": "context", "elements": [mrkdwn(t("home.tip", lang))]})
    blocks.append({"type": "context", "elements": [mrkdwn(t("home.updated", lang, when=date_token(board.at)))]})
    return {"type": "home", "callback_id": "contactbot_home", "blocks": blocks[:100]}


def info_modal(title: str, body: str, lang: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "callback_id": "contactbot_info",
        "title": plain(title, 24),
        "close": plain(t("home.coming.close", lang), 24),
        "blocks": [{"type": "section", "text": mrkdwn(body)}],
    }
