"""A failed status counts once per message (issue 21), whoever applies it and however often Meta sends it.

Two transactions may apply the same failed status at the same moment: two inbox consumers (Meta sent
the status twice, in two requests), or the inbox consumer and the broadcast sender settling the same
status that arrived before its message id was known. Either way the contact's `undeliverable_count`
(two 131026 in a row leave the number out of broadcasts) must go up by one, not two.

The race needs PostgreSQL's row locks to be held open deterministically (SQLite lets one writer in at a
time, so its transactions never overlap): the first transaction applies and stays open, the second
starts and waits for a lock, then the first commits.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services import inbound
from storage import early_status
from storage.db import make_engine, session_scope
from storage.message_status import StatusUpdate
from storage.models import Contact, Message
from tests.conftest import PG_URL, wait_until
from tests.factories import add_contact, add_ticket
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import BASE_TS, meta_body, webhook_settings

pytestmark = pytest.mark.skipif(not PG_URL, reason="needs PostgreSQL (CONTACTBOT_TEST_DATABASE_URL) to hold row locks")


def _undeliverable(settings: Settings, wamid: str) -> list[StatusUpdate]:
    """Meta's failed status with 131026 ("Message undeliverable"), parsed as the consumer parses it."""
    status = {
        "id": wamid,
        "status": "failed",
        "timestamp": str(BASE_TS),
        "recipient_id": "4915100000001",
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    return inbound.parse_meta(meta_body(statuses=[status]), settings).statuses


def _count(engine: Engine, contact_id: int) -> int:
    with Session(engine) as s:
        row = s.get(Contact, contact_id)
        assert row is not None
        return row.undeliverable_count


def _waiting_on_lock(engine: Engine) -> bool:
    with engine.connect() as conn:
        waiting = conn.execute(
            text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()"
            )
        ).scalar()
    return bool(waiting)


def _at_once(engine: Engine, first: Callable[[Session], object], second: Callable[[Session], object]) -> None:
    """`first` applies and stays uncommitted until `second` (another connection) waits for its locks."""
    other = make_engine(str(engine.url.render_as_string(hide_password=False)))
    errors: list[BaseException] = []

    def run_second() -> None:
        try:
            with session_scope(other) as session:
                second(session)
        except BaseException as exc:  # noqa: BLE001 - handed to the test thread
            errors.append(exc)

    try:
        with session_scope(engine) as session:
            first(session)
            thread = threading.Thread(target=run_second)
            thread.start()
            wait_until(lambda: _waiting_on_lock(engine) or not thread.is_alive(), "the second never started")
        thread.join()
    finally:
        other.dispose()
    assert not errors, errors


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    if not db_url.startswith("postgresql"):
        pytest.skip("the overlap of two write transactions needs PostgreSQL")
    return webhook_settings(db_url, fake_slack)


def test_a_failed_status_sent_twice_and_applied_at_once_counts_once(settings: Settings, engine: Engine) -> None:
    contact_id = add_contact(engine, "+4915100000001")
    add_ticket(engine, contact_id, ["Hallo?", "Ihr Termin morgen"])  # the second is ours: wamid.<id>.1
    failed = _undeliverable(settings, f"wamid.{contact_id}.1")

    def apply(session: Session) -> object:
        return inbound.apply_in(session, [], [], failed, "whatsapp")

    _at_once(engine, apply, apply)
    assert _count(engine, contact_id) == 1
    with Session(engine) as s:
        assert (
            s.scalars(select(Message.status).where(Message.wa_message_id == f"wamid.{contact_id}.1")).one() == "failed"
        )


def test_an_early_failed_status_settled_by_consumer_and_sender_at_once_counts_once(
    settings: Settings, engine: Engine
) -> None:
    """The status came before the sender wrote the message id (kept as early); then both sides settle it."""
    contact_id = add_contact(engine, "+4915100000001")
    add_ticket(engine, contact_id, ["Hallo?"])
    wamid = "wamid.sent.just.now"
    with session_scope(engine) as session:
        assert early_status.keep_unmatched(session, _undeliverable(settings, wamid)) == [wamid]
    with engine.begin() as conn:  # the sender writes the id it was answered with
        conn.execute(
            insert(Message.__table__),  # type: ignore[attr-defined]
            {"contact_id": contact_id, "direction": "out", "kind": "template", "wa_message_id": wamid},
        )

    def settle(session: Session) -> object:
        return early_status.settle(session, [wamid])

    _at_once(engine, settle, settle)
    assert _count(engine, contact_id) == 1
