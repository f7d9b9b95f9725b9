"""Scheduled broadcasts: stored as APScheduler jobs in our database, sent on time after a restart."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, text

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.worker import start_sending
from storage.models import utcnow
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import wait_until
from tests.fakes.graph_api import FakeGraph

pytest_plugins = ("tests.broadcast_fixtures",)


def _jobs(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())


def test_a_scheduled_broadcast_survives_a_restart_and_goes_out_on_time(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 2)
    # Due in an hour: a process that starts and goes down meanwhile must neither send it nor lose its job.
    later = draft(wa_settings)
    later.scheduled_at = utcnow() + timedelta(hours=1)
    kept, _ = service.create(engine, wa_settings, later)
    assert kept.status == "scheduled" and _jobs(engine) == [f"broadcast-start-{kept.id}"]
    first = start_sending(wa_settings, engine)
    first.stop()
    assert fake_graph.stats()["counts"] == {}
    assert _jobs(engine) == [f"broadcast-start-{kept.id}"]

    # Scheduled while no process runs (as the CLI does): the next process to start sends it when it is due.
    soon = draft(wa_settings)
    soon.scheduled_at = utcnow() + timedelta(seconds=2)
    row, _ = service.create(engine, wa_settings, soon)
    second = start_sending(wa_settings, engine)
    try:
        wait_until(lambda: service.report(engine, row.id or 0).broadcast.status == "done", "it was not sent")
    finally:
        second.stop()
    report = service.report(engine, row.id or 0)
    assert report.broadcast.started_at >= soon.scheduled_at  # not before its time
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}
    assert _jobs(engine) == [f"broadcast-start-{kept.id}"]  # its wake-up job ran and is gone; the later one waits
    assert service.report(engine, kept.id or 0).broadcast.status == "scheduled"


def test_cancelling_a_scheduled_broadcast_removes_its_job(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 1)
    d = draft(wa_settings)
    d.scheduled_at = utcnow() + timedelta(hours=1)
    row, _ = service.create(engine, wa_settings, d)
    service.change(engine, row.id or 0, "cancel", "cli:test")
    assert _jobs(engine) == []
