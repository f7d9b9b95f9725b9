"""Issue 15 item 7: an account with more templates than a static select holds picks any of them by search.

Through the real server: the composer offers an external select, Slack's block_suggestion request
(signed, like every interaction) is answered with the matching templates; unsupported kinds never
appear.
"""

from __future__ import annotations

from typing import Any

import pytest

from bot.config.settings import Settings
from handlers.list_state import ListState, join
from tests.blockkit import check_view
from tests.conftest import ADMIN, RunningApp, block_actions
from tests.fakes import graph_api
from tests.fakes.slack_api import FakeSlack
from tests.webhooks import webhook_settings

pytest_plugins = ("tests.broadcast_fixtures",)


def _template(i: int, **extra: Any) -> dict[str, Any]:
    return {
        "name": f"vorlage_{i:03d}",
        "language": "de",
        "status": "APPROVED",
        "category": "UTILITY",
        "id": str(1000 + i),
        "components": [{"type": "BODY", "text": f"Nachricht {i}"}],
        **extra,
    }


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack, fake_graph: graph_api.FakeGraph) -> Settings:
    templates = [_template(i) for i in range(300)]
    templates.append(_template(300, category="AUTHENTICATION"))
    fake_graph.configure(templates=templates)
    return webhook_settings(db_url, fake_slack, WHATSAPP_DAILY_LIMIT=0, **fake_graph.env())


def _suggest(app: RunningApp, view: dict[str, Any], value: str) -> list[str]:
    payload = {
        "type": "block_suggestion",
        "user": {"id": ADMIN, "team_id": "T111"},
        "team": {"id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "action_id": "tpl_search",
        "block_id": "tpl",
        "value": value,
        "view": view,
    }
    response = app.interact(payload)
    assert response.status_code == 200
    return [o["value"] for o in response.json()["options"]]


def test_three_hundred_templates_are_all_reachable_by_search(running_app: RunningApp) -> None:
    action = {"type": "button", "action_id": "list_notify", "value": "notify", "block_id": join("acts", ListState())}
    action["action_ts"] = "1"
    response_url = running_app.fake.response_url("list")
    assert running_app.interact(block_actions(action, user=ADMIN, response_url=response_url)).status_code == 200
    view = running_app.fake.wait_for("views.update")[-1].body["view"]
    check_view(view)
    element = view["blocks"][0]["element"]
    assert element["type"] == "external_select" and element["action_id"] == "tpl_search"
    assert _suggest(running_app, view, "vorlage_27") == [
        f"vorlage_{i}|de" for i in (270, 271, 272, 273, 274, 275, 276, 277, 278, 279)
    ]
    assert _suggest(running_app, view, "vorlage_299") == ["vorlage_299|de"]
    assert len(_suggest(running_app, view, "")) == 100  # Slack shows at most 100; typing narrows it
    assert _suggest(running_app, view, "vorlage_300") == []  # authentication: not offered
