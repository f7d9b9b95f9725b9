"""Issue 16, items 6 and 9: imports driven by `file_shared` (+ files.info), and Slack Connect stub files.

The manifest no longer subscribes to message.* events (they need history scopes that let the bot read every
message in its channels), so `file_shared` alone must start the preview; in Slack Connect channels a file arrives
as a stub `{"id": ..., "file_access": "check_file_info"}` and only files.info tells what it is.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ADMIN, RunningApp, wait_until

ROOT = Path(__file__).resolve().parents[1]
CSV = b"Nummer,Name\n+4917012345678,Max Muster\n"
MESSAGE_TS = "1700000000.000700"


def _serve(app: RunningApp, file_id: str, name: str = "kunden.csv") -> None:
    app.fake.files[name] = (CSV, "text/csv")
    app.fake.file_infos[file_id] = {
        "id": file_id,
        "name": name,
        "filetype": "csv",
        "mimetype": "text/csv",
        "size": len(CSV),
        "url_private_download": f"{app.fake.base}/files/{name}",
        "shares": {"public": {"C111": [{"ts": MESSAGE_TS, "channel_name": "support"}]}},
    }


def _preview_shown(app: RunningApp) -> bool:
    return any("import_confirm" in json.dumps(c.body.get("blocks", [])) for c in app.fake.of("chat.update"))


def test_file_shared_alone_starts_the_preview_in_the_files_thread(running_app: RunningApp) -> None:
    _serve(running_app, "F77")
    event = {"type": "file_shared", "channel_id": "C111", "file_id": "F77", "user_id": ADMIN, "file": {"id": "F77"}}
    assert running_app.event(event, event_id="EvShared1").status_code == 200
    wait_until(lambda: _preview_shown(running_app), "the import preview")
    reading = running_app.fake.of("chat.postMessage")[0].body
    assert (reading["channel"], reading["thread_ts"]) == ("C111", MESSAGE_TS)


def test_a_slack_connect_stub_is_looked_up_before_it_is_judged(running_app: RunningApp) -> None:
    _serve(running_app, "F88")
    stub: dict[str, Any] = {"id": "F88", "file_access": "check_file_info"}
    event = {
        "type": "message",
        "subtype": "file_share",
        "text": "",
        "user": ADMIN,
        "channel": "C111",
        "channel_type": "channel",
        "ts": MESSAGE_TS,
        "event_ts": MESSAGE_TS,
        "files": [stub],
    }
    assert running_app.event(event, event_id="EvConnect1").status_code == 200
    wait_until(lambda: _preview_shown(running_app), "the import preview of the Slack Connect file")


def test_the_manifests_ask_for_no_message_events_and_no_history_scopes() -> None:
    for name in ("manifest.yml", "manifest.http.yml"):
        manifest = yaml.safe_load((ROOT / name).read_text())
        scopes = manifest["oauth_config"]["scopes"]["bot"]
        events = manifest["settings"]["event_subscriptions"]["bot_events"]
        assert not [s for s in scopes if s.endswith(":history")], name
        assert not [e for e in events if e.startswith("message.")] and "file_shared" in events, name
        hint = manifest["features"]["slash_commands"][0]["usage_hint"]
        assert all(word in hint for word in ("groups", "attributes", "import", "export", "notify", "help")), name
