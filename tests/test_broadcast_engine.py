"""Broadcasts end to end against the fake Graph API and a real database: who gets it, how often, why not."""

from __future__ import annotations

import threading
from collections import Counter

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from bot.config.settings import Settings
from bot.domain.contacts import ContactFilter
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner, send_broadcast
from storage import broadcasts as store
from storage.db import session_scope
from storage.models import Broadcast, Delivery, utcnow
from tests.broadcast_helpers import add_reachable, draft, phone, set_attribute
from tests.factories import BASE, add_contact
from tests.fakes.graph_api import FakeGraph

pytest_plugins = ("tests.broadcast_fixtures",)


def _deliveries(engine: Engine, bid: int) -> dict[str, Delivery]:
    with Session(engine) as s:
        return {d.phone: d for d in s.scalars(select(Delivery).where(Delivery.broadcast_id == bid))}


def _run(settings: Settings, engine: Engine) -> None:
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)


def test_only_reachable_contacts_receive_it_once_each(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 5)
    add_contact(engine, "+4915100000001", "Ohne Zustimmung")  # no consent on record
    add_contact(engine, "+4915100000002", "Blockiert", consent_at=BASE, blocked=True)
    add_contact(engine, "+4915100000003", "Inaktiv", consent_at=BASE, active=False)
    add_contact(engine, "+4915100000004", "Telegram", consent_at=BASE, messenger="telegram")
    add_contact(engine, "+4915100000005", "Abgemeldet", consent_at=BASE, opted_out_at=BASE)
    d = draft(wa_settings)
    pre = service.preview(engine, wa_settings, d)
    assert pre.recipients == 5 and pre.problems == []
    assert {k: pre.breakdown[k] for k in store.EXCLUSIONS} == {
        "not_whatsapp": 1,
        "inactive": 1,
        "blocked": 1,
        "opted_out": 1,
        "no_consent": 1,
    }
    row, created = service.create(engine, wa_settings, d)
    assert created and row.status == "queued"
    _run(wa_settings, engine)
    counts = fake_graph.stats()["counts"]
    assert counts == {phone(i): 1 for i in range(5)}
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done" and report.counts == {"sent": 5}
    assert all(d.wa_message_id for d in _deliveries(engine, row.id or 0).values())


def test_parameters_come_from_contact_fields_with_fallback_or_skip(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    ids = add_reachable(engine, 3)
    set_attribute(engine, "termin", {ids[0]: "1. März", ids[1]: "2. März"})
    row, _ = service.create(engine, wa_settings, draft(wa_settings, params={"1": "contact:name", "2": "attr:termin"}))
    _run(wa_settings, engine)
    rows = _deliveries(engine, row.id or 0)
    assert rows[phone(2)].status == "skipped" and rows[phone(2)].error_title == "missing_param"
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}


def test_a_double_click_creates_and_starts_one_broadcast(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 4)
    first, created1 = service.create(engine, wa_settings, draft(wa_settings, request_key="view:V1"))
    second, created2 = service.create(engine, wa_settings, draft(wa_settings, request_key="view:V1"))
    assert created1 and not created2 and first.id == second.id
    flt = ContactFilter(status="all")
    starts = []
    barrier = threading.Barrier(2)

    def start() -> None:
        barrier.wait()
        starts.append(service.start(engine, wa_settings, first.id or 0))

    threads = [threading.Thread(target=start) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(starts, key=str) == [4, None]
    with session_scope(engine) as s:
        assert store.start(s, first.id or 0, flt, "DE", []) is None
    _run(wa_settings, engine)
    assert sum(fake_graph.stats()["counts"].values()) == 4


def test_error_codes_decide_retry_delay_fail_or_stop(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 6)
    fake_graph.configure(
        rules={
            phone(0): [{"error": 131000}],  # transient: retried, then sent
            phone(1): [{"error": 131026}],  # undeliverable: failed with its reason
            phone(2): [{"error": 130429}],  # throughput: whole broadcast slows down, retried
            phone(3): [{"status": 503}],  # proxy page: retried
            phone(4): [{"error": 131049}],  # marketing limit: failed
            phone(5): [{"drop": True}],  # accepted, answer lost: unknown, never resent
        }
    )
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    rows = _deliveries(engine, row.id or 0)
    assert {p: d.status for p, d in rows.items()} == {
        phone(0): "sent",
        phone(1): "failed",
        phone(2): "sent",
        phone(3): "sent",
        phone(4): "failed",
        phone(5): "unknown",
    }
    assert (rows[phone(1)].error_code, rows[phone(0)].attempts) == (131026, 2)
    assert fake_graph.stats()["counts"] == {phone(i): 1 for i in (0, 2, 3, 5)}
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done"
    assert {r.code for r in report.reasons} == {131026, 131049}
    assert report.retryable == 0


def test_pair_limit_delays_only_that_recipient(engine: Engine, wa_settings: Settings, fake_graph: FakeGraph) -> None:
    wa_settings = wa_settings.model_copy(update={"broadcast_pair_delay": 0.3})
    add_reachable(engine, 3)
    fake_graph.configure(rules={phone(0): [{"error": 131056}]})
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    service.start(engine, wa_settings, row.id or 0)
    send_broadcast(wa_settings, engine, row.id or 0)  # returns once the others are out and 0 waits
    rows = _deliveries(engine, row.id or 0)
    assert rows[phone(1)].status == rows[phone(2)].status == "sent"
    assert rows[phone(0)].status == "sent" and rows[phone(0)].attempts == 2
    assert fake_graph.stats()["counts"][phone(0)] == 1


def test_an_expired_token_stops_the_broadcast_with_nothing_lost(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 30)
    fake_graph.configure(fail_all=190)
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    _run(wa_settings, engine)
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "stopped" and report.broadcast.stop_code == 190
    assert report.counts == {"pending": 30}  # none sent, none failed: all still to send
    assert all(d.attempts == 0 for d in _deliveries(engine, row.id or 0).values())


def test_rows_a_dead_sender_requested_become_unknown_the_others_are_sent_once(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 4)
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    service.start(engine, wa_settings, row.id or 0)
    with session_scope(engine) as s:  # a sender claimed two rows, started a request for one, then died
        claimed = store.claim(s, row.id or 0, 2)
        s.execute(
            update(Delivery)
            .where(Delivery.id.in_([c.id for c in claimed]))  # type: ignore[union-attr]
            .values(claimed_at=utcnow().replace(year=2020))
        )
        s.execute(update(Delivery).where(Delivery.id == claimed[0].id).values(requested_at=utcnow()))
    _run(wa_settings, engine)
    rows = {d.id: d for d in _deliveries(engine, row.id or 0).values()}
    assert rows[claimed[0].id].status == "unknown"  # may have reached Meta: never resent blindly
    assert rows[claimed[1].id].status == "sent" and rows[claimed[1].id].attempts == 1  # never requested: sent
    assert Counter(d.status for d in rows.values()) == {"unknown": 1, "sent": 3}
    assert sum(fake_graph.stats()["counts"].values()) == 3
    assert service.retry_failed(engine, row.id or 0, "cli:test", include_unknown=True) == 1  # only on request
    _run(wa_settings, engine)
    assert sum(fake_graph.stats()["counts"].values()) == 4


def test_cancel_pause_resume(engine: Engine, wa_settings: Settings, fake_graph: FakeGraph) -> None:
    add_reachable(engine, 3)
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    assert service.change(engine, row.id or 0, "cancel", "cli:test").status == "cancelled"
    _run(wa_settings, engine)
    assert fake_graph.stats()["counts"] == {}
    row2, _ = service.create(engine, wa_settings, draft(wa_settings))
    service.start(engine, wa_settings, row2.id or 0)
    service.change(engine, row2.id or 0, "pause", "cli:test")
    _run(wa_settings, engine)
    assert fake_graph.stats()["counts"] == {}
    service.change(engine, row2.id or 0, "resume", "cli:test")
    _run(wa_settings, engine)
    assert len(fake_graph.stats()["counts"]) == 3


def test_daily_limit_is_announced_and_pauses_the_broadcast(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    settings = wa_settings.model_copy(update={"whatsapp_daily_limit": 3})
    add_reachable(engine, 5)
    d = draft(settings)
    assert service.preview(engine, settings, d).over_limit
    row, _ = service.create(engine, settings, d)
    _run(settings, engine)
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "paused" and report.broadcast.pause_reason == "daily_limit"
    assert report.counts == {"sent": 3, "pending": 2}


def test_unapproved_templates_and_missing_parameters_are_refused_before_anything(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 2)
    with pytest.raises(service.BroadcastError) as err:
        draft(wa_settings, name="alt_abgelehnt")
    assert err.value.code == "broadcast.error.not_approved"
    with pytest.raises(service.BroadcastError) as err:
        service.create(engine, wa_settings, draft(wa_settings, params={"1": "Anna"}))
    assert err.value.code == "broadcast.error.params" and "missing:2" in str(err.value.values)
    with Session(engine) as s:
        assert s.scalars(select(Broadcast)).first() is None
    assert fake_graph.stats()["requests"] == 0


def test_two_senders_on_postgresql_never_claim_the_same_row(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SKIP LOCKED sharing is PostgreSQL's; SQLite keeps one sender per broadcast by lease")
    add_reachable(engine, 6)
    row, _ = service.create(engine, wa_settings, draft(wa_settings))
    service.start(engine, wa_settings, row.id or 0)
    with Session(engine) as first, Session(engine) as second:
        a = store.claim(first, row.id or 0, 4)  # still uncommitted: its rows stay locked
        b = store.claim(second, row.id or 0, 4)
        assert len(a) == 4 and len(b) == 2 and not {r.id for r in a} & {r.id for r in b}
        first.commit()
        second.commit()


def test_only_one_process_sends_for_the_number_at_a_time(
    engine: Engine, wa_settings: Settings, fake_graph: FakeGraph
) -> None:
    add_reachable(engine, 2)
    first, _ = service.create(engine, wa_settings, draft(wa_settings))
    second, _ = service.create(engine, wa_settings, draft(wa_settings))
    for row in (first, second):
        service.start(engine, wa_settings, row.id or 0)
    with session_scope(engine) as s:  # process A sends the first broadcast
        assert store.acquire_lease(s, first.id or 0, "A", 60)
    with session_scope(engine) as s:  # process B may not send the second one meanwhile: the limit is per number
        assert not store.acquire_lease(s, second.id or 0, "B", 60)
        assert not store.acquire_lease(s, first.id or 0, "B", 60)
    assert send_broadcast(wa_settings, engine, second.id or 0, owner="B") == "busy"
    assert fake_graph.stats()["requests"] == 0
    with session_scope(engine) as s:
        store.release_lease(s, first.id or 0, "A")
    assert send_broadcast(wa_settings, engine, second.id or 0, owner="B") == "done"
