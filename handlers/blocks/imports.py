"""Import messages in the file's thread: reading, progress, preview with Confirm/Cancel, result, errors."""

from __future__ import annotations

from typing import Any

from bot.i18n import number, t
from bot.services.imports import Preview, reason
from handlers.blocks.text import button, cut, escape, mrkdwn, plain
from handlers.integrity import Seal

COUNT_KEYS = ("created", "updated", "unchanged", "activated", "deactivated", "rejected")


def _section(text_: str) -> dict[str, Any]:
    return {"type": "section", "text": mrkdwn(text_)}


def _message(text_: str) -> dict[str, Any]:
    return {"text": cut(text_.replace("*", ""), 3000), "blocks": [{"type": "section", "text": mrkdwn(text_)}]}


def reading(file_name: str, lang: str) -> dict[str, Any]:
    return _message(t("import.reading", lang, file=escape(cut(file_name, 100))))


def progress(file_name: str, stage: str, rows: int, lang: str) -> dict[str, Any]:
    return _message(t(f"import.progress.{stage}", lang, file=escape(cut(file_name, 100)), rows=number(rows, lang)))


def file_error(file_name: str, reason_text: str, lang: str) -> dict[str, Any]:
    """One line in the thread: which file, and why it cannot be imported."""
    return _message(t("import.error.prefix", lang, file=escape(cut(file_name, 100)), reason=escape(reason_text)))


def _counts(preview: Preview, lang: str) -> dict[str, Any]:
    c = preview.counts
    return {
        "type": "section",
        "fields": [mrkdwn(f"*{number(getattr(c, k), lang)}* {t(f'import.count.{k}', lang)}") for k in COUNT_KEYS],
    }


def preview_message(preview: Preview, lang: str, *, attached: bool = False, seal: Seal) -> dict[str, Any]:
    """The dry run's result; Confirm records consent for the new contacts (admins only, checked on click).

    The buttons' value is the import run id, sealed (handlers/integrity.py)."""
    c = preview.counts
    name = escape(cut(preview.file_name, 100))
    blocks: list[dict[str, Any]] = [
        _section(t("import.preview.title", lang, file=name, rows=number(preview.rows, lang))),
        _counts(preview, lang),
    ]
    if c.opted_out:
        blocks.append(_section(t("import.preview.opted_out", lang, count=number(c.opted_out, lang))))
    if preview.new_attributes:
        names = ", ".join(f"`{escape(cut(n, 40))}`" for n in preview.new_attributes[:20])
        blocks.append({"type": "context", "elements": [mrkdwn(t("import.preview.new_attributes", lang, names=names))]})
    if preview.errors:
        lines = [t("import.preview.errors", lang)]
        for err in preview.errors:
            value = err.get("value") or ""
            quoted = escape(cut(value, 40)).replace("`", "'")
            shown = f" `{quoted}`" if value and err.get("code") != "duplicate" else ""
            lines.append(
                "• "
                + t(
                    "import.preview.error_line",
                    lang,
                    row=err["row"],
                    column=escape(cut(err.get("column") or "-", 40)),
                    reason=reason(err, lang),
                )
                + shown
            )
        more = c.rejected - len(preview.errors)
        if more > 0 and attached:
            lines.append(t("import.preview.more_errors", lang, count=number(more, lang)))
        blocks.append({"type": "section", "text": mrkdwn("\n".join(lines))})
    buttons: list[dict[str, Any]] = []
    if c.created or c.updated:
        if c.created:
            blocks.append(_section(t("import.preview.consent", lang, count=number(c.created, lang))))
        confirm = button(
            t("import.confirm_consent" if c.created else "import.confirm", lang),
            "import_confirm",
            seal(str(preview.run_id), "import_confirm"),
            "primary",
        )
        if c.created:
            confirm["confirm"] = {
                "title": plain(t("import.confirm_dialog.title", lang), 100),
                "text": plain(t("import.confirm_dialog.text", lang), 300),
                "confirm": plain(t("import.confirm", lang), 30),
                "deny": plain(t("import.cancel", lang), 30),
            }
        buttons.append(confirm)
    else:
        blocks.append({"type": "section", "text": mrkdwn(t("import.preview.nothing", lang))})
    buttons.append(button(t("import.cancel", lang), "import_cancel", seal(str(preview.run_id), "import_cancel")))
    blocks.append({"type": "actions", "block_id": f"import|{preview.run_id}", "elements": buttons})
    blocks.append({"type": "context", "elements": [mrkdwn(t("import.preview.only_admins", lang))]})
    # The fallback text is mrkdwn in notifications too: `<!channel>` in a file name must not ping anyone.
    fallback = t("import.preview.fallback", lang, file=escape(cut(preview.file_name, 100)))
    return {"text": fallback, "blocks": blocks}


def done(preview: Preview, user: str, lang: str) -> dict[str, Any]:
    c = preview.counts
    values = {k: number(getattr(c, k), lang) for k in COUNT_KEYS}
    text_ = t("import.done", lang, file=escape(cut(preview.file_name, 100)), user=user, **values)
    message = _message(text_)
    message["text"] = t("import.done_plain", lang, file=escape(cut(preview.file_name, 100)), **values)
    if c.opted_out:
        message["blocks"].append(
            {
                "type": "context",
                "elements": [mrkdwn(t("import.preview.opted_out", lang, count=number(c.opted_out, lang)))],
            }
        )
    return message


def cancelled(preview: Preview, user: str, lang: str) -> dict[str, Any]:
    return _message(t("import.cancelled", lang, file=escape(cut(preview.file_name, 100)), user=user))


def failed(file_name: str, lang: str) -> dict[str, Any]:
    return _message(t("import.failed", lang, file=escape(cut(file_name, 100))))
