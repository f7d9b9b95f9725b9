"""The harness's own promises: a test that asserts "nothing happened" after `settle()` relies on them."""

from __future__ import annotations

import threading
from typing import Any

from tests.conftest import RunningApp
from tests.fakes.slack_api import Call


def test_settle_returns_only_after_the_lazy_listener_has_answered(running_app: RunningApp) -> None:
    reached, release = threading.Event(), threading.Event()

    def held(call: Call) -> dict[str, Any]:
        reached.set()
        release.wait(120)
        return {"ok": True, "user": {"id": call.body.get("user", ""), "locale": "de-DE"}}

    running_app.fake.responders["users.info"] = held
    try:
        assert running_app.command("").status_code == 200  # acked; the list is built in a lazy listener
        assert reached.wait(60)
        # the listener is held mid-way: settle() must see it as unfinished (or it would prove nothing)
        assert any(executor.unfinished() for executor in running_app.executors)
        assert not running_app.fake.of("response_url")
    finally:
        release.set()
    running_app.settle()
    assert len(running_app.fake.of("response_url")) == 1  # already there: no waiting after settle()
