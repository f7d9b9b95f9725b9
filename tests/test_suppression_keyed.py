"""The suppression list (opt-outs that outlive erasure) holds keyed hashes, so it cannot be read back into numbers.

A plain SHA-256 of a phone number is reversed by hashing every number of a country (a few billion candidates);
with CONTACTBOT_SUPPRESSION_KEY set, entries are HMACs under that key. Entries an older version wrote unkeyed
cannot be re-keyed without the numbers, so they are still honoured and removed on a typed START.
Through the real server: the webhook, the erasure and the return of the number.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.domain.wa_ids import equivalent_forms
from bot.services import contacts as contact_service
from storage.db import session_scope
from storage.models import Suppression
from tests.conftest import RunningApp
from tests.factories import BASE, add_contact
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.test_whatsapp_compliance import TS, say
from tests.webhooks import contact, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
KEY = "a-deployment-secret-of-some-length"


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, CONTACTBOT_SUPPRESSION_KEY=KEY, **fake_graph.env())


def _unkeyed(number: str) -> set[str]:
    """What anyone can compute from a number: the plain SHA-256 the list used to hold."""
    return {hashlib.sha256(f"contactbot-suppression:{f}".encode()).hexdigest() for f in equivalent_forms(number)}


def _stored(engine: Engine) -> set[str]:
    with Session(engine) as s:
        return set(s.scalars(select(Suppression.phone_hash)))


def test_a_stop_is_kept_under_a_keyed_hash_and_outlives_erasure(running_app: RunningApp) -> None:
    engine = running_app.engine
    cid = add_contact(engine, "+4917612345678", "Sina", consent_at=BASE)
    say(running_app, "4917612345678", "STOP")
    stored = _stored(engine)
    assert stored and not stored & _unkeyed("+4917612345678")  # nothing a dictionary of numbers would find
    contact_service.erase(engine, cid, "U1")
    say(running_app, "4917612345678", "Hallo, ich bin wieder da", ts=TS + 3600)
    back = contact(engine, "+4917612345678")
    assert back is not None and back.opted_out_at is not None and not back.active


def test_an_unkeyed_entry_from_before_the_key_is_still_honoured_and_start_removes_it(
    running_app: RunningApp,
) -> None:
    engine = running_app.engine
    old = _unkeyed("+4917687654321")
    with session_scope(engine) as s:  # written by a version without the key
        for h in old:
            s.add(Suppression(phone_hash=h, opted_out_at=datetime(2025, 6, 1, tzinfo=UTC), updated_at=BASE))
    say(running_app, "4917687654321", "Hallo")  # the number writes in: a new contact, opted out as it left
    returned = contact(engine, "+4917687654321")
    assert returned is not None and returned.opted_out_at is not None and not returned.active
    say(running_app, "4917687654321", "START", ts=TS + 60)  # typed by the person: consent again
    assert not _stored(engine) & old
