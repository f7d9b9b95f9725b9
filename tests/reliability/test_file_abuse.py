"""Imports and exports cannot be turned against the workspace by a signed-in non-admin or a crafted file.

Through the running server with signed events and clicks: a non-admin's upload is refused before
anything is downloaded or staged, one person runs one preview at a time, a channel export is for
admins (a DM export stays open to everyone), a file name cannot ping the channel, the bot token is
only sent to Slack's exact origin, and invisible direction characters do not disguise a name.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import Contact, ImportRun
from tests.conftest import ADMIN, USER, RunningApp, block_actions
from tests.factories import add_contact
from tests.fakes.slack_api import Call
from tests.test_csv_slack import _preview, _share, _text, _wait

CSV = b"Telefon;Name\n+4917055500001;Neu Eins\n+4917055500002;Neu Zwei\n"


def _runs(app: RunningApp) -> int:
    with Session(app.engine) as s:
        return int(s.scalar(select(func.count()).select_from(ImportRun)) or 0)


def _wait_for(app: RunningApp, method: str, found: Callable[[Call], bool]) -> Call:
    return _wait(app, method, found, timeout=20)


def test_a_non_admins_upload_is_refused_before_download(running_app: RunningApp) -> None:
    event = _share(running_app, "kunden.csv", CSV)
    event["user"] = USER
    assert running_app.event(event, event_id="EvU1").status_code == 200
    told = _wait_for(running_app, "chat.postEphemeral", lambda c: "nur Admins" in str(c.body.get("text")))
    assert told.body["user"] == USER and told.body["thread_ts"] == event["ts"]
    assert running_app.fake.of("files.info") == [] and running_app.fake.of("download") == []
    assert running_app.fake.of("chat.postMessage") == [] and _runs(running_app) == 0


def test_one_person_runs_one_preview_at_a_time(running_app: RunningApp) -> None:
    app = running_app
    reading, release = threading.Event(), threading.Event()
    first = _share(app, "eins.csv", CSV, file_id="F1")

    def slow_download(call: Call) -> tuple[int, dict[str, str], bytes]:
        reading.set()
        release.wait(120)  # the first preview is still reading when the second upload arrives
        return 200, {"Content-Type": "text/csv"}, CSV

    app.fake.responders["download"] = slow_download
    assert app.event(first, event_id="EvP1").status_code == 200
    # The fake records a call once its answer is settled, so wait for the download to be under way instead.
    assert reading.wait(60)
    second = _share(app, "zwei.csv", CSV, file_id="F2")
    second["ts"] = second["event_ts"] = "1700000000.000999"
    assert app.event(second, event_id="EvP2").status_code == 200
    busy = _wait_for(app, "chat.postEphemeral", lambda c: "noch in Arbeit" in str(c.body.get("text")))
    assert "zwei.csv" in busy.body["text"] and busy.body["user"] == ADMIN
    release.set()
    _preview(app)
    assert len(app.fake.of("download")) == 1 and _runs(app) == 1
    # the first is done: the next upload is read again
    third = _share(app, "drei.csv", CSV, file_id="F3")
    third["ts"] = third["event_ts"] = "1700000000.001999"
    app.fake.responders.pop("download")
    assert app.event(third, event_id="EvP3").status_code == 200
    _wait_for(app, "chat.update", lambda c: "drei.csv" in _text(c) and "import_confirm" in _text(c))


def _export_choice(app: RunningApp, user: str) -> dict[str, Any]:
    app.command("export", user=user)
    choice = app.fake.wait_for("response_url")[0].body
    app.fake.clear()
    return next(b for b in choice["blocks"] if b["type"] == "actions")


def _export_click(app: RunningApp, block: dict[str, Any], action_id: str, user: str) -> None:
    action = {"type": "button", "action_id": action_id, "block_id": block["block_id"], "value": "x", "action_ts": "2"}
    app.interact(block_actions(action, user=user, response_url=app.fake.response_url("exp")))


def test_only_admins_export_into_a_channel_and_everyone_may_export_to_a_dm(running_app: RunningApp) -> None:
    app = running_app
    add_contact(app.engine, "+4917011111111", "Anna Aktiv")
    block = _export_choice(app, USER)
    _export_click(app, block, "export_channel", USER)
    refused = app.fake.wait_for("response_url")[0].body
    assert "Nur Admins" in refused["text"] and refused["response_type"] == "ephemeral"
    _export_click(app, block, "export_dm", USER)  # the same list, to the user's own DM
    complete = app.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.body["channel_id"] == "D" + USER[1:]
    assert len(app.fake.of("files.completeUploadExternal")) == 1  # nothing went to the channel


def test_a_file_name_cannot_ping_the_channel(running_app: RunningApp) -> None:
    app = running_app
    name = "<!channel> kunden.csv"
    event = _share(app, name, CSV)
    app.fake.files[quote(name, safe="!")] = app.fake.files[name]  # the download URL's path arrives percent-encoded
    app.event(event)
    preview = _preview(app)
    for text in (preview.body["text"], _text(preview)):
        assert "<!channel>" not in text
    assert "&lt;!channel&gt; kunden.csv" in preview.body["text"]


def test_the_bot_token_goes_only_to_slacks_exact_origin(running_app: RunningApp, fake_slack: Any) -> None:
    from tests.fakes import slack_api

    elsewhere = slack_api.start()
    try:
        app = running_app
        base = app.fake.base
        for n, url in enumerate(
            [
                f"{elsewhere.base}/files/k.csv",  # same host, another port
                base.replace("http://", "https://") + "/files/k.csv",  # same host and port, another scheme
                "http://files.slack.com/files-pri/T1-F1/k.csv",  # Slack's file host, plain http
                "https://files.slack.com.evil.example/k.csv",
            ]
        ):
            event = _share(app, "k.csv", CSV, file_id=f"FH{n}")
            event["ts"] = event["event_ts"] = f"1700000001.00{n}000"
            info = {"id": f"FH{n}", "name": "k.csv", "filetype": "csv", "mimetype": "text/csv", "size": len(CSV)}
            app.fake.responders["files.info"] = lambda call, info=info, url=url: {
                "ok": True,
                "file": {**info, "url_private_download": url},
            }
            app.event(event, event_id=f"EvH{n}")
            _wait_for(app, "chat.update", lambda c: "kann ich nicht importieren" in _text(c))
            app.fake.clear()
        assert elsewhere.calls == [] and app.fake.of("download") == []
        assert _runs(app) == 0
    finally:
        elsewhere.server.shutdown()


def test_invisible_direction_characters_do_not_disguise_a_name(running_app: RunningApp) -> None:
    app = running_app
    stored = "Bob\u202egnp.exe\u200b"
    cid = add_contact(app.engine, "+4917011111111", stored)
    app.command("")
    shown = json.dumps(app.fake.wait_for("response_url")[0].body, ensure_ascii=False)
    assert "Bobgnp.exe" in shown and "\u202e" not in shown and "\u200b" not in shown
    with Session(app.engine) as s:
        assert s.get(Contact, cid).name == stored  # kept as stored (exports write the original)
