"""Issue 15 item 6: the daily limit follows Meta's tier, and account webhooks steer running broadcasts.

Webhooks go through the real HTTP server, signed with the app secret; each change must also reach
the audit channel (fake Slack). Payload shapes: Meta's webhook reference, as in the pywa fixtures
of the conformance set (account_update, template_status_update).
"""

from __future__ import annotations

import time
from typing import Any

import pytest
from sqlalchemy import Engine

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp, wait_until
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import APP_SECRET, post_meta, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
AUDIT = "C0AUDIT15"


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    """No WHATSAPP_DAILY_LIMIT: the tier Meta reports is the limit."""
    return webhook_settings(db_url, fake_slack, CONTACTBOT_AUDIT_CHANNEL=AUDIT, **fake_graph.env())


def _change(fld: str, value: dict[str, Any]) -> dict[str, Any]:
    entry = {"id": "102290129340398", "time": int(time.time()), "changes": [{"field": fld, "value": value}]}
    return {"object": "whatsapp_business_account", "entry": [entry]}


def _audit_posts(app: RunningApp, needle: str) -> list[str]:
    deadline = time.monotonic() + 60  # a hang guard, not a time limit
    posts: list[str] = []
    while time.monotonic() < deadline:
        posts = [c.body["text"] for c in app.fake.of("chat.postMessage") if c.body.get("channel") == AUDIT]
        if any(needle in p for p in posts):
            return posts
        time.sleep(0.02)
    raise AssertionError(f"no audit post with {needle!r}: {posts}")


def _run(settings: Settings, engine: Engine) -> None:
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)


def test_the_tier_is_read_from_the_graph_api_and_a_tier_webhook_changes_it(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 2)
    fake_graph.configure(tier="TIER_1K")
    assert service.preview(engine, settings, draft(settings)).daily_limit == 1000
    body = _change(
        "phone_number_quality_update",
        {"display_phone_number": "4930123456", "event": "UPGRADE", "current_limit": "TIER_10K"},
    )
    assert post_meta(running_app, body).status_code == 200
    assert service.preview(engine, settings, draft(settings)).daily_limit == 10000
    assert "whatsapp.quality" in " ".join(_audit_posts(running_app, "whatsapp.quality"))
    body = _change("phone_number_quality_update", {"event": "UPGRADE", "current_limit": "TIER_UNLIMITED"})
    assert post_meta(running_app, body).status_code == 200
    assert service.preview(engine, settings, draft(settings)).daily_limit == 0  # unlimited
    add_reachable(engine, 3, start=2)
    row, _ = service.create(engine, settings, draft(settings))
    _run(settings, engine)
    assert service.report(engine, row.id or 0).counts == {"sent": 5}


def test_a_paused_template_pauses_the_broadcasts_sending_it(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 4)
    row, _ = service.create(engine, settings, draft(settings))
    other, _ = service.create(engine, settings, draft(settings, name="hello_world", lang="en_US"))
    service.start(engine, settings, row.id or 0)
    service.start(engine, settings, other.id or 0)
    value = {
        "event": "PAUSED",
        "message_template_id": 2,
        "message_template_name": "termin_erinnerung",
        "message_template_language": "de",
        "reason": "LOW_QUALITY",
    }
    assert post_meta(running_app, _change("message_template_status_update", value)).status_code == 200
    paused = service.report(engine, row.id or 0).broadcast
    assert (paused.status, paused.pause_reason) == ("paused", "template")
    _run(settings, engine)
    assert service.report(engine, row.id or 0).counts == {"pending": 4}  # nothing went out with it
    assert service.report(engine, other.id or 0).counts == {"sent": 4}  # another template goes on
    _audit_posts(running_app, "whatsapp.template")


def test_an_account_restriction_stops_sending_until_it_ends(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 3)
    running, _ = service.create(engine, settings, draft(settings))
    service.start(engine, settings, running.id or 0)
    value = {
        "event": "ACCOUNT_RESTRICTION",
        "restriction_info": [
            {"restriction_type": "RESTRICTED_BIZ_INITIATED_MESSAGING", "expiration": int(time.time()) + 86400}
        ],
    }
    assert post_meta(running_app, _change("account_update", value)).status_code == 200
    assert service.report(engine, running.id or 0).broadcast.pause_reason == "restricted"
    later, _ = service.create(engine, settings, draft(settings, request_key="later"))
    _run(settings, engine)
    report = service.report(engine, later.id or 0)
    assert (report.broadcast.status, report.broadcast.pause_reason) == ("paused", "restricted")
    assert fake_graph.stats()["requests"] == 0
    _audit_posts(running_app, "whatsapp.restriction")


def test_the_report_counts_come_from_status_webhooks_sent_after_each_answer(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    engine, settings = running_app.engine, running_app.settings
    settings = settings.model_copy(update={"whatsapp_daily_limit": 0})
    add_reachable(engine, 30)
    fake_graph.configure(
        webhook={
            "url": f"{running_app.url}/whatsapp/webhook",
            "secret": APP_SECRET,
            "statuses": ["sent", "delivered", "read"],
            "after": True,
        },
        rules={
            phone(3): [{"statuses": ["sent", {"status": "failed", "code": 131026}]}],
            phone(4): [{"statuses": ["sent", "delivered"]}],
        },
    )
    row, _ = service.create(engine, settings, draft(settings))
    _run(settings, engine)
    want = {"read": 28, "delivered": 1, "failed": 1}
    wait_until(lambda: service.report(engine, row.id or 0).counts == want, "statuses from the webhooks")
    report = service.report(engine, row.id or 0)
    assert report.counts == want and fake_graph.stats()["invalid"] == []
    assert [(r.code, r.count) for r in report.reasons if r.status == "failed"] == [(131026, 1)]
