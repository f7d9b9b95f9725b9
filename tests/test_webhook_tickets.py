"""Real conversations in Slack: the last-ticket modal shows what came in, and admins can close it."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from bot.config.settings import Settings
from bot.i18n import t
from bot.services.contacts import last_ticket
from handlers.blocks.contact_modals import last_ticket as last_ticket_modal
from tests.blockkit import check_view
from tests.conftest import ADMIN, USER, RunningApp, app_seal, block_actions, sealed
from tests.factories import add_contact
from tests.fakes.slack_api import FakeSlack
from tests.test_list_actions import _menu, _open_list
from tests.webhooks import contact, data, post_meta, tickets, webhook_settings

ERIKA = "+4917612345678"


@pytest.fixture
def settings(db_url: str, fake_slack: FakeSlack) -> Settings:
    return webhook_settings(db_url, fake_slack)


def _ticket_modal(app: RunningApp, cid: int, user: str = ADMIN) -> dict[str, Any]:
    _menu(app, _open_list(app, user=user), cid, "ticket", user=user)
    view = app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    return view


def _close_button(view: dict[str, Any]) -> dict[str, Any] | None:
    for block in view["blocks"]:
        for element in block.get("elements", []):
            if element.get("action_id") == "ticket_close":
                return element
    return None


def _click_close(app: RunningApp, view: dict[str, Any], ticket_id: int, user: str = ADMIN) -> dict[str, Any]:
    app.fake.clear()
    action = {
        "type": "button",
        "action_id": "ticket_close",
        "block_id": "ticket_actions",
        "value": sealed(str(ticket_id), purpose="ticket_close"),
        "action_ts": str(time.time()),
    }
    payload = block_actions(action, user=user, container={"type": "view", "view_id": "V1"})
    payload["view"] = {
        **view,
        "id": "V1",
        "team_id": "T111",
        "state": {"values": {}},
        "hash": "1.abc",
        "app_id": "A111",
        "bot_id": "B111",
    }
    payload.pop("channel"), payload.pop("response_url")
    assert app.interact(payload).status_code == 200
    update = app.fake.wait_for("views.update")[0].body
    assert update["view_id"] == "V1"
    check_view(update["view"])
    return update["view"]


def test_modal_shows_real_messages_and_admin_closes_the_ticket(running_app: RunningApp) -> None:
    for name in ("text.json", "image.json", "location.json"):
        post_meta(running_app, data(name))
    erika = contact(running_app.engine, ERIKA)
    [ticket] = tickets(running_app.engine, erika.id)
    view = _ticket_modal(running_app, erika.id)
    shown = json.dumps(view, ensure_ascii=False)
    assert "Hallo, ist mein Paket unterwegs?" in shown
    assert "_[Bild]_ Der Karton ist nass" in shown and "_[Standort]_ Packstation 101" in shown
    button = _close_button(view)
    assert (
        button is not None and button["value"] == sealed(str(ticket.id), purpose="ticket_close") and "confirm" in button
    )
    updated = _click_close(running_app, view, ticket.id)
    assert f"Ticket #{ticket.id} ist geschlossen." in json.dumps(updated, ensure_ascii=False)
    assert "geschlossen" in json.dumps(updated["blocks"][2], ensure_ascii=False)  # the status field
    assert _close_button(updated) is None
    assert tickets(running_app.engine, erika.id)[0].status == "closed"
    post_meta(running_app, json.loads(data("text.json").decode().replace("wamid.test.text.1", "wamid.next")))
    assert [t.status for t in tickets(running_app.engine, erika.id)] == ["closed", "open"]


def test_non_admin_sees_no_button_and_a_forged_click_changes_nothing(running_app: RunningApp) -> None:
    post_meta(running_app, data("text.json"))
    erika = contact(running_app.engine, ERIKA)
    [ticket] = tickets(running_app.engine, erika.id)
    view = _ticket_modal(running_app, erika.id, user=USER)
    assert _close_button(view) is None
    updated = _click_close(running_app, view, ticket.id, user=USER)
    assert t("auth.not_admin") in json.dumps(updated, ensure_ascii=False)
    assert _close_button(updated) is None
    assert tickets(running_app.engine, erika.id)[0].status == "open"


def test_modal_notes_that_a_blocked_contact_wrote(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, ERIKA, "Erika", blocked=True)
    post_meta(running_app, data("text.json"))
    post_meta(running_app, data("image.json"))
    view = _ticket_modal(running_app, cid)
    shown = json.dumps(view, ensure_ascii=False)
    assert "Blockiert: 2 Nachricht(en) nicht zugestellt" in shown and "<!date^1767261700^" in shown
    assert "Hallo, ist mein Paket" not in shown  # a blocked contact's words reach no one
    assert _close_button(view) is None and "noch kein Ticket" in shown


def test_modal_notes_an_opt_out_in_both_languages(running_app: RunningApp) -> None:
    body = json.loads(data("text.json"))
    body["entry"][0]["changes"][0]["value"]["messages"][0]["text"] = {"body": "Stop"}
    post_meta(running_app, json.dumps(body).encode())
    erika = contact(running_app.engine, ERIKA)
    contact_, found = last_ticket(running_app.engine, erika.id)
    for lang, words in (("de", "Abgemeldet (Einwilligung widerrufen)"), ("en", "Opted out (consent withdrawn)")):
        view = last_ticket_modal(contact_, found, lang, can_close=True, seal=app_seal)
        check_view(view)
        assert words in json.dumps(view, ensure_ascii=False) and _close_button(view) is not None
