"""Issue 16, item 7: the broadcast report's chat.update never blocks the sender, and a 429 is not slept out in it.

slack_sdk's retry handler used to sleep the Retry-After inside the reporter, which the sender calls from its
flusher; now the sender only notes the change, the redraw runs on the reporter's own thread within a shared
per-workspace budget, a progress redraw that gets 429 is skipped, and the final one still arrives.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.settings import Settings
from bot.services.broadcasts import service
from handlers.clients.live_report import SlackReporter
from handlers.clients.web_api import web_client
from tests.broadcast_helpers import add_reachable, draft
from tests.conftest import RunningApp, wait_until
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import Call, FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def test_a_rate_limited_report_update_returns_at_once_and_the_final_one_arrives(running_app: RunningApp) -> None:
    add_reachable(running_app.engine, 1)
    row, _ = service.create(running_app.engine, running_app.settings, draft(running_app.settings))
    service.set_report_message(running_app.engine, row.id or 0, "C111", "1700000000.000900")
    answers: list[int] = []

    def limited_once(call: Call) -> tuple[int, dict[str, str], bytes] | dict[str, Any]:
        answers.append(429 if not answers else 200)
        if answers[-1] == 429:
            return (
                429,
                {"Content-Type": "application/json", "Retry-After": "1"},
                b'{"ok": false, "error": "ratelimited"}',
            )
        return {"ok": True, "channel": "C111", "ts": "1700000000.000900"}

    running_app.fake.responders["chat.update"] = limited_once
    reporter = SlackReporter(web_client(running_app.settings), running_app.engine, running_app.settings)
    reporter(row.id or 0, False)
    assert len(running_app.fake.of("chat.update")) <= 1  # the caller (the sender) did not wait for a retry
    wait_until(lambda: answers == [429], "the progress redraw to be tried")
    reporter(row.id or 0, True)
    wait_until(lambda: answers == [429, 200], "the final redraw to arrive")
    reporter.flush()
    assert answers == [429, 200]  # the rate-limited progress redraw was skipped, not retried
