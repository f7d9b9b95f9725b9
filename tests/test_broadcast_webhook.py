"""Status webhooks through the real HTTP server move broadcast deliveries forward, never back."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot import broadcasts as service
from bot.broadcast import Runner
from bot.settings import Settings
from handlers.blocks.broadcasts import report_message
from storage.broadcast_models import Delivery
from tests.blockkit import check_blocks
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import meta_body, post_meta, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _status(wamid: str, status: str, ts: int, **extra: object) -> dict[str, object]:
    return {"id": wamid, "status": status, "timestamp": str(ts), "recipient_id": "4917100000000", **extra}


def test_delivery_reports_arrive_in_any_order_and_only_move_forward(running_app: RunningApp) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 3)
    row, _ = service.create(engine, settings, draft(settings))
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    with Session(engine) as s:
        wamid = {d.phone: d.wa_message_id for d in s.scalars(select(Delivery))}
    a, b, c = wamid[phone(0)], wamid[phone(1)], wamid[phone(2)]
    body = meta_body(statuses=[
        _status(a, "read", 1767262300), _status(a, "delivered", 1767262200), _status(b, "delivered", 1767262200),
        _status(c, "failed", 1767262100, errors=[{"code": 131049, "title": "healthy ecosystem engagement"}]),
    ])
    for _ in range(2):  # Meta repeats webhooks
        assert post_meta(running_app, body).status_code == 200
    late = meta_body(statuses=[_status(b, "sent", 1767262000), _status(c, "delivered", 1767262400)])
    assert post_meta(running_app, late).status_code == 200
    with Session(engine) as s:
        got = {d.phone: (d.status, d.error_code) for d in s.scalars(select(Delivery))}
    assert got == {phone(0): ("read", None), phone(1): ("delivered", None), phone(2): ("failed", 131049)}
    report = service.report(engine, row.id or 0)
    assert report.counts == {"read": 1, "delivered": 1, "failed": 1}
    message = report_message(report, "de")
    check_blocks(message["blocks"])
    funnel = next(b for b in message["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert "100 % zugestellt" in funnel and "50 % gelesen" in funnel  # of the two that went out
