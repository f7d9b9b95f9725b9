"""Scheduled broadcasts: stored as APScheduler jobs in our database, sent on time after a restart."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import Engine, text

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.worker import start_sending
from storage.models import utcnow
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.fakes.graph_api import FakeGraph

pytest_plugins = ("tests.broadcast_fixtures",)


def _jobs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def test_a_scheduled_broadcast_survives_a_restart_and_goes_out_on_time(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 2)
    d = draft(wa_settings)
    d.scheduled_at = utcnow() + timedelta(seconds=3)
    row, _ = service.create(engine, wa_settings, d)
    assert row.status == "scheduled" and _jobs(engine) == [f"broadcast-start-{row.id}"]

    first = start_sending(wa_settings, engine)  # a process that goes down before the time comes
    time.sleep(0.5)
    first.stop()
    assert fake_graph.stats()["counts"] == {}

    second = start_sending(wa_settings, engine)
    try:
        deadline = time.monotonic() + 15
        while service.report(engine, row.id or 0).broadcast.status != "done" and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        second.stop()
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done" and report.broadcast.started_at >= d.scheduled_at
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}
    assert _jobs(engine) == []  # the wake-up job ran and is gone


def test_cancelling_a_scheduled_broadcast_removes_its_job(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 1)
    d = draft(wa_settings)
    d.scheduled_at = utcnow() + timedelta(hours=1)
    row, _ = service.create(engine, wa_settings, d)
    service.change(engine, row.id or 0, "cancel", "cli:test")
    assert _jobs(engine) == []
