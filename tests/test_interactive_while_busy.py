"""Issue 16, item 1: a click that opens a modal never waits behind long jobs (CSV previews, imports, exports).

Four CSV previews are held in their download (the fake answers only when the test lets it); while they hang, a
Table-settings click and a plain `/contacts` must still be answered, within the trigger_id's 3 s (the fake refuses a
late trigger and the suite fails on it). A preview that gave up (its download timed out) would post its error with
chat.update and free its thread: the answers must come before any such error.

Modals from the Home tab, the global shortcut and `/contacts notify` open in the ack path: they come even while
every interactive lazy thread is busy too. The job queue is bounded: one upload too many gets a clear answer, and
every preview it took finishes.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from handlers.jobs import JOB_WAITING, JOB_WORKERS
from storage.models import ImportRun
from tests.conftest import ADMIN, RunningApp, block_actions, wait_until
from tests.fakes.slack_api import Call

SECOND_ADMIN = "UADMIN02"


def _share(file_id: str, ts: str, user: str = ADMIN, channel: str = "C111") -> dict[str, Any]:
    return {
        "type": "message",
        "subtype": "file_share",
        "text": "",
        "user": user,
        "channel": channel,
        "channel_type": "im" if channel.startswith("D") else "channel",
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


def _hold_downloads(app: RunningApp, files: int) -> tuple[threading.Event, list[str]]:
    """`files` CSVs whose download hangs until the returned event is set; the list fills as downloads start."""
    release = threading.Event()
    held: list[str] = []

    def slow_download(call: Call) -> tuple[int, dict[str, str], bytes]:
        held.append(call.path)
        release.wait(120)  # a preview stuck on a slow download
        return 200, {"Content-Type": "text/csv"}, b"Nummer\n+4917012345678\n"

    app.fake.responders["download"] = slow_download
    for i in range(files):
        app.fake.file_infos[f"F{i}"] = {
            "id": f"F{i}",
            "name": f"F{i}.csv",
            "filetype": "csv",
            "mimetype": "text/csv",
            "size": 30,
            "url_private_download": f"{app.fake.base}/files/F{i}.csv",
        }
    return release, held


def _home_click(action_id: str) -> dict[str, Any]:
    action = {"type": "button", "action_id": action_id, "block_id": "home_actions", "value": "x"}
    return block_actions({**action, "action_ts": str(time.time())}, container={"type": "view", "view_id": "VHOME1"})


def _global_shortcut() -> dict[str, Any]:
    return {
        "type": "shortcut",
        "callback_id": "send_notification",
        "trigger_id": "x",
        "user": {"id": ADMIN, "username": "admin", "team_id": "T111"},
        "team": {"id": "T111"},
        "action_ts": str(time.time()),
        "token": "legacy",
    }


def test_modals_open_in_the_ack_path_while_previews_and_every_lazy_thread_are_busy(running_app: RunningApp) -> None:
    """Four previews hang in their download (the job queue) and every interactive lazy thread hangs answering a
    list (its response_url answers only when the test lets it): the Home tab's Send-notification button, the
    global shortcut and `/contacts notify` still open their modal, with a trigger_id Slack still takes (the fake
    refuses one older than 3 s or used twice, and the suite fails on that). Before, all three opened it from a lazy
    listener, which waited here until the lists were let go."""
    fake = running_app.fake
    release, held = _hold_downloads(running_app, 4)
    lists_go = threading.Event()
    held_lists: list[str] = []

    def slow_list(call: Call) -> tuple[int, dict[str, str], bytes]:
        if "/hold" in call.path:
            held_lists.append(call.path)
            lists_go.wait(120)
        return 200, {"Content-Type": "text/plain"}, b"ok"

    fake.responders["response_url"] = slow_list
    running_app.settings.admins = frozenset({ADMIN, *(f"UADMIN1{i}" for i in range(4))})
    try:
        for i in range(4):  # four admins, each in their own DM: four previews
            shared = _share(f"F{i}", f"1700000000.00040{i}", f"UADMIN1{i}", channel=f"D0UP{i}")
            assert running_app.event(shared, event_id=f"EvHeld{i}").status_code == 200
        wait_until(lambda: len(held) >= JOB_WORKERS, "the previews to start")
        running_app.command("", response_url=fake.response_url("plain"))  # a plain list still answers
        assert "blocks" in fake.wait_for("response_url")[0].body
        for i in range(running_app.settings.lazy_workers):  # now every interactive lazy thread hangs answering a list
            running_app.command("", response_url=fake.response_url(f"hold{i}"))
        wait_until(lambda: len(held_lists) >= running_app.settings.lazy_workers, "every lazy thread to be busy")

        assert running_app.interact(_home_click("home_notify")).status_code == 200
        assert running_app.interact(_global_shortcut()).status_code == 200
        assert running_app.command("notify").status_code == 200
        opened = fake.wait_for("views.open", count=3)
        assert all(call.body["trigger_id"] in fake.used_triggers for call in opened)
        assert {call.body["view"]["callback_id"] for call in opened} == {"bc_pick"}
        assert not fake.trigger_refusals
        assert len(held) == JOB_WORKERS and not fake.of("chat.update")  # every preview still hung meanwhile
    finally:
        lists_go.set()
        release.set()
    running_app.settle()


def test_a_full_job_queue_refuses_one_upload_clearly_and_loses_none(running_app: RunningApp) -> None:
    """The job queue takes JOB_WORKERS running + JOB_WAITING waiting previews; the next upload is answered at
    once, in its own thread, that the file was not read and why, and once the downloads come through every
    preview that was taken is shown (none dropped, none run twice)."""
    fake = running_app.fake
    taken = JOB_WORKERS + JOB_WAITING
    release, held = _hold_downloads(running_app, taken + 1)
    uploaders = [f"UADMIN2{i}" for i in range(taken + 1)]
    running_app.settings.admins = frozenset(uploaders)
    try:
        for i, user in enumerate(uploaders[:taken]):
            shared = _share(f"F{i}", f"1700000000.00050{i}", user, channel=f"D0Q{i}")
            assert running_app.event(shared, event_id=f"EvQueue{i}").status_code == 200
        wait_until(lambda: len(held) >= JOB_WORKERS, "the previews to start")
        last = _share(f"F{taken}", "1700000000.000599", uploaders[-1], channel="D0QLAST")
        assert running_app.event(last, event_id="EvQueueFull").status_code == 200
        busy = fake.wait_for("chat.postEphemeral")[0].body
        assert busy["channel"] == "D0QLAST" and busy["user"] == uploaders[-1]
        assert busy["thread_ts"] == "1700000000.000599"
        assert f"*F{taken}.csv* lese ich gerade nicht" in busy["text"]
        assert f"es laufen schon {JOB_WORKERS} Importe und Exporte, und {JOB_WAITING} warten" in busy["text"]
    finally:
        release.set()

    def previews() -> int:
        with Session(running_app.engine) as session:
            return int(session.scalar(select(func.count()).select_from(ImportRun)) or 0)

    wait_until(lambda: previews() == taken, "every preview that was taken to finish")
    running_app.settle()
    assert previews() == taken  # the refused file was not read afterwards either
    assert len(fake.of("chat.postEphemeral")) == 1
