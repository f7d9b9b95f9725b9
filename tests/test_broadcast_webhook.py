"""Status webhooks through the real HTTP server move broadcast deliveries forward, never back."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from handlers.blocks.broadcasts import report_message
from storage.db import session_scope
from storage.models import Delivery, EarlyStatus, utcnow
from tests.blockkit import check_blocks
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp, app_seal
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import APP_SECRET, count, meta_body, post_meta, wait_applied, webhook_settings

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
    body = meta_body(
        statuses=[
            _status(a, "read", 1767262300),
            _status(a, "delivered", 1767262200),
            _status(b, "delivered", 1767262200),
            _status(c, "failed", 1767262100, errors=[{"code": 131049, "title": "healthy ecosystem engagement"}]),
        ]
    )
    for _ in range(2):  # Meta repeats webhooks
        assert post_meta(running_app, body).status_code == 200
    late = meta_body(statuses=[_status(b, "sent", 1767262000), _status(c, "delivered", 1767262400)])
    assert post_meta(running_app, late).status_code == 200
    with Session(engine) as s:
        got = {d.phone: (d.status, d.error_code) for d in s.scalars(select(Delivery))}
    assert got == {phone(0): ("read", None), phone(1): ("delivered", None), phone(2): ("failed", 131049)}
    report = service.report(engine, row.id or 0)
    assert report.counts == {"read": 1, "delivered": 1, "failed": 1}
    message = report_message(report, "de", seal=app_seal)
    check_blocks(message["blocks"])
    funnel = next(b for b in message["blocks"] if b["type"] == "context")["elements"][0]["text"]
    assert "100 % zugestellt" in funnel and "50 % gelesen" in funnel  # of the two that went out


def test_statuses_that_arrive_before_the_sender_writes_the_id_are_applied_after_it(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 6)
    # The fake posts each status webhook before it answers the send, like a fast Meta: the sender
    # cannot have written the id yet. Out of order and repeated on purpose.
    fake_graph.configure(
        webhook={
            "url": f"{running_app.url}/whatsapp/webhook",
            "secret": APP_SECRET,
            "statuses": ["read", "sent", "delivered", "read"],
        },
        rules={
            phone(1): [{"statuses": ["delivered", "sent", "delivered"]}],
            phone(2): [{"statuses": [{"status": "failed", "code": 131049}, "delivered", "sent"]}],
            phone(3): [{"statuses": ["sent"]}],
            phone(4): [{"statuses": []}],
        },
    )
    row, _ = service.create(engine, settings, draft(settings))
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    assert fake_graph.stats()["invalid"] == []
    wait_applied(engine)  # the fake's webhooks were answered; the inbox consumer applies them
    with Session(engine) as s:
        got = {d.phone: (d.status, d.error_code) for d in s.scalars(select(Delivery))}
        wamid = {d.phone: d.wa_message_id for d in s.scalars(select(Delivery))}
    assert got == {
        phone(0): ("read", None),
        phone(1): ("delivered", None),
        phone(2): ("failed", 131049),
        phone(3): ("sent", None),
        phone(4): ("sent", None),
        phone(5): ("read", None),
    }
    assert count(engine, EarlyStatus) == 0  # every kept status found its delivery
    assert service.report(engine, row.id or 0).counts == {"read": 2, "delivered": 1, "failed": 1, "sent": 2}

    # After the write: the usual path; a late lower status changes nothing, nothing is kept.
    late = meta_body(
        statuses=[_status(wamid[phone(0)], "delivered", 1767262000), _status(wamid[phone(3)], "read", 1767262500)]
    )
    assert post_meta(running_app, late).status_code == 200
    with Session(engine) as s:
        assert {d.phone: d.status for d in s.scalars(select(Delivery))}[phone(3)] == "read"
    assert count(engine, EarlyStatus) == 0

    # An id we never learn (another system's message): kept once however often it comes, purged after a week.
    unknown = meta_body(statuses=[_status("wamid.NEVER1", "delivered", 1767262000)])
    for _ in range(2):
        assert post_meta(running_app, unknown).status_code == 200
    assert count(engine, EarlyStatus) == 1
    runner = Runner(settings, engine)
    runner.tidy()
    assert count(engine, EarlyStatus) == 1
    with session_scope(engine) as s:
        s.execute(update(EarlyStatus).values(received_at=utcnow() - timedelta(days=8)))
    runner.tidied = 0.0
    runner.tidy()
    assert count(engine, EarlyStatus) == 0
