"""Target groups: saved filters evaluated in SQL, saved from the list, listed with counts, used as a filter."""

from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlmodel import Session

from bot.services import attributes, audiences
from bot.services.audiences import AudienceError
from storage.models import Audience, utcnow
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, USER, RunningApp, block_actions, sealed, text_value, view_submission
from tests.factories import add_contact


def _seed(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    now = utcnow()
    ids = {
        "anna": add_contact(engine, "+4917011111111", "Anna", last_chat_at=now - timedelta(days=2)),
        "bert": add_contact(engine, "+4917022222222", "Bert", last_chat_at=now - timedelta(days=40)),
        "cora": add_contact(engine, "+4917033333333", "Cora", messenger="telegram", last_chat_at=None),
        "dora": add_contact(engine, "+4917044444444", "Dora", active=False, last_chat_at=now - timedelta(days=1)),
    }
    plz = attributes.create(engine, "PLZ", "Postcode", "text", "test")
    visits = attributes.create(engine, "Besuche", "Visits", "number", "test")
    attributes.set_contact_values(engine, ids["anna"], {plz.id: "10115", visits.id: "12"}, "test")
    attributes.set_contact_values(engine, ids["bert"], {plz.id: "80331", visits.id: "3"}, "test")
    attributes.set_contact_values(engine, ids["dora"], {plz.id: "10117"}, "test")
    return ids


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ({"conditions": [{"field": "status", "value": "active"}]}, 3),
        ({"conditions": [{"field": "messenger", "value": ["telegram"]}]}, 1),
        ({"conditions": [{"field": "last_chat", "op": "within_days", "value": 7}]}, 2),
        ({"conditions": [{"field": "last_chat", "op": "empty"}]}, 1),
        ({"conditions": [{"field": "attr:plz", "op": "contains", "value": "101"}]}, 2),
        ({"conditions": [{"field": "attr:besuche", "op": "gt", "value": "5"}]}, 1),
        ({"conditions": [{"field": "attr:besuche", "op": "lt", "value": "5"}]}, 1),
        ({"conditions": [{"field": "attr:besuche", "op": "empty"}]}, 2),
        ({"conditions": [{"field": "attr:plz", "op": "in", "value": ["80331", "10115"]}]}, 2),
        ({"conditions": [{"field": "attr:plz", "op": "ne", "value": "10115"}]}, 3),
        (
            {
                "match": "all",
                "conditions": [
                    {"field": "status", "value": "active"},
                    {"field": "attr:plz", "op": "contains", "value": "101"},
                ],
            },
            1,
        ),
        (
            {
                "match": "any",
                "conditions": [
                    {"field": "messenger", "value": ["telegram"]},
                    {"field": "attr:besuche", "op": "gt", "value": "10"},
                ],
            },
            2,
        ),
    ],
)
def test_group_membership_is_computed_in_sql(engine, spec, expected) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    info = audiences.create(engine, f"Gruppe {time.time_ns()}", spec, "test")
    assert info.members == expected


def test_bad_group_definitions_are_refused_with_reasons(engine) -> None:  # type: ignore[no-untyped-def]
    _seed(engine)
    audiences.create(engine, "Berlin", {"conditions": []}, "test")
    with pytest.raises(AudienceError) as taken:
        audiences.create(engine, " berlin ".upper().lower().replace("b", "B"), {"conditions": []}, "test")
    assert taken.value.code == "audience.name_taken"
    with pytest.raises(AudienceError) as unknown:
        audiences.create(engine, "X", {"conditions": [{"field": "attr:nope", "op": "eq", "value": "1"}]}, "test")
    assert unknown.value.code == "audience.unknown_attribute"
    with pytest.raises(AudienceError) as days:
        audiences.create(
            engine, "Y", {"conditions": [{"field": "last_chat", "op": "within_days", "value": "x"}]}, "test"
        )
    assert days.value.code == "audience.bad_days"
    with Session(engine) as s:
        assert [a.name for a in s.scalars(select(Audience))] == ["Berlin"]


def test_save_list_filter_as_group_then_filter_by_it(running_app: RunningApp) -> None:
    _seed(running_app.engine)
    running_app.command("")
    message = running_app.fake.wait_for("response_url")[0].body
    controls = next(b for b in message["blocks"] if b.get("block_id", "").startswith("ctl|"))
    running_app.fake.clear()
    running_app.interact(
        block_actions(
            {
                "type": "static_select",
                "action_id": "list_messenger",
                "block_id": controls["block_id"],
                "selected_option": {"value": "whatsapp"},
            },
            response_url=running_app.fake.response_url("list"),
        )
    )
    filtered = running_app.fake.wait_for("response_url")[0].body
    acts = next(b for b in filtered["blocks"] if b.get("block_id", "").startswith("acts|"))
    save = next(e for e in acts["elements"] if e["action_id"] == "list_save_audience")
    running_app.fake.clear()
    running_app.interact(
        block_actions(
            {"type": "button", "action_id": "list_save_audience", "block_id": acts["block_id"], "value": save["value"]},
            response_url=running_app.fake.response_url("list"),
        )
    )
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    summary = view["blocks"][0]["text"]["text"]
    assert summary == "Gespeichert wird der aktuelle Filter: Status: aktiv, Messenger: WhatsApp."  # its proper name
    running_app.fake.clear()
    response = running_app.interact(
        view_submission(view, {"name": {"name": {"type": "plain_text_input", "value": "WhatsApp aktiv"}}})
    )
    assert response.status_code == 200
    shown = running_app.fake.wait_for("response_url")[0].body
    check_blocks(shown["blocks"])
    assert "Zielgruppe „WhatsApp aktiv“ gespeichert: 2 Kontakte" in shown["blocks"][0]["elements"][0]["text"]
    assert "Zielgruppe: WhatsApp aktiv" in shown["blocks"][1]["text"]["text"]
    rows = [b for b in shown["blocks"] if b.get("block_id", "").startswith("row")]
    assert len(rows) == 2
    # the same name again is refused inside the modal
    again = running_app.interact(
        view_submission(view, {"name": {"name": {"type": "plain_text_input", "value": "whatsapp  AKTIV"}}})
    )
    assert "errors" in again.text or again.json()["response_action"] == "errors"
    running_app.fake.clear()
    running_app.command("groups")
    groups = running_app.fake.wait_for("response_url")[0].body
    check_blocks(groups["blocks"])
    assert "WhatsApp aktiv" in json.dumps(groups, ensure_ascii=False)
    assert "2 Kontakte" in json.dumps(groups, ensure_ascii=False)


def test_non_admin_cannot_save_or_delete_groups(running_app: RunningApp) -> None:
    info = audiences.create(running_app.engine, "Alle", {"conditions": []}, "test")
    running_app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "audience_menu",
                "block_id": f"aud{info.id}",
                "selected_option": {"value": sealed(f"delete:{info.id}", purpose="audience_menu")},
            },
            user=USER,
            response_url=running_app.fake.response_url("g"),
        )
    )
    refusal = running_app.fake.wait_for("response_url")[0].body
    assert "CONTACTBOT_ADMINS" in refusal["text"]
    running_app.settle()
    assert not running_app.fake.of("views.open")
    with Session(running_app.engine) as s:
        assert s.get(Audience, info.id) is not None


def test_delete_group_keeps_contacts(running_app: RunningApp) -> None:
    ids = _seed(running_app.engine)
    info = audiences.create(
        running_app.engine, "Berlin", {"conditions": [{"field": "attr:plz", "op": "contains", "value": "101"}]}, "test"
    )
    running_app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "audience_menu",
                "block_id": f"aud{info.id}",
                "selected_option": {"value": sealed(f"delete:{info.id}", purpose="audience_menu")},
            },
            user=ADMIN,
            response_url=running_app.fake.response_url("g"),
        )
    )
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    assert "Berlin" in view["blocks"][0]["text"]["text"] and "2" in view["blocks"][0]["text"]["text"]
    running_app.interact(view_submission(view, {}))
    running_app.fake.wait_for("response_url")
    with Session(running_app.engine) as s:
        assert s.get(Audience, info.id) is None
    from storage.models import Contact

    with Session(running_app.engine) as s:
        assert s.get(Contact, ids["anna"]) is not None


def test_new_group_modal_with_an_attribute_condition(running_app: RunningApp) -> None:
    _seed(running_app.engine)
    running_app.interact(
        block_actions(
            {"type": "button", "action_id": "audience_new", "block_id": "aud_actions", "value": "new"},
            response_url=running_app.fake.response_url("g"),
        )
    )
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    values = {
        "name": {"name": {"type": "plain_text_input", "value": "Vielbesucher"}},
        "match": {"v": {"type": "static_select", "selected_option": {"value": "all"}}},
        "status": {"v": {"type": "static_select", "selected_option": {"value": "active"}}},
        "attr": {"v": {"type": "static_select", "selected_option": {"value": "besuche"}}},
        "attr_op": {"v": {"type": "static_select", "selected_option": {"value": "gt"}}},
        "attr_value": text_value("5"),
        "last_chat_days": text_value("abc"),
    }
    bad = running_app.interact(view_submission(view, values))
    assert bad.json()["response_action"] == "errors" and "last_chat_days" in bad.json()["errors"]
    values["last_chat_days"] = text_value("")
    assert running_app.interact(view_submission(view, values)).text in ("", "null")
    confirmation = running_app.fake.wait_for("response_url")[0].body
    assert "Vielbesucher" in confirmation["text"] and "1 Kontakte" in confirmation["text"]
