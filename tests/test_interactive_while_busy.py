"""Issue 16, item 1: a click that opens a modal never waits behind long jobs (CSV previews, imports, exports).

Four CSV previews are held in their download (the fake answers only when the test lets it); while they hang, a
Table-settings click and a plain `/contacts` must still be answered, within the trigger_id's 3 s (the fake refuses a
late trigger and the suite fails on it). A preview that gave up (its download timed out) would post its error with
chat.update and free its thread: the answers must come before any such error.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.conftest import ADMIN, RunningApp, block_actions, wait_until
from tests.fakes.slack_api import Call

SECOND_ADMIN = "UADMIN02"


def _share(file_id: str, ts: str, user: str = ADMIN) -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "file_share",
        "text": "",
        "user": user,
        "channel": "C111",
        "channel_type": "channel",
        "ts": ts,
        "event_ts": ts,
        "files": [{"id": file_id, "name": f"{file_id}.csv", "filetype": "csv", "mimetype": "text/csv"}],
    }


def test_modal_and_list_come_while_four_previews_are_stuck(running_app: RunningApp) -> None:
    release = threading.Event()
    held: list[str] = []

    def slow_download(call: Call) -> tuple[int, dict[str, str], bytes]:
        held.append(call.path)
        release.wait(120)  # a preview stuck on a slow download
        return 200, {"Content-Type": "text/csv"}, b"Nummer\n+4917012345678\n"

    running_app.fake.responders["download"] = slow_download
    # Two admins upload: each person may run one preview at a time (issue 13), so two previews fill the job pool.
    running_app.settings.admins = frozenset({ADMIN, SECOND_ADMIN})
    for i in range(4):
        running_app.fake.file_infos[f"F{i}"] = {
            "id": f"F{i}",
            "name": f"F{i}.csv",
            "filetype": "csv",
            "mimetype": "text/csv",
            "size": 30,
            "url_private_download": f"{running_app.fake.base}/files/F{i}.csv",
        }
    try:
        for i in range(4):
            user = ADMIN if i % 2 == 0 else SECOND_ADMIN
            shared = _share(f"F{i}", f"1700000000.00030{i}", user)
            assert running_app.event(shared, event_id=f"EvBusy{i}").status_code == 200
        wait_until(lambda: len(held) >= 2, "the previews to start")  # all that the job pool runs at once
        action = {"type": "button", "action_id": "list_table_settings", "value": "x", "action_ts": str(time.time())}
        assert running_app.interact(block_actions(action)).status_code == 200
        running_app.fake.wait_for("views.open")
        view = running_app.fake.wait_for("views.update")[0].body["view"]
        assert view["callback_id"] == "table_settings"
        running_app.command("", response_url=running_app.fake.response_url("plain"))
        answer = running_app.fake.wait_for("response_url")[0].body
        assert "blocks" in answer
        assert not running_app.fake.of("chat.update")  # both answered while every preview still hung
    finally:
        release.set()
    running_app.settle()
