"""Slack's own faults (429 with Retry-After, 5xx) do not lose the user's action nor do it twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import AuditEntry, Contact
from tests.conftest import RunningApp, block_actions, sealed
from tests.factories import add_contact
from tests.fakes.slack_api import Call


def failing_first(times: int, status: int, ok: Callable[[Call], Any], headers: dict[str, str] | None = None):
    """A responder that fails `times` times with `status`, then answers like `ok`."""
    seen = {"n": 0}

    def respond(call: Call) -> Any:
        seen["n"] += 1
        if seen["n"] <= times:
            body = json.dumps({"ok": False, "error": "ratelimited"} if status == 429 else {"ok": False}).encode()
            return status, {"Content-Type": "application/json", **(headers or {})}, body
        return ok(call)

    return respond


def plain_ok(_: Call) -> tuple[int, dict[str, str], bytes]:
    return 200, {"Content-Type": "text/plain"}, b"ok"


def test_rate_limited_response_url_is_retried_and_the_change_happens_once(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.command("")
    message = running_app.fake.wait_for("response_url")[0].body
    row = next(b for b in message["blocks"] if b.get("block_id", "").startswith(f"row{cid}|"))
    running_app.fake.clear()
    running_app.fake.responders["response_url"] = failing_first(1, 429, plain_ok, {"Retry-After": "1"})
    running_app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "contact_menu",
                "block_id": row["block_id"],
                "selected_option": {"value": sealed(f"block:{cid}", purpose="contact_menu")},
            },
            response_url=running_app.fake.response_url("list"),
        )
    )
    calls = running_app.fake.wait_for("response_url", count=2)
    assert calls[0].body == calls[1].body and "blockiert" in json.dumps(calls[1].body, ensure_ascii=False)
    with Session(running_app.engine) as s:
        assert s.get(Contact, cid).blocked is True
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == 1


def test_server_errors_on_response_url_are_retried(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.fake.responders["response_url"] = failing_first(2, 503, plain_ok)
    running_app.command("")
    calls = running_app.fake.wait_for("response_url", count=3)
    assert "Max" in json.dumps(calls[-1].body["blocks"])


def test_rate_limited_views_open_still_opens_the_modal(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.fake.responders["views.open"] = failing_first(
        1, 429, lambda call: {"ok": True, "view": {"id": "V1"}}, {"Retry-After": "1"}
    )
    running_app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "contact_menu",
                "block_id": f"row{cid}|l|d|a||||0|",
                "selected_option": {"value": sealed(f"ticket:{cid}", purpose="contact_menu")},
            },
            response_url=running_app.fake.response_url("list"),
        )
    )
    opened = running_app.fake.wait_for("views.open", count=2)
    assert opened[1].body["view"]["callback_id"] == "contact_ticket"


def test_users_info_failure_falls_back_to_german(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.fake.responders["users.info"] = lambda call: (500, {"Content-Type": "text/plain"}, b"oops")
    running_app.command("")
    answer = running_app.fake.wait_for("response_url")[0].body
    assert "von 1" in answer["blocks"][0]["text"]["text"]
