"""The broadcast's live report message in Slack: posted when it is created, updated while it sends.

Any process may update it (web, worker): the channel and ts are stored on the broadcast row, and
the message is redrawn from the database each time, so updates never depend on process memory.
"""

from __future__ import annotations

import logging
import threading
import time

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.config.settings import Settings
from bot.i18n import t
from bot.services.broadcasts import chart, service
from handlers.blocks.broadcasts import report_message
from handlers.clients.update_budget import budget_for, update
from handlers.integrity import Seal, Sealer
from storage.db import Engine

log = logging.getLogger(__name__)
MIN_INTERVAL = 3.0  # Slack allows about one chat.update per second per channel; a few seconds reads well
FINAL_TRIES = 3
CHART_LOOK = 30.0  # while sending, ask the database whether a chart is due at most this often per broadcast


def post_report(
    client: WebClient, engine: Engine, broadcast_id: int, channel_id: str, user_id: str, seal: Seal
) -> None:
    """Post the report where the broadcast was started; the user's DM when the bot cannot post there."""
    report = service.report(engine, broadcast_id)
    payload = report_message(report, report.broadcast.report_lang, seal=seal)
    try:
        answer = client.chat_postMessage(channel=channel_id, **payload)
    except SlackApiError:
        dm = client.conversations_open(users=user_id)["channel"]["id"]
        answer = client.chat_postMessage(channel=dm, **payload)
    service.set_report_message(engine, broadcast_id, str(answer["channel"]), str(answer["ts"]))


class SlackReporter:
    """The engine's progress callback: redraw the report message from its own thread, at most every few seconds.

    The sender only notes which broadcast changed and returns at once: the redraw (a database read and a
    chat.update) runs on the reporter's thread, within the workspace's shared chat.update budget
    (handlers/clients/update_budget.py). A progress redraw without budget is skipped; the final one waits for the
    budget on this thread (never in the sender) and is retried until Slack takes it or FINAL_TRIES is reached.
    Its buttons are sealed for the workspace the bot token belongs to (auth.test, asked once).
    """

    def __init__(self, client: WebClient, engine: Engine, settings: Settings) -> None:
        self.client, self.engine, self.settings = client, engine, settings
        self.last: dict[int, float] = {}
        self.lock = threading.Lock()
        self.sealer: Sealer | None = None
        self.budget = budget_for(settings.slack_bot_token or "")
        self.pending: dict[int, bool] = {}  # broadcast id -> final
        self.wake = threading.Event()
        self.thread: threading.Thread | None = None
        self.chart_looked: dict[int, float] = {}
        self.busy = False  # a batch taken from `pending` is being drawn (idle() waits for it, and its chart)

    def _seal(self) -> Seal:
        if self.sealer is None:
            self.sealer = Sealer.of(self.settings, str(self.client.auth_test().get("team_id") or ""))
        return self.sealer.seal

    def __call__(self, broadcast_id: int, final: bool) -> None:
        with self.lock:
            now = time.monotonic()
            if not final and now - self.last.get(broadcast_id, 0.0) < MIN_INTERVAL:
                return
            self.last[broadcast_id] = now
            self.pending[broadcast_id] = self.pending.get(broadcast_id, False) or final
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._run, name="report", daemon=True)
                self.thread.start()
        self.wake.set()

    def idle(self) -> bool:
        """Nothing left to redraw (for shutdown and tests)."""
        with self.lock:
            return not self.pending and not self.busy

    def flush(self, timeout: float = 30.0) -> None:
        """Wait (bounded) until the pending redraws, above all the final ones, are out: before a process exits."""
        deadline = time.monotonic() + timeout
        while not self.idle() and time.monotonic() < deadline:
            time.sleep(0.05)

    def _run(self) -> None:
        while True:
            self.wake.wait(timeout=5)
            self.wake.clear()
            with self.lock:
                batch, self.pending = self.pending, {}
                self.busy = bool(batch)
            try:
                for broadcast_id, final in batch.items():
                    try:
                        self._redraw(broadcast_id, final)
                    except Exception:
                        log.exception("broadcast %s: report update failed", broadcast_id)
            finally:
                with self.lock:
                    self.busy = False

    def _redraw(self, broadcast_id: int, final: bool) -> None:
        report = service.report(self.engine, broadcast_id)
        b = report.broadcast
        if not b.channel_id or not b.message_ts:
            return  # started from the CLI: nobody to tell in Slack
        message = report_message(report, b.report_lang, seal=self._seal())
        for _ in range(FINAL_TRIES if final else 1):
            if final and (pause := self.budget.wait_time()):
                time.sleep(pause)  # the reporter's own thread: the sender is not waiting
            if update(self.client, self.budget, final, channel=b.channel_id, ts=b.message_ts, **message):
                break
        self._chart(report, final)

    def _chart(self, report: service.Report, final: bool) -> None:
        """The report's chart as a PNG in the report's thread (issue 18): drawn from the same `report` as the
        message, so its alt text states the message's figures. Uploaded with files_upload_v2
        (files.getUploadURLExternal + files.completeUploadExternal, Tier 4) at most every few minutes while
        it sends and once per final state (`chart.due` decides on the broadcast row, for every process);
        the chart it replaces is deleted (files.delete, Tier 3), so the thread shows the latest one."""
        b = report.broadcast
        bid = b.id or 0
        now = time.monotonic()
        if not final and now - self.chart_looked.get(bid, -CHART_LOOK) < CHART_LOOK:
            return
        self.chart_looked[bid] = now
        key = chart.due(self.engine, report, final)
        if key is None:
            return
        lang = b.report_lang
        try:
            answer = self.client.files_upload_v2(
                file=chart.render(self.engine, report, lang),
                filename=f"broadcast-{bid}.png",
                title=t("chart.file_title", lang, id=bid),
                alt_txt=chart.alt_text(report, lang),
                channel=b.channel_id,
                thread_ts=b.message_ts,
            )
            file_id = str((answer.get("file") or {}).get("id") or "")
        except Exception as exc:  # the next redraw with other figures tries again
            chart.failed(self.engine, bid, key)
            log.warning("broadcast %s: chart not uploaded: %s", bid, type(exc).__name__)
            return
        previous = chart.uploaded(self.engine, bid, file_id) if file_id else None
        if previous:
            try:
                self.client.files_delete(file=previous)
            except SlackApiError as exc:
                log.info("broadcast %s: old chart not deleted: %s", bid, exc.response.get("error"))
