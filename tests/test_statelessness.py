"""Web processes keep no state: two `contactbot serve` processes on one PostgreSQL answer each other's messages.

This is what lets an operator run several web processes (`serve --no-scheduler`, as in compose.yaml):
Slack may send the click on a message to a different process than the one that rendered it.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine, select

from storage.db import make_engine
from storage.models import Contact
from tests import serve_process
from tests.conftest import ADMIN, PG_URL, RunningApp, _truncate_pg, block_actions, menu_value
from tests.factories import add_contact, add_many
from tests.fakes.slack_api import FakeSlack

pytestmark = pytest.mark.skipif(not PG_URL, reason="CONTACTBOT_TEST_DATABASE_URL is not set (PostgreSQL)")


@pytest.fixture
def pg_engine(pg_migrated: str) -> Iterator[Engine]:
    _truncate_pg(pg_migrated)
    engine = make_engine(pg_migrated)
    yield engine
    engine.dispose()


@pytest.fixture
def two_processes(
    pg_migrated: str, pg_engine: Engine, fake_slack: FakeSlack, tmp_path: Path
) -> Iterator[tuple[RunningApp, RunningApp]]:
    a = serve_process.serve(pg_migrated, fake_slack, tmp_path / "a.log", "--no-scheduler")
    try:
        b = serve_process.serve(pg_migrated, fake_slack, tmp_path / "b.log", "--no-scheduler")
    except BaseException:
        a.stop()
        raise
    try:
        with httpx.Client(timeout=10) as http:
            yield (
                serve_process.client(a, fake_slack, pg_engine, http),
                serve_process.client(b, fake_slack, pg_engine, http),
            )
    finally:
        codes = (a.stop(), b.stop())
    assert codes == (0, 0), a.logs() + b.logs()


def _answer(app: RunningApp) -> dict[str, Any]:
    return app.fake.wait_for("response_url")[0].body


def _open(app: RunningApp, text: str = "") -> dict[str, Any]:
    app.fake.clear()
    assert app.command(text).status_code == 200
    return _answer(app)


def _click(app: RunningApp, message: dict[str, Any], block_prefix: str, action_id: str, **extra: Any) -> None:
    block = next(b for b in message["blocks"] if b.get("block_id", "").startswith(block_prefix))
    element = next(e for e in block["elements"] if e["action_id"] == action_id)
    action = {
        "type": element["type"],
        "action_id": action_id,
        "block_id": block["block_id"],
        "value": element.get("value", ""),
        "action_ts": str(time.time()),
        **extra,
    }
    app.fake.clear()
    assert app.interact(block_actions(action, response_url=app.fake.response_url("list"))).status_code == 200


def _header(message: dict[str, Any]) -> str:
    return str(message["blocks"][0]["text"]["text"])


def _rows(message: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in message["blocks"] if b.get("block_id", "").startswith("row")]


def test_a_page_rendered_by_one_process_is_paged_by_the_other(two_processes: tuple[RunningApp, RunningApp]) -> None:
    a, b = two_processes
    add_many(a.engine, 45)
    first = _open(a)
    assert "1–20 von 45" in _header(first)
    _click(b, first, "nav|", "list_next")
    second = _answer(b)
    assert "21–40 von 45" in _header(second)
    assert not set(_rows(first)) & set(_rows(second))
    _click(a, second, "nav|", "list_next")
    third = _answer(a)
    assert "41–45 von 45" in _header(third) and len(_rows(third)) == 5


def _menu_values(message: dict[str, Any], contact_id: int) -> list[str]:
    row = next(b for b in message["blocks"] if b.get("block_id", "").startswith(f"row{contact_id}|"))
    return [o["value"] for o in row["accessory"]["options"]]


def test_a_contact_blocked_through_one_process_is_blocked_through_the_other(
    two_processes: tuple[RunningApp, RunningApp],
) -> None:
    a, b = two_processes
    cid = add_contact(a.engine, "+4917011111111", "Max Mustermann")
    add_contact(a.engine, "+4917022222222", "Erika Musterfrau")
    listed = _open(a)
    row = next(blk for blk in listed["blocks"] if blk.get("block_id", "").startswith(f"row{cid}|"))
    option = next(o for o in row["accessory"]["options"] if o["value"] == menu_value("block", cid))
    a.fake.clear()
    a.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "contact_menu",
                "block_id": row["block_id"],
                "selected_option": option,
                "action_ts": str(time.time()),
            },
            response_url=a.fake.response_url("list"),
        )
    )
    assert "blockiert" in json.dumps(_answer(a), ensure_ascii=False)
    seen_by_b = _open(b)
    assert menu_value("unblock", cid) in _menu_values(seen_by_b, cid)  # B offers to unblock: it sees the block
    assert menu_value("block", cid) not in _menu_values(seen_by_b, cid)


def _wait_update(app: RunningApp, contains: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for call in app.fake.of("chat.update"):
            if contains in json.dumps(call.body, ensure_ascii=False):
                return call.body
        time.sleep(0.05)
    raise AssertionError(f"no chat.update containing {contains!r}")


def test_an_import_previewed_by_one_process_is_confirmed_through_the_other(
    two_processes: tuple[RunningApp, RunningApp],
) -> None:
    a, b = two_processes
    csv = b"Nummer;Name\r\n+4917011111111;Anna Alt\r\n+4917022222222;Bert Neu\r\n"
    a.fake.files["kunden.csv"] = (csv, "text/csv")
    info = {
        "id": "F1",
        "name": "kunden.csv",
        "filetype": "csv",
        "mimetype": "text/csv",
        "size": len(csv),
        "url_private_download": f"{a.fake.base}/files/kunden.csv",
    }
    a.fake.responders["files.info"] = lambda call: {"ok": True, "file": info}
    ts = "1700000000.000200"
    assert (
        a.event(
            {
                "type": "message",
                "subtype": "file_share",
                "text": "",
                "user": ADMIN,
                "channel": "C111",
                "channel_type": "channel",
                "ts": ts,
                "event_ts": ts,
                "files": [{"id": "F1", "name": "kunden.csv", "filetype": "csv", "mimetype": "text/csv"}],
            }
        ).status_code
        == 200
    )
    preview = _wait_update(a, "import_confirm")  # the preview made by process A
    assert not list_contacts(a.engine)
    buttons = next(blk for blk in preview["blocks"] if blk["type"] == "actions")
    confirm = next(e for e in buttons["elements"] if e["action_id"] == "import_confirm")
    action = {
        "type": "button",
        "action_id": "import_confirm",
        "block_id": buttons["block_id"],
        "value": confirm["value"],
        "action_ts": str(time.time()),
    }
    container = {"type": "message", "message_ts": "1700000000.000300", "channel_id": "C111", "is_ephemeral": False}
    b.fake.clear()
    assert (
        b.interact(block_actions(action, response_url=b.fake.response_url("imp"), container=container)).status_code
        == 200
    )  # confirmed through process B
    done = _wait_update(b, "importiert von")
    assert "2 neu" in json.dumps(done, ensure_ascii=False)
    assert sorted(list_contacts(a.engine)) == ["+4917011111111", "+4917022222222"]


def list_contacts(engine: Engine) -> list[str]:
    with engine.connect() as conn:
        return list(conn.execute(select(Contact.phone)).scalars())  # type: ignore[call-overload]
