"""Recipient-local send windows (issue 18): zones from numbers or the `timezone` attribute, windows in UTC,
a window that opens after a restart, the CLI's and the composer's options, the report's waiting count."""

from __future__ import annotations

import json
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from bot.cli import main
from bot.config.settings import Settings, load_settings
from bot.domain.send_windows import parse_quiet, pick_zone, window, zone_for_number
from bot.services.broadcasts import service
from bot.worker import start_sending
from handlers.blocks.broadcasts import report_message
from storage.models import Delivery, utcnow
from tests.broadcast_helpers import add_reachable, draft, phone, set_attribute
from tests.conftest import RunningApp, app_seal, select_value, text_value, wait_until
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack
from tests.test_broadcast_slack import _click_notify, _composer, _submit
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
BERLIN = ZoneInfo("Europe/Berlin")


def test_the_zone_of_a_number_and_the_rule_for_several_zones() -> None:
    assert zone_for_number("+4917012345678") == "Europe/Berlin"
    assert zone_for_number("+12125550100") == "America/New_York"
    assert zone_for_number("+17205550100") == "America/Denver"
    # several zones: the country's most populous when listed, else the first listed
    assert zone_for_number("+79161234567") == "Europe/Moscow"
    assert zone_for_number("+61412345678") == "Australia/Sydney"
    assert zone_for_number("+447911123456") == "Europe/London"
    assert pick_zone(("Asia/Omsk", "Asia/Irkutsk")) == "Asia/Omsk"
    assert pick_zone(("Etc/Unknown",)) is None


def test_windows_in_the_recipients_time() -> None:
    start = datetime(2026, 12, 8, 12, 0, tzinfo=UTC)  # 13:00 in Berlin, 07:00 in New York
    ten = time(10, 0)
    quiet = parse_quiet("21:00-08:00")
    opens, closes = window(BERLIN, start, ten, None)
    assert opens == datetime(2026, 12, 9, 9, 0, tzinfo=UTC) and closes is None  # 10:00 passed today: tomorrow's
    opens, closes = window(ZoneInfo("America/New_York"), start, ten, quiet)
    assert opens == datetime(2026, 12, 8, 15, 0, tzinfo=UTC)  # 10:00 New York today
    assert closes == datetime(2026, 12, 9, 2, 0, tzinfo=UTC)  # 21:00 New York
    opens, closes = window(ZoneInfo("Asia/Tokyo"), start, None, quiet)  # 21:00 in Tokyo: quiet until 08:00
    assert opens == datetime(2026, 12, 8, 23, 0, tzinfo=UTC) and closes == datetime(2026, 12, 9, 12, 0, tzinfo=UTC)
    opens, closes = window(BERLIN, start, None, quiet)  # open now, until 21:00
    assert opens == start and closes == datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
    # across the change to summer time: 10:00 local is 08:00 UTC the day after
    opens, _ = window(BERLIN, datetime(2026, 3, 28, 12, 0, tzinfo=UTC), ten, None)
    assert opens == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)


def _windows(engine: Engine, broadcast_id: int) -> dict[str, tuple[datetime | None, datetime | None, str | None]]:
    with Session(engine) as session:
        stmt = select(Delivery).where(Delivery.broadcast_id == broadcast_id)
        return {d.phone: (d.not_before, d.not_after, d.local_zone) for d in session.scalars(stmt)}


def test_the_freeze_gives_each_recipient_its_window_with_attribute_and_country_rules(
    engine: Engine, db_url: str, fake_graph: FakeGraph
) -> None:
    ids = add_reachable(engine, 3)
    set_attribute(engine, "timezone", {ids[1]: "America/New_York", ids[2]: "no/such_zone"})
    settings = load_settings(
        DATABASE_URL=db_url,
        WHATSAPP_DAILY_LIMIT=0,
        CONTACTBOT_QUIET_HOURS_BY_COUNTRY="US=20:00-09:00",
        **fake_graph.env(),
    )
    d = draft(settings)
    d.local_time, d.quiet_hours = "10:00", "21:00-08:00"
    row, _ = service.create(engine, settings, d)
    assert service.start(engine, settings, row.id or 0) == 3
    found = _windows(engine, row.id or 0)
    berlin, york, fallback = found[phone(0)], found[phone(1)], found[phone(2)]
    assert berlin[2] == "Europe/Berlin" and fallback[2] == "Europe/Berlin"  # a bad attribute: the number's zone
    assert york[2] == "America/New_York"
    assert berlin[0] is not None and berlin[0].astimezone(BERLIN).time() == time(10, 0)
    assert berlin[1] is not None and berlin[1].astimezone(BERLIN).time() == time(21, 0)
    assert york[0] is not None and york[0].astimezone(ZoneInfo("America/New_York")).time() == time(10, 0)
    # the number is German: Germany's rules (the broadcast's quiet hours), not the US ones
    assert york[1] is not None and york[1].astimezone(ZoneInfo("America/New_York")).time() == time(21, 0)


def test_a_window_that_opens_after_a_restart_is_sent_then_once(
    engine: Engine,
    wa_settings: Settings,
    fake_graph: FakeGraph,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", str(engine.url.render_as_string(hide_password=False)))
    monkeypatch.setenv("CONTACTBOT_LANG", "de")
    ids = add_reachable(engine, 2)
    # phone(1) lives in UTC: quiet until the next full minute at least 25 s ahead; phone(0) six hours
    # behind: its window is open now.
    now = utcnow()
    opens = (now + timedelta(seconds=85)).replace(second=0, microsecond=0)
    set_attribute(engine, "timezone", {ids[0]: "Etc/GMT+6", ids[1]: "UTC"})
    d = draft(wa_settings)
    d.quiet_hours = f"{opens - timedelta(hours=1):%H:%M}-{opens:%H:%M}"
    row, _ = service.create(engine, wa_settings, d)
    bid = row.id or 0

    first = start_sending(wa_settings, engine)
    try:
        wait_until(lambda: fake_graph.stats()["counts"] == {phone(0): 1}, "the open window was not sent")
        wait_until(
            lambda: service.report(engine, bid).broadcast.next_window_at is not None, "the sender did not go idle"
        )
    finally:
        first.stop()  # the process goes down before the other window opens
    report = service.report(engine, bid)
    assert report.broadcast.status == "running" and report.waiting == 1
    assert report.broadcast.next_window_at == opens
    with engine.connect() as conn:
        jobs = list(conn.execute(text("SELECT id FROM apscheduler_jobs")).scalars())
    assert jobs == [f"broadcast-start-{bid}"]  # the wake-up at the next opening is stored
    shown = json.dumps(report_message(report, "de", seal=app_seal)["blocks"], ensure_ascii=False)
    assert "1 warten auf ihr Zeitfenster" in shown
    capsys.readouterr()
    assert main(["broadcast", "status", str(bid)]) == 0
    assert "1 warten auf ihr Zeitfenster" in capsys.readouterr().out

    second = start_sending(wa_settings, engine)
    try:
        wait_until(lambda: service.report(engine, bid).broadcast.status == "done", "not sent after the restart", 240)
    finally:
        second.stop()
    assert fake_graph.stats()["counts"] == {phone(0): 1, phone(1): 1}
    with Session(engine) as session:
        late = session.scalars(select(Delivery).where(Delivery.contact_id == ids[1])).one()
    assert late.sent_at is not None and late.sent_at >= opens


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, db_url: str, fake_graph: FakeGraph) -> dict[str, str]:
    env = {
        "DATABASE_URL": db_url,
        "WHATSAPP_DAILY_LIMIT": "0",
        "SLACK_BOT_TOKEN": "",
        "CONTACTBOT_LANG": "de",
        "CONTACTBOT_QUIET_HOURS": "22:00-07:00",
        **fake_graph.env(),
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    return env


SEND = ["broadcast", "send", "--template", "termin_erinnerung", "--lang", "de", "--param", "1=contact:name|Kunde"]


def test_cli_local_time_and_quiet_hours(
    cli_env: dict[str, str], engine: Engine, fake_graph: FakeGraph, capsys: pytest.CaptureFixture[str]
) -> None:
    add_reachable(engine, 1)
    assert main([*SEND, "--param", "2=Montag", "--quiet-hours", "25:00-08:00", "--yes"]) == 2
    assert "Ruhezeit „25:00-08:00“" in capsys.readouterr().err
    assert main([*SEND, "--param", "2=Montag", "--local-time", "10:00", "--yes", "--queue"]) == 0
    out = capsys.readouterr().out
    assert "Zeitfenster: um 10:00 Ortszeit der Empfänger, nie zwischen 22:00 und 07:00 Ortszeit" in out  # the default
    assert main([*SEND, "--param", "2=Dienstag", "--quiet-hours", "off", "--yes", "--queue"]) == 0
    first, second = (service.report(engine, i).broadcast for i in (1, 2))
    assert (first.local_time, first.quiet_hours) == ("10:00", "22:00-07:00")
    assert (second.local_time, second.quiet_hours) == (None, None)
    assert fake_graph.stats()["counts"] == {}


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(
        db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, CONTACTBOT_QUIET_HOURS="21:00-08:00", **fake_graph.env()
    )


def test_composer_takes_a_local_time_and_quiet_hours(running_app: RunningApp) -> None:
    add_reachable(running_app.engine, 2)
    _click_notify(running_app)
    pick = _composer(running_app)
    qh = next(b for b in pick["blocks"] if b["block_id"] == "qh")
    assert qh["element"]["initial_value"] == "21:00-08:00"  # the configured default
    values = {
        "tpl": select_value("hello_world|en_US"),
        "aud": select_value("all"),
        "when": {"v": {"type": "radio_buttons", "selected_option": {"value": "now"}}},
        "lt": {"v": {"type": "timepicker", "selected_time": "10:00"}},
        "qh": text_value("21:00-8"),
    }
    bad = _submit(running_app, pick, values)
    assert bad["response_action"] == "errors" and "qh" in bad["errors"]
    confirm = _submit(running_app, pick, {**values, "qh": text_value("21:30-08:00")})["view"]
    shown = confirm["blocks"][0]["text"]["text"]
    assert "um 10:00 Ortszeit der Empfänger" in shown and "nie zwischen 21:30 und 08:00 Ortszeit" in shown
    _submit(running_app, confirm, {})
    wait_until(lambda: service.recent(running_app.engine, 1), "no broadcast was created")
    row = service.recent(running_app.engine, 1)[0].broadcast
    assert (row.local_time, row.quiet_hours, row.status) == ("10:00", "21:30-08:00", "queued")
