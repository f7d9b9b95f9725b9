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
from bot.services.broadcasts import service
from handlers.blocks.broadcasts import report_message
from handlers.integrity import Seal, Sealer
from storage.db import Engine

log = logging.getLogger(__name__)
MIN_INTERVAL = 3.0  # Slack allows about one chat.update per second per channel; a few seconds reads well


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
    """The engine's progress callback: redraw the report message, at most every few seconds.

    Its buttons are sealed for the workspace the bot token belongs to (auth.test, asked once).
    """

    def __init__(self, client: WebClient, engine: Engine, settings: Settings) -> None:
        self.client, self.engine, self.settings = client, engine, settings
        self.last: dict[int, float] = {}
        self.lock = threading.Lock()
        self.sealer: Sealer | None = None

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
        report = service.report(self.engine, broadcast_id)
        b = report.broadcast
        if not b.channel_id or not b.message_ts:
            return  # started from the CLI: nobody to tell in Slack
        try:
            self.client.chat_update(
                channel=b.channel_id, ts=b.message_ts, **report_message(report, b.report_lang, seal=self._seal())
            )
        except SlackApiError as exc:
            log.warning("broadcast %s: report update failed: %s", broadcast_id, exc.response.get("error"))
