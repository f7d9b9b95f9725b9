"""Confirm / Cancel under an import preview: admins only (checked here, not just by who sees the buttons).

The buttons carry the import run id sealed (handlers/integrity.py): a changed, foreign or old value
is refused as out of date and nothing is applied or cancelled.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain.statuses import ImportStatus
from bot.i18n import t
from bot.services import imports
from handlers.blocks import imports as blocks
from handlers.clients.update_budget import budget_for, update
from handlers.context import actor, deps, ephemeral, lang, refused, sealer
from handlers.integrity import action_purpose
from handlers.jobs import long_job
from handlers.listeners import ack_only

log = logging.getLogger(__name__)
PROGRESS_EVERY_S = 2.0


def _run_id(body: dict[str, Any], context: BoltContext) -> int | None:
    value = sealer(context).unseal(body["actions"][0].get("value"), action_purpose(body)) or ""
    return int(value) if value.isdigit() and len(value) < 12 else None


def _where(body: dict[str, Any]) -> tuple[str | None, str | None]:
    container = body.get("container") or {}
    channel = container.get("channel_id") or (body.get("channel") or {}).get("id")
    return channel, container.get("message_ts") or (body.get("message") or {}).get("ts")


def on_import_click(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    language = lang(context, client)
    if refused(context, language, respond):
        return
    run_id = _run_id(body, context)
    if run_id is None:
        respond(**ephemeral(t("error.stale", language)))
        return
    engine = deps(context).engine
    channel, ts = _where(body)
    user = context.user_id or ""
    last = [0.0]

    def show(message: dict[str, Any]) -> None:
        if channel and ts:
            try:
                client.chat_update(channel=channel, ts=ts, **message)
            except SlackApiError as exc:
                log.warning("chat.update failed: %s", exc.response.get("error"))

    try:
        if body["actions"][0]["action_id"] == "import_cancel":
            show(blocks.cancelled(imports.cancel_run(engine, run_id, actor(context)), user, language))
            return
        current = imports.load(engine, run_id)
        if current.status != ImportStatus.PREVIEW:
            raise imports.ImportRefused("import.already", status=current.status)
        show(blocks.progress(current.file_name, "update", 0, language))  # no buttons while it runs

        def progress(stage: str, rows: int) -> None:
            if time.monotonic() - last[0] >= PROGRESS_EVERY_S:
                last[0] = time.monotonic()
                if channel and ts:  # a progress line: within the shared chat.update budget, else skipped
                    message = blocks.progress(current.file_name, stage, rows, language)
                    budget = budget_for(deps(context).settings.slack_bot_token or "")
                    update(client, budget, False, channel=channel, ts=ts, **message)

        result = imports.apply_run(
            engine, run_id, actor(context), consent_confirmed=True, progress=progress, cleanup=False
        )
    except imports.ImportRefused as exc:
        values = dict(exc.values)
        if "status" in values:
            values["status"] = t(f"import.status.{values['status']}", language)
        respond(**ephemeral(t(exc.code, language, **values)))
        if exc.code == "import.already" and (done := _final(engine, run_id, user, language)):
            show(done)
        return
    except Exception:
        log.exception("import apply failed for run %s", run_id)
        show(blocks.failed(imports.load(engine, run_id).file_name, language))
        # the preview is intact (the transaction rolled back): offer the buttons again
        show(blocks.preview_message(imports.load(engine, run_id), language, seal=sealer(context).seal))
        raise
    show(blocks.done(result, user, language))
    imports.discard_staging(engine, run_id)


def _final(engine: Any, run_id: int, user: str, language: str) -> dict[str, Any] | None:
    """A second click found the run finished: show its outcome instead of stale buttons."""
    run = imports.load(engine, run_id)
    if run.status == ImportStatus.APPLIED:
        return blocks.done(run, user, language)
    if run.status == ImportStatus.CANCELLED:
        return blocks.cancelled(run, user, language)
    return None


@long_job("import")
def on_import_confirm(body: dict[str, Any], context: BoltContext, client: WebClient, respond: Respond) -> None:
    """Applying is a long job (it writes every staged row); cancelling is not, so it never waits in the job queue."""
    on_import_click(body=body, context=context, client=client, respond=respond)


def register(app: App) -> None:
    app.action("import_confirm")(ack=ack_only, lazy=[on_import_confirm])
    app.action("import_cancel")(ack=ack_only, lazy=[on_import_click])
