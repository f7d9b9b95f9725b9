"""The webhook inbox (issue 21): WhatsApp webhooks are acknowledged once stored and applied in batches by
consumers in every web process; under concurrent load every message and status is applied exactly once,
nothing is lost when a consumer dies mid-batch, and customers' messages go before a backlog of statuses."""

from __future__ import annotations

import json
import random
import signal
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select, text
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services import webhook_inbox
from bot.web.server import create_asgi
from storage import webhook_inbox as inbox_store
from storage.db import make_engine
from storage.models import Contact, Message, Ticket
from tests import serve_process
from tests.conftest import PG_URL, RunningApp, serving, wait_until
from tests.factories import add_contact, add_ticket
from tests.fakes.slack_api import FakeSlack
from tests.test_webhook_tickets import _ticket_modal
from tests.webhooks import (
    APP_SECRET,
    BASE_TS,
    INBOUND_SECRET,
    VERIFY_TOKEN,
    count,
    meta_body,
    post_meta,
    sign,
    text_message,
    wait_applied,
    webhook_settings,
)

CUSTOMERS = 30
MESSAGES_EACH = 3
OUTGOING = 40
STATUSES = ("sent", "delivered", "read")


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return webhook_settings(db_url, fake_slack)


def _wa(i: int) -> str:
    return f"49176{i:08d}"


def _outgoing(engine: object) -> list[str]:
    """OUTGOING messages we sent (one per contact), whose statuses Meta will report."""
    ids = []
    for i in range(OUTGOING):
        cid = add_contact(engine, f"+49151{i:08d}")  # type: ignore[arg-type]
        add_ticket(engine, cid, ["Hallo?", "Ihre Bestellung ist unterwegs."])  # type: ignore[arg-type]
        ids.append(f"wamid.{cid}.1")  # the second, outgoing message (tests/factories.py)
    return ids


def _bodies(out_ids: list[str]) -> list[bytes]:
    """One body per request, as Meta mostly sends them: customers' messages and every status, shuffled."""
    bodies = [
        meta_body([text_message(_wa(c), f"wamid.in.{c}.{n}", f"Frage {n}", BASE_TS + n)], names={_wa(c): f"Kunde {c}"})
        for c in range(CUSTOMERS)
        for n in range(MESSAGES_EACH)
    ]
    bodies += [
        meta_body(statuses=[{"id": wamid, "status": status, "timestamp": str(BASE_TS + r), "recipient_id": "4915"}])
        for wamid in out_ids
        for r, status in enumerate(STATUSES)
    ]
    random.Random(21).shuffle(bodies)
    return [json.dumps(b).encode() for b in bodies]


def _post(http: httpx.Client, url: str, body: bytes) -> int:
    headers = {"Content-Type": "application/json", "X-Hub-Signature-256": sign(body)}
    return http.post(f"{url}/whatsapp/webhook", content=body, headers=headers).status_code


def _applied_once(engine: object, out_ids: list[str]) -> None:
    """What the user sees: every customer's messages on one open ticket, every sent message read."""
    with Session(engine) as s:  # type: ignore[arg-type]
        incoming = s.scalars(select(Message).where(Message.direction == "in", Message.wa_message_id.like("wamid.in.%")))
        assert len(list(incoming)) == CUSTOMERS * MESSAGES_EACH
        counts = s.execute(
            select(Ticket.message_count)
            .join(Contact, Contact.id == Ticket.contact_id)
            .where(Contact.phone.like("+49176%"))
        ).scalars()
        assert sorted(counts) == [MESSAGES_EACH] * CUSTOMERS  # one ticket each, every message counted once
        states = s.scalars(select(Message.status).where(Message.wa_message_id.in_(out_ids)))
        assert list(states) == ["read"] * OUTGOING


def test_every_message_and_status_is_applied_exactly_once_by_concurrent_consumers(settings: Settings) -> None:
    """One web server (with its own consumer) and two more consumers, each with its own engine like another
    web process; one of them is stopped half-way and a new one started (a restart)."""
    engine = make_engine(settings.database_url)
    out_ids = _outgoing(engine)
    bodies = _bodies(out_ids)
    asgi = create_asgi(settings, engine, None)
    others = [webhook_inbox.Consumer(make_engine(settings.database_url), settings, batch=20) for _ in range(2)]
    for consumer in others:
        consumer.start()
    restarted: list[webhook_inbox.Consumer] = []
    with serving(asgi) as url, httpx.Client(timeout=30) as http, ThreadPoolExecutor(16) as pool:
        half = len(bodies) // 2
        assert set(pool.map(lambda b: _post(http, url, b), bodies[:half])) == {200}
        others[0].stop()  # a consumer goes away while requests keep coming
        restarted.append(webhook_inbox.Consumer(make_engine(settings.database_url), settings, batch=20))
        restarted[0].start()
        assert set(pool.map(lambda b: _post(http, url, b), bodies[half:])) == {200}
        wait_applied(engine)
        consumers = [asgi.state.inbox_consumer, *others, *restarted]
    for consumer in [*others, *restarted]:
        consumer.stop()
    total = webhook_inbox.Applied()
    for consumer in consumers:
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(consumer.applied, name))
    assert total == webhook_inbox.Applied(
        bodies=len(bodies), stored=CUSTOMERS * MESSAGES_EACH, duplicates=0, statuses=OUTGOING * len(STATUSES)
    )
    _applied_once(engine, out_ids)


def test_customers_messages_are_applied_before_a_backlog_of_statuses(settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    out_ids = _outgoing(engine)
    statuses = [
        json.dumps(meta_body(statuses=[{"id": i, "status": "read", "timestamp": str(BASE_TS)}])).encode()
        for i in out_ids[:5]
    ]
    backlog = [(body, webhook_inbox.priority(json.loads(body))) for body in statuses]
    message = json.dumps(meta_body([text_message(_wa(1), "wamid.in.late", "Hallo, jemand da?")])).encode()
    webhook_inbox.accept(engine, [*backlog, (message, webhook_inbox.priority(json.loads(message)))])
    done = webhook_inbox.apply_pending(engine, settings, limit=1)  # the last to arrive, the first applied
    assert (done.bodies, done.stored, done.statuses) == (1, 1, 0)
    assert inbox_store.pending(engine) == 5
    with Session(engine) as s:
        assert list(s.scalars(select(Message.text).where(Message.wa_message_id == "wamid.in.late"))) == [
            "Hallo, jemand da?"
        ]
        assert set(s.scalars(select(Message.status).where(Message.wa_message_id.in_(out_ids)))) == {None}


def test_a_customers_reply_shows_in_slack_once_consumed(running_app: RunningApp) -> None:
    body = meta_body([text_message(_wa(7), "wamid.in.slack", "Wo bleibt mein Paket?")], names={_wa(7): "Erika"})
    assert post_meta(running_app, body).status_code == 200  # answered, then applied by the consumer
    customer = _contact_id(running_app, "+" + _wa(7))
    shown = json.dumps(_ticket_modal(running_app, customer), ensure_ascii=False)
    assert "Wo bleibt mein Paket?" in shown


def _contact_id(app: RunningApp, phone: str) -> int:
    with Session(app.engine) as s:
        return int(s.scalars(select(Contact.id).where(Contact.phone == phone)).one())


@pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CONTACTBOT_TEST_DATABASE_URL) to hold a row lock")
def test_nothing_is_lost_when_the_process_dies_mid_batch(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> None:
    """`serve` is killed (SIGKILL) while its consumer is inside a batch; the next `serve` applies it all."""
    if not db_url.startswith("postgresql"):
        pytest.skip("the row lock that holds the consumer mid-batch is PostgreSQL's")
    engine = make_engine(db_url)
    out_ids = _outgoing(engine)
    bodies = _bodies(out_ids)
    env = {"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN}
    env["CONTACTBOT_INBOUND_SECRET"] = INBOUND_SECRET
    with engine.connect() as holder:
        holder.execute(text("SELECT id FROM message WHERE wa_message_id = :w FOR UPDATE"), {"w": out_ids[0]})
        proc = serve_process.serve(db_url, fake_slack, tmp_path / "first.log", **env)
        try:
            with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
                assert set(pool.map(lambda b: _post(http, proc.url, b), bodies)) == {200}
            # its consumer took a batch containing the locked message's status and waits inside it
            wait_until(lambda: _waiting_on_lock(engine), "the consumer never reached the locked row")
        finally:
            proc.proc.send_signal(signal.SIGKILL)
            proc.proc.wait()
        holder.rollback()
    assert inbox_store.pending(engine) > 0  # the batch in hand rolled back: its bodies are still there
    proc = serve_process.serve(db_url, fake_slack, tmp_path / "second.log", **env)
    try:
        wait_applied(engine)
    finally:
        assert proc.stop() == 0
    _applied_once(engine, out_ids)
    assert count(engine, Message) == CUSTOMERS * MESSAGES_EACH + 2 * OUTGOING


def _waiting_on_lock(engine: object) -> bool:
    with engine.connect() as conn:  # type: ignore[attr-defined]
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def test_nothing_is_lost_when_a_web_process_is_killed_mid_stream(
    db_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    """Two `serve` processes take the stream (signed requests, as through a load balancer); one is killed
    (SIGKILL) while requests keep coming and is started again. Like Meta, a request that got no 200 is sent
    again (here: to the next process). Every message and status is applied exactly once."""
    engine = make_engine(db_url)
    out_ids = _outgoing(engine)
    bodies = _bodies(out_ids)
    env = {"WHATSAPP_APP_SECRET": APP_SECRET, "WHATSAPP_VERIFY_TOKEN": VERIFY_TOKEN}
    procs = [serve_process.serve(db_url, fake_slack, tmp_path / f"web{i}.log", **env) for i in range(2)]
    targets = [p.url for p in procs]

    def deliver(i: int, body: bytes) -> None:
        for attempt in range(200):  # Meta retries for days; a test needs a bound only against hanging
            try:
                if _post(http, targets[(i + attempt) % len(targets)], body) == 200:
                    return
            except httpx.TransportError:
                pass
        raise AssertionError("a webhook was never acknowledged")

    try:
        with httpx.Client(timeout=30) as http, ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(deliver, i, body) for i, body in enumerate(bodies)]
            wait_until(lambda: sum(f.done() for f in futures) >= len(bodies) // 3, "a third delivered")
            procs[0].proc.send_signal(signal.SIGKILL)  # mid-stream: requests to it fail and go to the other
            procs[0].proc.wait()
            procs[0] = serve_process.serve(db_url, fake_slack, tmp_path / "web0-again.log", **env)
            targets[0] = procs[0].url
            for future in futures:
                future.result()
        wait_applied(engine)
    finally:
        for p in procs:
            p.stop()
    _applied_once(engine, out_ids)
    assert count(engine, Message) == CUSTOMERS * MESSAGES_EACH + 2 * OUTGOING
