"""CSV import and export through the real HTTP server, signed Slack requests and the loopback fake Slack."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlmodel import Session

from storage.models import AuditEntry, Contact, ImportRun
from tests.blockkit import check_blocks
from tests.conftest import ADMIN, BOT_TOKEN, USER, RunningApp, block_actions, sealed
from tests.factories import add_contact
from tests.fakes.slack_api import Call

CORPUS = Path(__file__).parent / "data" / "csv"
FILE_TS = "1700000000.000200"


def _share(
    app: RunningApp,
    name: str,
    data: bytes,
    *,
    file_id: str = "F1",
    ctype: str = "text/csv",
    size: int | None = None,
    filetype: str = "csv",
) -> dict[str, Any]:
    """Serve the file from the fake and answer files.info like Slack; returns the message event."""
    app.fake.files[name] = (data, ctype)
    info = {
        "id": file_id,
        "name": name,
        "filetype": filetype,
        "mimetype": ctype,
        "size": len(data) if size is None else size,
        "url_private_download": f"{app.fake.base}/files/{name}",
    }
    app.fake.responders["files.info"] = lambda call: {"ok": True, "file": info}
    return {
        "type": "message",
        "subtype": "file_share",
        "text": "",
        "user": ADMIN,
        "channel": "C111",
        "channel_type": "channel",
        "ts": FILE_TS,
        "event_ts": FILE_TS,
        "files": [{"id": file_id, "name": name, "filetype": filetype, "mimetype": ctype}],
    }


def _wait(app: RunningApp, method: str, found: Callable[[Call], bool], timeout: float = 60) -> Call:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in app.fake.of(method):
            if found(call):
                return call
        time.sleep(0.02)
    raise AssertionError(f"no matching {method}: {[(c.method, str(c.body)[:200]) for c in app.fake.calls]}")


def _text(call: Call) -> str:
    return json.dumps(call.body.get("blocks", []), ensure_ascii=False) + str(call.body.get("text", ""))


def _preview(app: RunningApp) -> Call:
    return _wait(app, "chat.update", lambda c: "import_confirm" in _text(c) or "import_cancel" in _text(c))


def _click(app: RunningApp, action_id: str, run_id: int, user: str = ADMIN) -> None:
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": f"import|{run_id}",
        "value": sealed(str(run_id), purpose=action_id),
        "action_ts": str(time.time()),
    }
    container = {"type": "message", "message_ts": "1700000000.000300", "channel_id": "C111", "is_ephemeral": False}
    response = app.interact(
        block_actions(action, user=user, response_url=app.fake.response_url("imp"), container=container)
    )
    assert response.status_code == 200


def _contacts(app: RunningApp) -> dict[str, Contact]:
    with Session(app.engine) as session:
        return {c.phone: c for c in session.scalars(select(Contact))}


def test_upload_preview_in_thread_then_admin_confirms(running_app: RunningApp) -> None:
    app = running_app
    event = _share(app, "kunden.csv", (CORPUS / "excel_de_bom_crlf.csv").read_bytes())
    assert app.event(event, event_id="Ev1").status_code == 200
    file_shared = {
        "type": "file_shared",
        "file_id": "F1",
        "user_id": ADMIN,
        "file": {"id": "F1"},
        "channel_id": "C111",
        "event_ts": FILE_TS,
    }
    assert app.event(file_shared, event_id="Ev2").status_code == 200
    assert app.event(event, event_id="Ev1", retry=1).status_code == 200  # Slack's retry
    preview = _preview(app)
    check_blocks(preview.body["blocks"])
    text = _text(preview)
    assert "Vorschau für *kunden.csv* (3 Zeilen)" in text and "*3* neu" in text
    assert "eingewilligt" in text  # the consent question
    assert any("3 Zeilen gelesen" in _text(c) for c in app.fake.of("chat.update"))  # progress, same message
    posted = app.fake.wait_for("chat.postMessage")[0]
    assert posted.body["thread_ts"] == FILE_TS and posted.body["channel"] == "C111"
    assert "Ich lese *kunden.csv*" in _text(posted)
    downloads = app.fake.of("download")
    assert len(downloads) == 1 and downloads[0].headers["authorization"] == f"Bearer {BOT_TOKEN}"
    app.settle()  # the retry and the file_shared event are handled, not just acked
    assert len(app.fake.of("download")) == 1 and len(app.fake.of("chat.postMessage")) == 1  # processed once
    assert _contacts(app) == {}
    with Session(app.engine) as session:
        run = session.scalars(select(ImportRun)).one()
    assert run.file_id == "F1" and run.thread_ts == FILE_TS

    _click(app, "import_confirm", run.id or 0)
    done = _wait(app, "chat.update", lambda c: "importiert von" in _text(c))
    check_blocks(done.body["blocks"])
    assert "3 neu" in _text(done) and f"<@{ADMIN}>" in _text(done)
    found = _contacts(app)
    assert set(found) == {"+4917011111111", "+4917022222222", "+4917033333333"}
    assert found["+4917011111111"].consent_by == f"slack:{ADMIN}"
    app.fake.clear()
    _click(app, "import_confirm", run.id or 0)  # a second click changes nothing
    refusal = app.fake.wait_for("response_url")[0]
    assert "schon übernommen" in refusal.body["text"]


def test_only_admins_can_confirm(running_app: RunningApp) -> None:
    app = running_app
    app.event(_share(app, "k.csv", (CORPUS / "tab_delimited.csv").read_bytes()))
    _preview(app)
    with Session(app.engine) as session:
        run_id = session.scalars(select(ImportRun.id)).one()
    app.fake.clear()
    _click(app, "import_confirm", run_id or 0, user=USER)
    answer = app.fake.wait_for("response_url")[0]
    assert "CONTACTBOT_ADMINS" in answer.body["text"] and answer.body["response_type"] == "ephemeral"
    assert _contacts(app) == {}
    _click(app, "import_cancel", run_id or 0)
    cancelled = _wait(app, "chat.update", lambda c: "verworfen" in _text(c))
    assert "Es wurde nichts gespeichert" in _text(cancelled)
    assert _contacts(app) == {}


def test_login_page_instead_of_file_gets_one_line_reason(running_app: RunningApp) -> None:
    app = running_app
    app.event(_share(app, "k.csv", (CORPUS / "login_page.csv").read_bytes(), ctype="text/html"))
    error = _wait(app, "chat.update", lambda c: "kann ich nicht importieren" in _text(c))
    assert "HTML-Seite" in _text(error) and "files:read" in _text(error)
    check_blocks(error.body["blocks"])


def test_file_over_the_size_limit_is_not_downloaded(running_app: RunningApp) -> None:
    app = running_app
    app.event(_share(app, "big.csv", b"Nummer\n+4917011111111\n", size=500 * 1024 * 1024))
    error = _wait(app, "chat.update", lambda c: "größer als 50 MB" in _text(c))
    assert error.body["channel"] == "C111"
    app.settle()
    assert app.fake.of("download") == []


def test_bad_rows_are_listed_and_attached_when_many(running_app: RunningApp) -> None:
    app = running_app
    rows = "".join(f"4,9170{i}E+12;Kaputt {i}\r\n" for i in range(12))
    app.event(_share(app, "excel.csv", ("Nummer;Name\r\n" + rows + "+4917011111111;<!channel> Heil\r\n").encode()))
    preview = _preview(app)
    check_blocks(preview.body["blocks"])
    text = _text(preview)
    assert "Zeile 2, Nummer: Nummer von Excel zerstört" in text and "*12* abgelehnt" in text
    assert "und 2 weitere" in text
    upload = app.fake.wait_for("files.completeUploadExternal")[0]
    assert "abgelehnte-zeilen.csv" in json.dumps(upload.body, ensure_ascii=False)
    assert app.fake.wait_for("upload")[0].raw.decode("utf-8-sig").startswith("Zeile;Spalte;Grund;Wert")


def test_own_export_uploads_and_images_in_channels_are_ignored(running_app: RunningApp) -> None:
    app = running_app
    own = _share(app, "kontakte.csv", b"Nummer\n+4917011111111\n") | {"bot_id": "B111", "user": "UBOT"}
    app.event(own, event_id="Ev7")
    image = _share(app, "foto.png", b"\x89PNG", filetype="png", ctype="image/png", file_id="F9")
    app.event(image, event_id="Ev8")
    app.settle()
    assert app.fake.of("files.info") == [] and app.fake.of("chat.postMessage") == []


def test_export_button_uploads_the_listed_contacts_to_the_dm(running_app: RunningApp) -> None:
    app = running_app
    add_contact(app.engine, "+4917011111111", "Anna <Admin> Aktiv")
    add_contact(app.engine, "+4917022222222", "Ina Inaktiv", active=False)
    app.command("")
    listing = app.fake.wait_for("response_url")[0].body
    acts = next(b for b in listing["blocks"] if b.get("block_id", "").startswith("acts|"))
    app.fake.clear()
    app.interact(
        block_actions(
            {
                "type": "button",
                "action_id": "list_export",
                "block_id": acts["block_id"],
                "value": "export",
                "action_ts": "1",
            },
            response_url=app.fake.response_url("l"),
        )
    )
    choice = app.fake.wait_for("response_url")[0].body
    check_blocks(choice["blocks"])
    exp = next(b for b in choice["blocks"] if b["type"] == "actions")
    app.fake.clear()
    app.interact(
        block_actions(
            {"type": "button", "action_id": "export_dm", "block_id": exp["block_id"], "value": "dm", "action_ts": "2"},
            response_url=app.fake.response_url("c"),
        )
    )
    done = _wait(app, "response_url", lambda c: "Export mit" in str(c.body.get("text")))
    assert "Export mit 1 Kontakten" in done.body["text"]
    assert app.fake.of("conversations.open")[0].body["users"] == ADMIN
    complete = app.fake.wait_for("files.completeUploadExternal")[0]
    assert complete.body["channel_id"] == "D" + ADMIN[1:]
    data = app.fake.wait_for("upload")[0].raw
    assert data.startswith(b"\xef\xbb\xbfNummer;Messenger;")
    assert "Anna <Admin> Aktiv" in data.decode("utf-8-sig") and "Ina Inaktiv" not in data.decode("utf-8-sig")
    with Session(app.engine) as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "contact.export")).one()
    assert entry.actor == f"slack:{ADMIN}" and entry.detail["count"] == 1


def test_import_and_export_subcommands(running_app: RunningApp) -> None:
    app = running_app
    app.command("import")
    helptext = app.fake.wait_for("response_url")[0].body
    assert "CSV" in helptext["text"] and "Nummer" in helptext["text"] and "50 MB" in helptext["text"]
    app.fake.clear()
    app.command("export")
    choice = app.fake.wait_for("response_url")[0].body
    check_blocks(choice["blocks"])
    assert [e["action_id"] for e in choice["blocks"][1]["elements"]] == ["export_dm", "export_channel"]
    app.fake.clear()
    app.interact(
        block_actions(
            {
                "type": "button",
                "action_id": "list_import_help",
                "block_id": "acts|x",
                "value": "import",
                "action_ts": "3",
            },
            response_url=app.fake.response_url("h"),
        )
    )
    assert "Lade eine `.csv`-Datei" in app.fake.wait_for("response_url")[0].body["text"]


def test_ordinary_channel_messages_are_acked_and_ignored(running_app: RunningApp) -> None:
    app = running_app
    chatter = {
        "type": "message",
        "text": "Guten Morgen",
        "user": USER,
        "channel": "C111",
        "channel_type": "channel",
        "ts": "1700000000.000900",
        "event_ts": "1700000000.000900",
    }
    assert app.event(chatter, event_id="Ev9").status_code == 200  # a 404 would make Slack retry
    app.settle()
    assert app.fake.of("chat.postMessage") == [] and app.fake.of("files.info") == []
