"""A contact's history (issue 18): every template sent (name, text, sent → delivered → read / failed with the
reason, from the real sender and the status webhooks the fake Graph API posts back), inbound messages, newest
first, paged by keyset; on the card, in the last-ticket modal and from `contactbot contacts history`."""

from __future__ import annotations

import json
import re
import time
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import insert, select

from bot.cli import main
from bot.config.settings import Settings
from bot.services import contacts as contacts_service
from bot.services import history
from bot.services.broadcasts import service
from bot.services.broadcasts.sender import Runner
from storage.db import Session
from storage.models import Broadcast, Delivery, Message, Suppression, table_of
from tests.blockkit import check_blocks
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import RunningApp, block_actions
from tests.factories import BASE
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.test_webhook_tickets import _ticket_modal
from tests.webhooks import APP_SECRET, count, meta_body, post_meta, wait_applied, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _say(app: RunningApp, number: str, text: str, wamid: str, ts: int) -> None:
    message = {"from": number.lstrip("+"), "id": wamid, "timestamp": str(ts), "type": "text", "text": {"body": text}}
    assert post_meta(app, meta_body(messages=[message], names={number.lstrip("+"): "Kunde"})).status_code == 200


def _broadcast_with_statuses(app: RunningApp, fake_graph: FakeGraph) -> list[int]:
    """Two contacts get `termin_erinnerung`: the first reads it, the second's fails (131049) after `sent`."""
    ids = add_reachable(app.engine, 2)
    fake_graph.configure(
        webhook={
            "url": f"{app.url}/whatsapp/webhook",
            "secret": APP_SECRET,
            "statuses": ["sent", "delivered", "read"],
            "after": True,  # as Meta: the statuses follow the send's answer
        },
        rules={phone(1): [{"statuses": ["sent", {"status": "failed", "code": 131049}]}]},
    )
    service.create(app.engine, app.settings, draft(app.settings))
    Runner(app.settings, app.engine).run_forever(poll=0.05, until_idle=True)
    _wait_for(lambda: _statuses(app) == {phone(0): "read", phone(1): "failed"})
    return ids


def _statuses(app: RunningApp) -> dict[str, str]:
    wait_applied(app.engine)
    with Session(app.engine) as s:
        return {d.phone: d.status for d in s.scalars(select(Delivery))}


def _wait_for(check: Any, timeout: float = 60.0) -> None:  # a hang guard, not a time bound
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "condition not reached"
        time.sleep(0.02)


def _steps(text: str) -> list[str]:
    """The status words in the order they are written."""
    return re.findall(r"\b(gesendet|zugestellt|gelesen|fehlgeschlagen)\b", text)


def test_history_after_a_broadcast_with_status_webhooks_on_the_card_and_in_the_cli(
    running_app: RunningApp, fake_graph: FakeGraph, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture
) -> None:
    first, second = _broadcast_with_statuses(running_app, fake_graph)
    _say(running_app, phone(0), "Danke, ich komme!", "wamid.IN.history.1", int(time.time()) + 120)

    page = history.page(running_app.engine, first)
    assert [(e.kind, e.direction) for e in page.events] == [("text", "in"), ("template", "out")]
    sent = page.events[1]
    assert sent.template == "termin_erinnerung" and sent.text is not None and "Kunde 0" in sent.text
    assert "{{" not in sent.text and "Montag" in sent.text  # the text as the contact read it
    steps = sent.timeline()
    assert [name for name, _ in steps] == ["sent", "delivered", "read"]
    assert [when for _, when in steps] == sorted(when for _, when in steps)
    failed = history.page(running_app.engine, second).events[0]
    assert [name for name, _ in failed.timeline()] == ["sent", "failed"] and failed.error_code == 131049

    running_app.command(phone(0))  # the card: `/contacts +49171...`
    card = running_app.fake.wait_for("response_url")[-1].body
    check_blocks(card["blocks"])
    section = next(b for b in card["blocks"] if b.get("block_id", "").endswith("|history"))["text"]["text"]
    assert "Vorlage *termin_erinnerung* (de)" in section and "Danke, ich komme!" in section
    assert section.index("Danke, ich komme!") < section.index("termin_erinnerung")  # newest first
    assert _steps(section.split("termin_erinnerung", 1)[1]) == ["gesendet", "zugestellt", "gelesen"]
    assert "<!date^" in section  # each step's time in the reader's own time zone

    running_app.fake.clear()
    running_app.command(phone(1))
    other = running_app.fake.wait_for("response_url")[-1].body
    text = next(b for b in other["blocks"] if b.get("block_id", "").endswith("|history"))["text"]["text"]
    assert _steps(text.split("termin_erinnerung", 1)[1]) == ["gesendet", "fehlgeschlagen"] and "(131049)" in text

    monkeypatch.setenv("DATABASE_URL", running_app.settings.database_url)
    monkeypatch.setenv("CONTACTBOT_LANG", "de")
    assert main(["contacts", "history", phone(0)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0].startswith("Verlauf von Kunde 0")
    template_line = next(i for i, line in enumerate(lines) if "Vorlage termin_erinnerung (de) · Broadcast #1" in line)
    assert "Danke, ich komme!" in lines[template_line - 1]  # the reply came later: above
    assert "Kunde 0" in lines[template_line + 1]  # the text as sent
    timeline = lines[template_line + 2]
    assert _steps(timeline) == ["gesendet", "zugestellt", "gelesen"] and " → " in timeline
    assert re.search(r"gesendet \d{4}-\d\d-\d\d \d\d:\d\d:\d\d[+-]\d\d:\d\d", timeline)  # ISO, local zone
    assert main(["contacts", "history", phone(1), "--json"]) == 0
    events = json.loads(capsys.readouterr().out)["events"]
    assert events[0]["template"] == "termin_erinnerung" and events[0]["error_code"] == 131049
    assert [s["status"] for s in events[0]["timeline"]] == ["sent", "failed"]


def test_erasure_removes_the_history_and_keeps_the_opt_out(running_app: RunningApp, fake_graph: FakeGraph) -> None:
    _, second = _broadcast_with_statuses(running_app, fake_graph)
    _say(running_app, phone(1), "STOP", "wamid.IN.history.stop", int(time.time()) + 60)
    assert history.page(running_app.engine, second).events  # the template, the STOP
    assert count(running_app.engine, Suppression) == 1

    contacts_service.erase(running_app.engine, second, "cli:test")
    assert count(running_app.engine, Delivery, Delivery.contact_id == second) == 0
    assert count(running_app.engine, Message, Message.contact_id == second) == 0
    with pytest.raises(contacts_service.NotFound):
        history.page(running_app.engine, second)
    assert count(running_app.engine, Suppression) == 1  # opt-outs stay, history goes
    assert count(running_app.engine, Delivery) == 1  # the other contact's template is untouched


def _fill(engine: Any, cid: int, n: int) -> None:
    """n deliveries and n messages for one contact, in pairs at the same instant (ties across both tables)."""
    base = BASE + timedelta(days=30)
    with engine.begin() as conn:
        conn.execute(
            insert(table_of(Message)),
            [
                {
                    "contact_id": cid,
                    "direction": "in",
                    "kind": "text",
                    "text": f"m{i}",
                    "sent_at": base + timedelta(minutes=i // 2),
                }
                for i in range(n)
            ],
        )
    # one broadcast per delivery: a contact gets a broadcast's template once
    with engine.begin() as conn:
        ids = [
            conn.execute(
                insert(table_of(Broadcast)).returning(table_of(Broadcast).c.id),
                {
                    "template": f"vorlage_{i}",
                    "language": "de",
                    "template_def": {},
                    "params": {},
                    "audience": {},
                    "excluded": {},
                    "status": "done",
                    "created_by": "cli:test",
                    "report_lang": "de",
                    "total": 1,
                    "created_at": base,
                    "updated_at": base,
                },
            ).scalar_one()
            for i in range(n)
        ]
        conn.execute(
            insert(table_of(Delivery)),
            [
                {
                    "broadcast_id": bid,
                    "contact_id": cid,
                    "phone": "+4917100000000",
                    "status": "sent",
                    "attempts": 1,
                    "claimed_at": base + timedelta(minutes=i // 2),
                    "sent_at": base + timedelta(minutes=i // 2),
                    "updated_at": base,
                    "text": f"d{i}",
                }
                for i, bid in enumerate(ids)
            ],
        )


def test_history_pages_by_keyset_without_gaps_or_repeats(running_app: RunningApp) -> None:
    [cid] = add_reachable(running_app.engine, 1)
    _fill(running_app.engine, cid, 11)
    seen: list[str] = []
    cursor = None
    pages = 0
    while True:
        page = history.page(running_app.engine, cid, cursor, 4)
        seen += [e.text or "" for e in page.events]
        pages += 1
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    everything = history.page(running_app.engine, cid, None, 100).events
    assert seen == [e.text for e in everything] and len(seen) == 22 and len(set(seen)) == 22
    assert pages == 6
    assert [e.at for e in everything] == sorted((e.at for e in everything), reverse=True)
    # At the same instant a template comes before a message, both newest id first.
    assert seen[:6] == ["d10", "m10", "d9", "d8", "m9", "m8"]


def test_the_ticket_modal_pages_the_history_with_older_and_newest(running_app: RunningApp) -> None:
    [cid] = add_reachable(running_app.engine, 1)
    _fill(running_app.engine, cid, 4)
    view = _ticket_modal(running_app, cid)
    shown = json.dumps(view, ensure_ascii=False)
    assert "vorlage_3" in shown and "vorlage_0" not in shown  # the newest page (5 of 8)
    older = next(e for b in view["blocks"] for e in b.get("elements", []) if e.get("action_id") == "ticket_history")

    running_app.fake.clear()
    payload = block_actions(
        {**older, "block_id": "history_nav", "action_ts": str(time.time())},
        container={"type": "view", "view_id": "V1"},
    )
    payload["view"] = {**view, "id": "V1", "team_id": "T111", "state": {"values": {}}, "hash": "1.a", "app_id": "A111"}
    payload.pop("channel"), payload.pop("response_url")
    assert running_app.interact(payload).status_code == 200
    update = running_app.fake.wait_for("views.update")[0].body
    assert update["view_id"] == "V1"
    page2 = json.dumps(update["view"], ensure_ascii=False)
    assert "vorlage_0" in page2 and "vorlage_3" not in page2 and "ältere Einträge" in page2
    actions = [e["action_id"] for b in update["view"]["blocks"] for e in b.get("elements", []) if "action_id" in e]
    assert "ticket_history_new" in actions and "ticket_history" not in actions  # the last page


def test_the_card_pages_its_history_in_place(running_app: RunningApp) -> None:
    [cid] = add_reachable(running_app.engine, 1)
    _fill(running_app.engine, cid, 3)  # d2 m2 | d1 d0 m1 m0 (newest first; the card shows 3 at a time)
    running_app.command(phone(0))
    card = running_app.fake.wait_for("response_url")[-1].body
    check_blocks(card["blocks"])
    section = json.dumps(card["blocks"], ensure_ascii=False)
    assert "vorlage_2" in section and "vorlage_1" in section and "vorlage_0" not in section
    actions = next(b for b in card["blocks"] if b["type"] == "actions")
    older = next(e for e in actions["elements"] if e["action_id"] == "card_history")

    url = running_app.fake.response_url("card-page")
    click = {**older, "block_id": actions["block_id"], "action_ts": str(time.time())}
    assert running_app.interact(block_actions(click, response_url=url)).status_code == 200
    page2 = running_app.fake.wait_for("response_url", 2)[-1].body
    check_blocks(page2["blocks"])
    assert page2["replace_original"] is True
    history_text = next(b for b in page2["blocks"] if b.get("block_id", "").endswith("|history"))["text"]["text"]
    assert "ältere Einträge" in history_text and "vorlage_0" in history_text and "vorlage_2" not in history_text
    buttons = [e["action_id"] for b in page2["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "card_history_new" in buttons and "card_history" not in buttons

    forged = {**click, "value": older["value"].replace(str(cid), str(cid + 1), 1)}  # another contact's id
    running_app.fake.clear()
    running_app.interact(block_actions(forged, response_url=running_app.fake.response_url("card-forged")))
    running_app.settle()
    answers = [c.body for c in running_app.fake.of("response_url")]
    assert answers and all("vorlage" not in json.dumps(a, ensure_ascii=False) for a in answers)


def test_the_card_history_of_long_entries_stays_within_a_section_and_keeps_its_date_tokens_whole() -> None:
    from datetime import UTC, datetime

    from bot.services.history import CARD_PAGE, HistoryPage
    from handlers.blocks.history import card_section
    from storage.history import Event
    from storage.models import Contact

    at = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
    worst = Event(
        "d", 1, at, "out", "template", "Ü" * 5000, template="t" * 512, language="de_DE_formal_x", broadcast_id=10**9,
        status="failed", sent_at=at, delivered_at=at, read_at=at, failed_at=at, error_code=131049, error_title="x"*300,
    )  # fmt: skip
    page = HistoryPage(Contact(id=1, phone="+4917100000000", messenger="whatsapp"), [worst] * CARD_PAGE, True)
    for lang in ("de", "en"):
        section = card_section(page, lang)
        check_blocks([section])
        text = section["text"]["text"]
        assert len(text) <= 3000 and not text.endswith("…")  # nothing cut off at the end
        assert text.count("<!date^") == text.count(" UTC>") == CARD_PAGE * 5  # the head and the four steps
