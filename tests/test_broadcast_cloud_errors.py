"""Issue 15, errors: one classifier, account-level codes stop at once, a breaker instead of burning the list.

Driven end to end: the runner sends through the fake Graph API (which answers each code the way
Meta's error-codes page describes) into a real database; the assertions are what the report shows.
"""

from __future__ import annotations

import json
from collections import Counter

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from bot.whatsapp.client import GraphClient
from bot.whatsapp.errors import KINDS, Kind, WhatsAppError, classify
from storage.models import Delivery
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import shared_path
from tests.fakes import graph_rules
from tests.fakes.graph_api import FakeGraph

pytest_plugins = ("tests.broadcast_fixtures",)


def _run(settings: Settings, engine: Engine) -> None:
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)


def _statuses(engine: Engine, bid: int) -> dict[str, Delivery]:
    with Session(engine) as s:
        return {d.phone: d for d in s.scalars(select(Delivery).where(Delivery.broadcast_id == bid))}  # type: ignore[arg-type]


@pytest.mark.parametrize("code", [133010, 131005, 3, 131037, 131048, 368, 131031])
def test_an_account_level_code_stops_the_broadcast_after_the_first_answer(
    code: int, engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 50)
    fake_graph.configure(fail_all=code)
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    report = service.report(engine, row.id or 0)
    assert (report.broadcast.status, report.broadcast.stop_code) == ("stopped", code)
    assert report.counts == {"pending": 50}  # nobody failed for the account's problem
    # only what was already in flight when the first answer came back went out
    assert fake_graph.stats()["requests"] <= wa_settings.broadcast_concurrency


def test_a_proxy_page_on_a_4xx_stops_and_a_bare_429_slows_down(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 3)
    fake_graph.configure(rules={phone(0): [{"status": 429}]})
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    assert service.report(engine, row.id or 0).counts == {"sent": 3}  # a 429 without a body is no failure

    add_reachable(engine, 20, start=10)
    fake_graph.configure(rules={phone(i): [{"status": 403}] for i in range(10, 30)})
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "stopped" and "failed" not in report.counts
    assert report.broadcast.stop_reason == "HTTP 403"


def test_the_same_code_on_recipients_in_a_row_pauses_instead_of_failing_everyone(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    settings = wa_settings.model_copy(update={"broadcast_concurrency": 1})
    add_reachable(engine, 40)
    fake_graph.configure(fail_all=131026)
    row, _ = service.create(engine, settings, draft(settings))
    _run(settings, engine)
    report = service.report(engine, row.id or 0)
    assert (report.broadcast.status, report.broadcast.pause_reason) == ("paused", "breaker")
    assert report.broadcast.stop_code == 131026
    assert report.counts == {"failed": settings.broadcast_breaker, "pending": 40 - settings.broadcast_breaker}
    # a paused broadcast stays paused until someone resumes it
    _run(settings, engine)
    assert fake_graph.stats()["requests"] == settings.broadcast_breaker


def test_a_contact_data_code_fails_only_that_recipient_and_the_rest_goes_out(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 60)
    fake_graph.configure(rules={phone(7): [{"error": 132005}], phone(30): [{"error": 100}]})
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done"
    assert report.counts == {"sent": 58, "failed": 2}
    rows = _statuses(engine, row.id or 0)
    assert (rows[phone(7)].error_code, rows[phone(30)].error_code) == (132005, 100)
    assert fake_graph.stats()["requests"] == 60  # each recipient asked once: no row is claimed again and again


def test_a_contact_data_code_repeated_on_other_recipients_pauses(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    settings = wa_settings.model_copy(update={"broadcast_concurrency": 2, "broadcast_breaker": 3})
    add_reachable(engine, 30)
    fake_graph.configure(fail_all=132012)
    row, _ = service.create(engine, settings, draft(settings))
    _run(settings, engine)
    report = service.report(engine, row.id or 0)
    assert (report.broadcast.status, report.broadcast.stop_code) == ("paused", 132012)
    assert Counter(d.status for d in _statuses(engine, row.id or 0).values())["failed"] <= 3 + 2


def test_every_code_on_metas_list_gets_the_broadcasters_action() -> None:
    """Each of the 40 codes: retry, delay the recipient, drop the recipient, or stop the campaign."""
    data = json.loads(shared_path("conformance", "whatsapp", "error-codes-broadcaster.json").read_text())
    assert len(data["codes"]) == 40
    for entry in data["codes"]:
        code, action = entry["code"], entry["broadcaster_action"].lower()
        assert code in KINDS, code
        if action.startswith(("abort", "stop", "pause the campaign", "enforcement")) or "stop and alert" in action:
            assert classify(code) is Kind.FATAL, code
        if action.startswith(("skip recipient", "mark recipient", "shorten", "fix parameters")):
            assert classify(code) is Kind.RECIPIENT, code


def test_a_paused_broadcast_goes_on_when_the_daily_limit_becomes_unlimited(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    limited = wa_settings.model_copy(update={"whatsapp_daily_limit": 3})
    add_reachable(engine, 5)
    row, _ = service.create(engine, limited, draft(limited))
    _run(limited, engine)
    assert service.report(engine, row.id or 0).broadcast.pause_reason == "daily_limit"
    _run(wa_settings.model_copy(update={"whatsapp_daily_limit": 0}), engine)  # 0 = unlimited
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done" and report.counts == {"sent": 5}


def test_the_fake_answers_every_code_on_metas_list_with_its_title(wa_settings: Settings, fake_graph: FakeGraph) -> None:
    data = json.loads(shared_path("conformance", "whatsapp", "error-codes-broadcaster.json").read_text())
    missing = [e["code"] for e in data["codes"] if e["code"] not in graph_rules.TITLES]
    assert missing == []
    client = GraphClient(wa_settings)
    hello = next(t for t in client.templates() if t.name == "hello_world")
    try:
        for entry in data["codes"]:
            fake_graph.configure(fail_all=entry["code"])
            with pytest.raises(WhatsAppError) as err:
                client.send("+4917012345678", hello, {})
            assert err.value.code == entry["code"]
    finally:
        client.close()
