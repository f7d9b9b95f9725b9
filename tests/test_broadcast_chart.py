"""The report's picture (issue 18): a PNG of the funnel over time and the failures by reason, uploaded to the
fake Slack the way Slack takes files (files_upload_v2), once per final state and at most every few minutes
while a broadcast sends; its alt text states the report's figures."""

from __future__ import annotations

import io
import re
import struct
from datetime import timedelta

import pytest
from PIL import Image
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import update
from sqlmodel import Session

from bot.config.settings import Settings
from bot.services.broadcasts import chart, service
from bot.services.broadcasts.sender import Runner
from handlers.clients.live_report import SlackReporter, post_report
from handlers.clients.web_api import web_client
from storage import history
from storage.db import session_scope
from storage.models import Broadcast, table_of, utcnow
from tests.broadcast_helpers import add_reachable, draft, phone
from tests.conftest import ADMIN, RunningApp, app_seal
from tests.fakes.graph_api import FakeGraph
from tests.fakes.slack_api import FakeSlack, Upload
from tests.webhooks import APP_SECRET, BOT_TOKEN, wait_applied, webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)
FIGURES = re.compile(r"gesendet (\d+)\D+zugestellt (\d+)\D+gelesen (\d+)\D+fehlgeschlagen (\d+)")


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: FakeGraph) -> Settings:
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk, after checking the signature (RFC 2083 / ISO 15948)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", data[:8]
    length, kind = struct.unpack(">I4s", data[8:16])
    assert (length, kind) == (13, b"IHDR")
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def _charts(fake: FakeSlack) -> list[Upload]:
    return [u for u in fake.completed_uploads() if u.filename.endswith(".png")]


def _figures(text: str) -> tuple[int, ...]:
    found = FIGURES.search(text)
    assert found is not None, text
    return tuple(int(n) for n in found.groups())


def test_a_finished_broadcast_uploads_a_png_chart_whose_alt_text_states_the_report_figures(
    running_app: RunningApp, fake_graph: FakeGraph
) -> None:
    engine, settings, fake = running_app.engine, running_app.settings, running_app.fake
    add_reachable(engine, 6)
    fake_graph.configure(
        webhook={
            "url": f"{running_app.url}/whatsapp/webhook",
            "secret": APP_SECRET,
            "statuses": ["sent", "delivered", "read"],
        },
        rules={
            phone(1): [{"statuses": ["sent", "delivered"]}],
            phone(2): [{"statuses": ["sent", {"status": "failed", "code": 131049}]}],
            phone(3): [{"error": 131026}],  # refused at the send: no webhook
        },
    )
    row, _ = service.create(engine, settings, draft(settings))
    bid = row.id or 0
    client = web_client(settings)
    post_report(client, engine, bid, "C111", ADMIN, app_seal)
    report_ts = service.report(engine, bid).broadcast.message_ts
    reporter = SlackReporter(client, engine, settings)
    Runner(settings, engine, reporter).run_forever(poll=0.05, until_idle=True)
    reporter.flush()

    [first] = _charts(fake)  # one chart for the finished broadcast, none while it sent (it took seconds)
    assert first.data is not None and len(first.data) == first.length
    assert _png_size(first.data) == (chart.WIDTH, chart.HEIGHT)
    assert 5_000 < len(first.data) < 500_000
    Image.open(io.BytesIO(first.data)).verify()  # a whole, decodable PNG
    assert (first.channel_id, first.thread_ts) == ("C111", report_ts)  # in the report's thread
    message = fake.of("chat.update")[-1].body["blocks"][0]["text"]["text"]
    assert _figures(first.alt_txt) == _figures(message)  # drawn from the same report as the message

    # The status webhooks the fake posted are all applied now: a final redraw with these figures replaces the
    # chart (the old file is deleted: the thread keeps one) when they changed, and draws nothing when not.
    wait_applied(engine)
    reporter(bid, True)
    reporter.flush()
    report = service.report(engine, bid)
    expected = tuple(getattr(chart.Figures.of(report), n) for n in ("sent", "delivered", "read", "failed"))
    assert expected == (4, 4, 3, 2)  # 6 sent: one refused (131026), one failed by webhook (131049)
    latest = [u for u in _charts(fake) if not u.deleted]
    assert len(latest) == 1 and _figures(latest[0].alt_txt) == expected
    assert _figures(fake.of("chat.update")[-1].body["blocks"][0]["text"]["text"]) == expected
    assert "Fehlgründe:" in latest[0].alt_txt and "(131049)" in latest[0].alt_txt and "(131026)" in latest[0].alt_txt
    if len(_charts(fake)) == 2:
        assert fake.of("files.delete")[0].body["file"] == first.file_id
    with Session(engine) as s:  # the curves end at the report's figures
        totals = {name: 0 for name in history.SERIES}
        for _, series, n in history.timeline(s, bid, "second"):
            totals[series] += n
    assert tuple(totals[n] for n in history.SERIES) == expected

    reporter(bid, True)  # nothing changed: no new chart
    reporter.flush()
    assert len([u for u in _charts(fake) if not u.deleted]) == 1 and len(_charts(fake)) <= 2


def test_while_sending_a_chart_is_due_at_most_every_few_minutes_and_once_per_final_state(
    running_app: RunningApp,
) -> None:
    engine, settings = running_app.engine, running_app.settings
    add_reachable(engine, 1)
    row, _ = service.create(engine, settings, draft(settings))
    bid = row.id or 0
    service.start(engine, settings, bid)
    B = table_of(Broadcast)
    with session_scope(engine) as s:
        s.execute(update(B).where(B.c.id == bid).values(channel_id="C111", message_ts="1.0"))
        s.execute(update(table_of(Broadcast)).where(B.c.id == bid).values(started_at=utcnow() - timedelta(minutes=1)))

    def report(**counts: int) -> service.Report:
        r = service.report(engine, bid)
        r.counts = dict(counts)
        return r

    assert chart.due(engine, report(sent=1), final=False) is None  # sending for a minute: not yet
    with session_scope(engine) as s:
        s.execute(update(B).where(B.c.id == bid).values(started_at=utcnow() - timedelta(minutes=10)))
    assert chart.due(engine, report(sent=1), final=False) == "running|1|0|0|0"
    assert chart.due(engine, report(delivered=1), final=False) is None  # new figures, but too soon
    with session_scope(engine) as s:
        s.execute(update(B).where(B.c.id == bid).values(chart_at=utcnow() - timedelta(seconds=chart.CHART_EVERY + 1)))
    assert chart.due(engine, report(delivered=1), final=False) == "running|1|1|0|0"
    with session_scope(engine) as s:
        s.execute(update(B).where(B.c.id == bid).values(status="done"))
    assert chart.due(engine, report(read=1), final=True) == "done|1|1|1|0"  # finished: at once
    assert chart.due(engine, report(read=1), final=True) is None  # once per final state
    chart.failed(engine, bid, "done|1|1|1|0")  # the upload failed: the next redraw tries again
    assert chart.due(engine, report(read=1), final=True) == "done|1|1|1|0"


def test_the_fake_takes_files_only_the_way_slack_does(fake_slack: FakeSlack) -> None:
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.api_url)
    for bad in ({"filename": "a.png", "length": 0}, {"length": 10}):
        with pytest.raises(SlackApiError) as refused:
            client.api_call("files.getUploadURLExternal", params=bad)
        assert refused.value.response["error"] == "missing_argument"
    with pytest.raises(SlackApiError) as refused:
        client.api_call("files.getUploadURLExternal", params={"filename": "a.png", "length": 3, "alt_txt": "x" * 1001})
    assert refused.value.response["error"] == "alt_txt_too_large"
    issued = client.api_call("files.getUploadURLExternal", params={"filename": "a.png", "length": 3})
    with pytest.raises(SlackApiError) as refused:  # the bytes never arrived
        client.api_call("files.completeUploadExternal", json={"files": [{"id": issued["file_id"]}]})
    assert refused.value.response["error"] == "file_not_found"
    with pytest.raises(SlackApiError) as refused:  # a thread needs its channel
        client.files_upload_v2(content=b"abc", filename="b.png", thread_ts="1.0")
    assert refused.value.response["error"] == "invalid_arguments"
    with pytest.raises(SlackApiError) as refused:
        client.files_upload_v2(content=b"abc", filename="c.png", channel="C999")
    assert refused.value.response["error"] == "not_in_channel"
    done = client.files_upload_v2(content=b"abc", filename="d.png", channel="C111", alt_txt="drei Bytes")
    [upload] = fake_slack.completed_uploads()
    assert upload.data == b"abc" and upload.alt_txt == "drei Bytes" and upload.file_id == done["file"]["id"]
    client.files_delete(file=upload.file_id)
    with pytest.raises(SlackApiError) as refused:
        client.files_delete(file=upload.file_id)
    assert refused.value.response["error"] == "file_not_found"
