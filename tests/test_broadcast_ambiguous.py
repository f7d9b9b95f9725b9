"""Sends whose outcome Meta did not tell us in the answer (issue 15, items 3-5): a 502/504 page is
ambiguous and never resent; the delivery id travels in `biz_opaque_callback_data` and the status
webhook that echoes it settles an `unknown` row; a send Meta holds keeps Meta's status."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select, update
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.broadcasts import ambiguity, service
from bot.services.broadcasts.sender import Runner
from bot.whatsapp import callback
from storage import early_status
from storage.db import session_scope
from storage.models import Contact, Delivery, Suppression, utcnow
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import APP_SECRET, meta_body, post_meta, wait_applied, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _rows(app: RunningApp) -> dict[str, Delivery]:
    with Session(app.engine) as s:
        return {d.phone: d for d in s.scalars(select(Delivery))}


@pytest.mark.parametrize("gateway", [502, 504])
def test_a_gateway_error_without_a_graph_body_is_unknown_and_not_resent(
    running_app: RunningApp, fake_graph: FakeGraph, gateway: int
) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 3)
    fake_graph.configure(rules={phone(1): [{"status": gateway}]})  # a proxy's page: Meta may have it
    row, _ = service.create(engine, settings, draft(settings))
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    rows = _rows(running_app)
    assert rows[phone(1)].status == "unknown" and rows[phone(1)].attempts == 1
    assert fake_graph.stats()["requests"] == 3  # asked once, never again
    report = service.report(engine, row.id or 0)
    assert report.ambiguity.ambiguous == 1 and report.ambiguity.unknown == 1
    assert "no answer (may have arrived) 1" in ambiguity.lines(report, "en")[0]


def test_the_status_webhook_settles_a_send_whose_answer_was_lost(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 3)
    # Meta accepts phone(1)'s message and reports it delivered, but the answer to the send never arrives.
    fake_graph.configure(
        webhook={"url": f"{running_app.url}/whatsapp/webhook", "secret": APP_SECRET, "statuses": ["sent"]},
        rules={phone(1): [{"drop": True, "statuses": ["sent", "delivered"]}]},
    )
    row, _ = service.create(engine, settings, draft(settings))
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    assert fake_graph.stats()["invalid"] == []
    wait_applied(engine)  # the fake's webhooks were answered; the inbox consumer applies them
    rows = _rows(running_app)
    assert {p: d.status for p, d in rows.items()} == {phone(0): "sent", phone(1): "delivered", phone(2): "sent"}
    assert rows[phone(1)].wa_message_id and rows[phone(1)].unknown_at is not None  # was ambiguous, now settled
    assert fake_graph.stats()["counts"] == {phone(i): 1 for i in range(3)}
    report = service.report(engine, row.id or 0)
    assert (report.ambiguity.ambiguous, report.ambiguity.settled, report.ambiguity.unknown) == (1, 1, 0)
    assert "durch Statusmeldung geklärt 1" in ambiguity.lines(report, "de")[0]


def test_a_status_naming_an_unknown_delivery_by_callback_data_settles_it(running_app: RunningApp) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 2)
    row, _ = service.create(engine, settings, draft(settings))
    service.start(engine, settings, row.id or 0)
    with Session(engine) as s:
        target = s.scalars(select(Delivery).where(Delivery.phone == phone(0))).one()
    with session_scope(engine) as s:  # its sender died after the request: ambiguous, no status yet
        s.execute(update(Delivery).where(Delivery.id == target.id).values(status="unknown", unknown_at=utcnow()))
    status = {
        "id": "wamid.LATE1",
        "status": "failed",
        "timestamp": "1767262300",
        "recipient_id": phone(0).lstrip("+"),
        "biz_opaque_callback_data": callback.for_delivery(target.id or 0),
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    other = status | {"id": "wamid.OTHER", "biz_opaque_callback_data": "someone else's data"}
    for body in (meta_body(statuses=[status]), meta_body(statuses=[other])):
        assert post_meta(running_app, body).status_code == 200
    rows = _rows(running_app)
    assert (rows[phone(0)].status, rows[phone(0)].error_code, rows[phone(0)].wa_message_id) == (
        "failed",
        131026,
        "wamid.LATE1",
    )
    assert rows[phone(1)].status == "pending"  # callback data that is not ours names nothing


def test_a_send_meta_holds_keeps_metas_status(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 3)
    fake_graph.configure(
        rules={
            phone(0): [{"message_status": "held_for_quality_assessment"}],
            phone(1): [{"message_status": "paused"}],
        }
    )
    row, _ = service.create(engine, settings, draft(settings))
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    rows = _rows(running_app)
    assert {p: d.status for p, d in rows.items()} == {phone(0): "held", phone(1): "paused", phone(2): "sent"}
    report = service.report(engine, row.id or 0)
    assert "held back by WhatsApp 2" in ambiguity.lines(report, "en")
    # Later Meta releases it: the `sent` status moves it on like any other.
    wamid = rows[phone(0)].wa_message_id or ""
    sent = {"id": wamid, "status": "sent", "timestamp": "1767262300", "recipient_id": phone(0).lstrip("+")}
    assert post_meta(running_app, meta_body(statuses=[sent])).status_code == 200
    assert _rows(running_app)[phone(0)].status == "sent"


def _unknown(app: RunningApp, status: str = "unknown") -> Delivery:
    """A broadcast to two contacts whose first row is ambiguous: the request left, its answer never came."""
    engine, settings = app.engine, app.settings
    add_reachable(engine, 2)
    row, _ = service.create(engine, settings, draft(settings))
    service.start(engine, settings, row.id or 0)
    with Session(engine) as s:
        target = s.scalars(select(Delivery).where(Delivery.phone == phone(0))).one()
    with session_scope(engine) as s:
        s.execute(update(Delivery).where(Delivery.id == target.id).values(status=status, unknown_at=utcnow()))
    return target


def _failed(target: Delivery, wamid: str, code: int) -> dict[str, object]:
    return {
        "id": wamid,
        "status": "failed",
        "timestamp": "1767262300",
        "recipient_id": phone(0).lstrip("+"),
        "biz_opaque_callback_data": callback.for_delivery(target.id or 0),
        "errors": [{"code": code, "title": "failed"}],
    }


def _contact(app: RunningApp) -> Contact:
    with Session(app.engine) as s:
        return s.scalars(select(Contact).where(Contact.phone == phone(0))).one()


def test_a_failed_status_settling_an_unknown_row_applies_its_opt_out_and_undeliverable_effects(
    running_app: RunningApp,
) -> None:
    """A status that settles an `unknown` row as failed means what any failed status means: 131050 opts the
    contact out of marketing (and onto the suppression list), 131026 counts towards undeliverable. The effect
    ran before the row had its message id, so it found nothing and the opt-out was lost."""
    target = _unknown(running_app)
    assert post_meta(running_app, meta_body(statuses=[_failed(target, "wamid.STOP1", 131050)])).status_code == 200
    assert _rows(running_app)[phone(0)].status == "failed"
    contact = _contact(running_app)
    assert contact.marketing_opted_out_at is not None
    with Session(running_app.engine) as s:
        assert s.scalar(select(func.count()).select_from(Suppression)) >= 1


def test_a_kept_status_that_settles_an_unknown_row_later_applies_its_effect_too(running_app: RunningApp) -> None:
    """The status came while the row was still `sending` (kept as early), then its sender died and the row became
    `unknown`: the sweep that settles it applies the effect as well."""
    target = _unknown(running_app, status="sending")
    assert post_meta(running_app, meta_body(statuses=[_failed(target, "wamid.GONE1", 131026)])).status_code == 200
    assert _rows(running_app)[phone(0)].status == "sending"  # kept: the row is not unknown yet
    with session_scope(running_app.engine) as s:
        s.execute(update(Delivery).where(Delivery.id == target.id).values(status="unknown"))
    with session_scope(running_app.engine) as s:
        assert early_status.settle_ambiguous(s, since=utcnow() - timedelta(hours=1)) == 1
    assert _rows(running_app)[phone(0)].status == "failed"
    assert _contact(running_app).undeliverable_count == 1
