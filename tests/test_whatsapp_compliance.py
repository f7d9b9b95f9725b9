"""WhatsApp compliance end to end (issue 14): whoever says stop is never messaged again, and the
number we know is the person we reach. Signed webhooks into the running app, broadcasts against
the fake Graph API (which answers Meta's wa_id forms and posts status webhooks back), on SQLite
and PostgreSQL."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services import contacts as contact_service
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from bot.services.inbound import parse_meta
from handlers.blocks.broadcasts import report_message
from storage.models import AuditEntry, Broadcast, Contact, Delivery, Message, Ticket
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp, app_seal, wait_until
from tests.factories import BASE, add_contact, add_ticket
from tests.fakes.graph_api import PHONE_ID, FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.test_cli import run
from tests.webhooks import APP_SECRET, contact, count, post_meta, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)

TS = 1767261600  # 2026-01-01 10:00 UTC, after BASE (the contacts' consent)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(
        db_url,
        fake_slack,
        WHATSAPP_MAX_MPS=200,
        WHATSAPP_DAILY_LIMIT=0,
        BROADCAST_CONCURRENCY=4,
        **fake_graph.env(),
    )


# --- our own webhook bodies (shapes as in Meta's examples) ----------------------------------------------

_seq = iter(range(1, 1_000_000))


def _body(field: str, value: dict[str, Any], number_id: str = PHONE_ID) -> dict[str, Any]:
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456", "phone_number_id": number_id},
        **value,
    }
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "9876543210", "changes": [{"field": field, "value": value}]}],
    }


def _message(wa_id: str, kind: str, content: dict[str, Any], ts: int = TS) -> dict[str, Any]:
    return {"from": wa_id, "id": f"wamid.compliance.{next(_seq)}", "timestamp": str(ts), "type": kind, kind: content}


def say(app: RunningApp, wa_id: str, text: str, ts: int = TS, number_id: str = PHONE_ID) -> None:
    body = _body("messages", {"messages": [_message(wa_id, "text", {"body": text}, ts)]}, number_id)
    assert post_meta(app, body).status_code == 200


def tap(app: RunningApp, wa_id: str, text: str, payload: str, ts: int = TS) -> None:
    """A template quick-reply button (Meta's `button` message), e.g. the marketing "Stop promotions"."""
    body = _body("messages", {"messages": [_message(wa_id, "button", {"text": text, "payload": payload}, ts)]})
    assert post_meta(app, body).status_code == 200


def reply(app: RunningApp, wa_id: str, title: str, ident: str, ts: int = TS) -> None:
    """An interactive reply button."""
    content = {"type": "button_reply", "button_reply": {"id": ident, "title": title}}
    assert (
        post_meta(app, _body("messages", {"messages": [_message(wa_id, "interactive", content, ts)]})).status_code
        == 200
    )


def _contact(engine: Engine, cid: int) -> Contact | None:
    with Session(engine) as s:
        return s.get(Contact, cid)


def _rows(engine: Engine, bid: int) -> dict[int, Delivery]:
    with Session(engine) as s:
        return {d.contact_id: d for d in s.scalars(select(Delivery).where(Delivery.broadcast_id == bid))}


def _audit(engine: Engine, action: str) -> list[AuditEntry]:
    with Session(engine) as s:
        return list(s.scalars(select(AuditEntry).where(AuditEntry.action == action)))


def _send(settings: Settings, engine: Engine, d: service.Draft) -> int:
    row, _ = service.create(engine, settings, d)
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)
    return row.id or 0


def _offer(settings: Settings, **kw: Any) -> service.Draft:
    """The MARKETING template of the fake."""
    params = {"header.vorname": "contact:name|Kunde", "vorname": "contact:name|Kunde", "code": "X1", "button.0": "a"}
    return draft(settings, name="angebot", params=params, **kw)


# --- 1. the opt-out is checked again when the row is claimed ------------------------------------------


def test_who_stops_after_the_audience_froze_is_skipped_with_the_reason(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph, db_url: str
) -> None:
    engine = running_app.engine
    ids = add_reachable(engine, 6)
    row, _ = service.create(engine, settings, draft(settings))
    assert service.start(engine, settings, row.id or 0) == 6  # frozen, as at confirmation or a daily-limit pause
    say(running_app, phone(1).lstrip("+"), "STOP")
    say(running_app, phone(2).lstrip("+"), "keine werbung!")
    contact_service.change(engine, ids[3], "block", "U1")
    contact_service.change(engine, ids[4], "deactivate", "U1")
    contact_service.erase(engine, ids[5], "U1")
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)

    assert fake_graph.stats()["counts"] == {phone(0): 1}
    rows = _rows(engine, row.id or 0)
    got = {cid: (d.status, d.error_title) for cid, d in rows.items()}
    assert got == {
        ids[0]: ("sent", None),
        ids[1]: ("skipped", "opted_out"),
        ids[2]: ("skipped", "opted_out"),
        ids[3]: ("skipped", "blocked"),
        ids[4]: ("skipped", "inactive"),
    }  # the erased contact's row went with it (nothing about them is kept) ...
    report = service.report(engine, row.id or 0)
    assert report.broadcast.status == "done"
    assert {(r.status, r.title): r.count for r in report.reasons} == {
        ("skipped", "opted_out"): 2,
        ("skipped", "blocked"): 1,
        ("skipped", "inactive"): 1,
        ("skipped", "erased"): 1,  # ... but the figures say one recipient was erased, so they add up to 6
    }
    status = run(db_url, "broadcast", "status", str(row.id), env={"CONTACTBOT_LANG": "en"})
    assert status.returncode == 0, status.stderr
    assert "opted_out (2)" in status.stdout and "blocked (1)" in status.stdout and "erased (1)" in status.stdout
    message = report_message(report, "de", seal=app_seal)
    assert "inzwischen gelöscht: 1" in json.dumps(message["blocks"], ensure_ascii=False)


# --- 3. what counts as stop, what re-subscribes ----------------------------------------------------------


def test_stop_words_buttons_and_start_typed_by_the_person(running_app: RunningApp) -> None:
    engine = running_app.engine
    people = {
        name: add_contact(engine, f"+49176000000{i:02d}", name, consent_at=BASE) for i, name in enumerate("ABCDEF")
    }
    wa = {name: f"49176000000{i:02d}" for i, name in enumerate("ABCDEF")}
    say(running_app, wa["A"], "Abbestellen")
    tap(running_app, wa["B"], "Stop promotions", "Stop promotions")  # Meta's marketing opt-out button
    reply(running_app, wa["C"], "Abmelden", "opt-out-1")
    say(running_app, wa["D"], "Bitte keine Werbung mehr, aber den Termin behalten")  # a sentence, not the keyword
    say(running_app, wa["E"], "unsubscribe")
    tap(running_app, wa["F"], "Mehr erfahren", "STOP")  # the payload is the template's opt-out
    out = {name: _contact(engine, cid).opted_out_at is not None for name, cid in people.items()}  # type: ignore[union-attr]
    assert out == {"A": True, "B": True, "C": True, "D": False, "E": True, "F": True}

    say(running_app, wa["A"], "Start", ts=TS + 60)  # typed: consent again, recorded
    tap(running_app, wa["B"], "START", "START", ts=TS + 60)  # a button is not the person's own words
    a, b = _contact(engine, people["A"]), _contact(engine, people["B"])
    assert a is not None and (a.opted_out_at, a.active, a.consent_source) == (None, True, "keyword")
    assert b is not None and b.opted_out_at is not None and not b.active
    [entry] = _audit(engine, "contact.opt_in")
    assert entry.object_id == str(people["A"]) and entry.detail == {"source": "keyword"}


def test_the_keyword_lists_are_configurable(db_url: str, fake_slack: FakeSlack) -> None:
    custom = webhook_settings(
        db_url, fake_slack, CONTACTBOT_OPT_OUT_KEYWORDS="Halt, Nein danke", CONTACTBOT_OPT_IN_KEYWORDS="Weiter"
    )
    body = _body(
        "messages",
        {
            "messages": [
                _message("4917600000001", "text", {"body": "nein  danke"}),
                _message("4917600000002", "text", {"body": "STOP"}),
                _message("4917600000003", "text", {"body": "weiter"}),
            ]
        },
    )
    batch = parse_meta(body, custom)
    assert [(m.opt_out, m.opt_in) for m in batch.messages] == [(True, False), (False, False), (False, True)]


def test_user_preferences_stop_opts_out_and_survives_erasure_and_return(running_app: RunningApp) -> None:
    engine = running_app.engine
    cid = add_contact(engine, "+16505551234", "Sheena", consent_at=BASE)
    pref = {
        "wa_id": "16505551234",
        "detail": "User requested to stop marketing messages",
        "category": "marketing_messages",
        "value": "stop",
        "timestamp": TS,
    }
    assert post_meta(running_app, _body("user_preferences", {"user_preferences": [pref]})).status_code == 200
    gone = _contact(engine, cid)
    assert gone is not None and gone.opted_out_at is not None and not gone.active
    contact_service.erase(engine, cid, "U1")
    say(running_app, "16505551234", "Hallo, ich bin wieder da", ts=TS + 3600)  # writes in later: a new contact
    back = contact(engine, "+16505551234")
    assert back is not None and back.name is None  # a new contact: nothing of the old one is left
    assert back.opted_out_at is not None and not back.active  # the objection outlived the erasure


# --- 2. failed statuses change the contact / the broadcast --------------------------------------------


def _webhook(app: RunningApp, fake: FakeGraph, rules: dict[str, list[dict[str, Any]]]) -> None:
    fake.configure(
        webhook={"url": f"{app.url}/whatsapp/webhook", "secret": APP_SECRET, "statuses": ["sent"]}, rules=rules
    )


def test_131050_in_a_status_stops_marketing_for_good_but_not_utility(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph, db_url: str, tmp_path: Path
) -> None:
    engine = running_app.engine
    ids = add_reachable(engine, 3)
    _webhook(running_app, fake_graph, {phone(1): [{"statuses": ["sent", {"status": "failed", "code": 131050}]}]})
    first = _send(settings, engine, _offer(settings))
    wait_until(lambda: _contact(engine, ids[1]).marketing_opted_out_at is not None, "131050 applied")  # type: ignore[union-attr]
    assert _rows(engine, first)[ids[1]].status == "failed"
    marked = _contact(engine, ids[1])
    assert marked is not None and marked.opted_out_at is None and marked.active  # utility still allowed

    fake_graph.configure(reset=True)
    second = _send(settings, engine, _offer(settings, request_key="offer-2"))
    assert _rows(engine, second)[ids[1]].error_title == "opted_out"
    utility = _send(settings, engine, draft(settings, request_key="reminder"))
    assert _rows(engine, utility)[ids[1]].status == "sent"
    assert fake_graph.stats()["counts"] == {phone(0): 2, phone(1): 1, phone(2): 2}

    # delete and re-import: the marketing stop comes back with the number
    contact_service.erase(engine, ids[1], "U1")
    path = tmp_path / "reimport.csv"
    path.write_text(f"Nummer,Name\n{phone(1)},Kunde 1\n", encoding="utf-8")
    imported = run(db_url, "import", str(path), "--consent-confirmed")
    assert imported.returncode == 0, imported.stderr + imported.stdout
    again = contact(engine, phone(1))
    assert again is not None and again.marketing_opted_out_at is not None


def test_repeated_131026_leaves_the_number_out_until_it_writes_again(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph
) -> None:
    engine = running_app.engine
    ids = add_reachable(engine, 2)
    failed = {"statuses": [{"status": "failed", "code": 131026}]}
    _webhook(running_app, fake_graph, {phone(1): [failed, failed]})
    for key in ("r1", "r2"):
        _send(settings, engine, draft(settings, request_key=key))
    wait_until(lambda: _contact(engine, ids[1]).undeliverable_count == 2, "two 131026 counted")  # type: ignore[union-attr]
    sent_before = fake_graph.stats()["counts"].get(phone(1), 0)
    third = _send(settings, engine, draft(settings, request_key="r3"))
    assert _rows(engine, third)[ids[1]].error_title == "undeliverable"
    assert fake_graph.stats()["counts"].get(phone(1), 0) == sent_before  # the third broadcast sent it nothing

    say(running_app, phone(1).lstrip("+"), "Hallo, neues Handy", ts=int(time.time()))
    fourth = _send(settings, engine, draft(settings, request_key="r4"))
    assert _rows(engine, fourth)[ids[1]].status == "sent"


def test_an_account_level_code_in_a_status_stops_the_broadcast(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph
) -> None:
    engine = running_app.engine
    add_reachable(engine, 40)
    fatal = {"statuses": [{"status": "failed", "code": 131048}]}
    _webhook(running_app, fake_graph, {phone(0): [fatal]})
    slow = settings.model_copy(update={"whatsapp_max_mps": 4})
    bid = _send(slow, engine, draft(slow))
    with Session(engine) as s:
        row = s.get(Broadcast, bid)
    assert row is not None and (row.status, row.stop_code) == ("stopped", 131048)
    assert fake_graph.stats()["accepted"] < 40
    [entry] = _audit(engine, "broadcast.stopped")
    assert entry.object_id == str(bid) and entry.detail == {"code": 131048}


# --- 4. the wa_id is the person ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("number", "wa_id"),
    [("+525512345678", "5215512345678"), ("+5511987654321", "551187654321"), ("+541112345678", "5491112345678")],
    ids=["mexico", "brazil", "argentina"],
)
def test_the_reply_from_metas_wa_id_reaches_the_imported_contact(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph, number: str, wa_id: str
) -> None:
    engine = running_app.engine
    cid = add_contact(engine, number, "Importiert", consent_at=BASE)
    _send(settings, engine, draft(settings))
    assert fake_graph.stats()["counts"] == {number: 1}
    learned = _contact(engine, cid)
    assert learned is not None and learned.wa_id == wa_id  # from the send response's contacts[0].wa_id

    say(running_app, wa_id, "STOP", ts=int(time.time()))
    assert count(engine, Contact) == 1  # no second contact for the same person
    person = _contact(engine, cid)
    assert person is not None and person.opted_out_at is not None
    assert [m.contact_id for m in _messages(engine)] == [cid]


@pytest.mark.parametrize(
    ("number", "wa_id"),
    [("+525512345678", "5215512345678"), ("+5511987654321", "551187654321"), ("+541112345678", "5491112345678")],
    ids=["mexico", "brazil", "argentina"],
)
def test_a_first_message_in_the_other_form_finds_the_contact(running_app: RunningApp, number: str, wa_id: str) -> None:
    cid = add_contact(running_app.engine, number, "Importiert", consent_at=BASE)
    say(running_app, wa_id, "Hallo")
    assert count(running_app.engine, Contact) == 1
    person = _contact(running_app.engine, cid)
    assert person is not None and person.wa_id == wa_id and person.phone == number


def _messages(engine: Engine) -> list[Message]:
    with Session(engine) as s:
        return list(s.scalars(select(Message).order_by(Message.id)))


# --- 5. user_changed_number ------------------------------------------------------------------------------


def _changed(app: RunningApp, old: str, new: str, ts: int = TS) -> None:
    system = {"body": f"User changed from {old} to {new}", "wa_id": new, "type": "user_changed_number"}
    assert post_meta(app, _body("messages", {"messages": [_message(old, "system", system, ts)]})).status_code == 200


def test_a_changed_number_moves_the_contact_and_the_old_number_gets_nothing(
    running_app: RunningApp, settings: Settings, fake_graph: FakeGraph
) -> None:
    engine = running_app.engine
    cid = add_contact(engine, "+4917611110000", "Umzug", consent_at=BASE)
    add_ticket(engine, cid, ["alte Nachricht"], status="closed")
    row, _ = service.create(engine, settings, draft(settings))
    service.start(engine, settings, row.id or 0)  # frozen with the old number
    _changed(running_app, "4917611110000", "4917622220000")
    Runner(settings, engine).run_forever(poll=0.05, until_idle=True)

    assert fake_graph.stats()["counts"] == {"+4917622220000": 1}  # never the old number
    moved = _contact(engine, cid)
    assert moved is not None and (moved.phone, moved.name, moved.consent_at) == ("+4917622220000", "Umzug", BASE)
    assert contact(engine, "+4917611110000") is None
    with Session(engine) as s:
        assert {t.contact_id for t in s.scalars(select(Ticket))} == {cid}
    [entry] = _audit(engine, "contact.number_changed")
    assert entry.object_id == str(cid) and entry.detail == {"merged_from": None}


def test_a_changed_number_that_is_already_a_contact_is_merged(running_app: RunningApp) -> None:
    engine = running_app.engine
    old = add_contact(engine, "+4917633330000", "Alt", consent_at=BASE)
    new = add_contact(engine, "+4917644440000", None, opted_out_at=BASE, active=False)
    add_ticket(engine, old, ["vom alten Handy"], status="closed")
    add_ticket(engine, new, ["vom neuen Handy"])
    _changed(running_app, "4917633330000", "4917644440000")
    assert count(engine, Contact) == 1
    kept = _contact(engine, old)
    assert kept is not None and kept.phone == "+4917644440000" and kept.name == "Alt"
    assert kept.opted_out_at == BASE and not kept.active  # restrictions add up
    with Session(engine) as s:
        assert {t.contact_id for t in s.scalars(select(Ticket))} == {old}
        assert s.scalars(select(Ticket).where(Ticket.status == "open")).all()  # the newer chat is still open
    [entry] = _audit(engine, "contact.number_changed")
    assert entry.detail == {"merged_from": new}


# --- 6. other numbers of the business account -------------------------------------------------------------


def _other_number_count(app: RunningApp) -> float:
    """The metric as Prometheus scrapes it (a process-wide counter: compare before and after)."""
    for line in app.http.get(f"{app.url}/metrics").text.splitlines():
        if line.startswith("contactbot_webhook_other_number_changes_total "):
            return float(line.split()[1])
    raise AssertionError("metric missing")


def test_messages_to_another_number_of_the_account_are_acknowledged_not_stored(running_app: RunningApp) -> None:
    before = _other_number_count(running_app)
    say(running_app, "4917655550000", "Hallo Filiale Süd", number_id="111222333444")
    assert count(running_app.engine, Contact) == count(running_app.engine, Message) == 0
    assert _other_number_count(running_app) == before + 1
    say(running_app, "4917655550000", "Hallo Zentrale")
    assert count(running_app.engine, Contact) == 1


def test_a_failed_status_for_a_known_message_applies_once(running_app: RunningApp) -> None:
    """The direct path (the message id is already ours when the status comes); redelivery counts once."""
    engine = running_app.engine
    cid = add_contact(engine, "+4917677770000", "Einzeln", consent_at=BASE)
    with engine.begin() as conn:
        conn.execute(
            Message.__table__.insert(),  # type: ignore[attr-defined]
            {"contact_id": cid, "direction": "out", "kind": "text", "text": "Hi", "wa_message_id": "wamid.known.1"},
        )
    failed = {
        "id": "wamid.known.1",
        "status": "failed",
        "timestamp": str(TS),
        "recipient_id": "4917677770000",
        "errors": [{"code": 131026, "title": "Message undeliverable"}],
    }
    for _ in range(2):
        assert post_meta(running_app, _body("messages", {"statuses": [failed]})).status_code == 200
    person = _contact(engine, cid)
    assert person is not None and person.undeliverable_count == 1
