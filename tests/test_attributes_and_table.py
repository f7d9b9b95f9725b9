"""User attributes (Nutzermerkmale), the contact details modal, and table settings, through Slack."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from bot.services import attributes
from bot.services.attributes import AttributeValueError, normalize
from storage.models import Attribute, AuditEntry, ContactAttribute
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, USER, RunningApp, block_actions, sealed, text_value, view_submission
from tests.factories import add_contact


@pytest.mark.parametrize(
    ("kind", "raw", "stored"),
    [
        ("number", "1.234,5", "1234.5"),
        ("number", "12", "12"),
        ("number", "3,25", "3.25"),
        ("date", "24.12.2026", "2026-12-24"),
        ("date", "2026-01-02", "2026-01-02"),
        ("bool", "Ja", "1"),
        ("bool", "no", "0"),
        ("text", " frei ", "frei"),
    ],
)
def test_values_are_stored_in_a_canonical_form(kind: str, raw: str, stored: str) -> None:
    assert normalize(kind, raw) == stored


@pytest.mark.parametrize(
    ("kind", "raw", "code"),
    [
        ("number", "abc", "attr.not_number"),
        ("date", "31.02.2026", "attr.not_date"),
        ("bool", "vielleicht", "attr.not_bool"),
    ],
)
def test_values_that_do_not_fit_are_errors(kind: str, raw: str, code: str) -> None:
    with pytest.raises(AttributeValueError) as err:
        normalize(kind, raw)
    assert err.value.code == code


def _open_menu(app: RunningApp, contact_id: int, choice: str, user: str = ADMIN) -> dict:
    app.command("", user=user)
    message = app.fake.wait_for("response_url")[0].body
    block = next(b for b in message["blocks"] if b.get("block_id", "").startswith(f"row{contact_id}|"))
    app.fake.clear()
    app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "contact_menu",
                "block_id": block["block_id"],
                "selected_option": {"value": sealed(f"{choice}:{contact_id}", purpose="contact_menu")},
            },
            user=user,
            response_url=app.fake.response_url("list"),
        )
    )
    return app.fake.wait_for("views.open")[0].body["view"]


def test_admin_edits_attributes_in_the_details_modal(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max", consent_source="import kunden.csv")
    visits = attributes.create(running_app.engine, "Besuche", "Visits", "number", "test")
    tier = attributes.create(running_app.engine, "Stufe", "Tier", "choice", "test", choices=["Gold", "Silber"])
    view = _open_menu(running_app, cid, "details")
    check_view(view)
    assert view.get("submit") and any(b.get("block_id") == f"a{visits.id}" for b in view["blocks"])
    bad = running_app.interact(
        view_submission(view, {f"a{visits.id}": text_value("viele"), f"a{tier.id}": text_value("gold")})
    )
    assert bad.json() == {"response_action": "errors", "errors": {f"a{visits.id}": "„viele“ ist keine Zahl."}}
    with Session(running_app.engine) as s:
        assert s.scalar(select(func.count()).select_from(ContactAttribute)) == 0  # nothing half-written
    running_app.fake.clear()
    ok = running_app.interact(
        view_submission(view, {f"a{visits.id}": text_value("7"), f"a{tier.id}": text_value("gold")})
    )
    assert ok.status_code == 200
    assert "gespeichert" in running_app.fake.wait_for("response_url")[0].body["text"]
    with Session(running_app.engine) as s:
        stored = dict(s.execute(select(ContactAttribute.attribute_id, ContactAttribute.value)).all())
    assert stored == {visits.id: "7", tier.id: "Gold"}


def test_non_admin_sees_attributes_read_only(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    plz = attributes.create(running_app.engine, "PLZ", None, "text", "test")
    attributes.set_contact_values(running_app.engine, cid, {plz.id: "<!here> 10115"}, "test")
    view = _open_menu(running_app, cid, "details", user=USER)
    check_view(view)
    assert "submit" not in view
    dumped = json.dumps(view, ensure_ascii=False)
    assert "&lt;!here&gt; 10115" in dumped and "Nur Admins" in dumped


def test_attribute_overview_add_and_delete_naming_holders(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.command("attributes")
    empty = running_app.fake.wait_for("response_url")[0].body
    check_blocks(empty["blocks"])
    running_app.fake.clear()
    running_app.interact(
        block_actions(
            {"type": "button", "action_id": "attribute_add", "block_id": "attr_actions", "value": "add"},
            response_url=running_app.fake.response_url("a"),
        )
    )
    view = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(view)
    values = {
        "label_de": text_value("Kundennummer"),
        "label_en": text_value("Customer no."),
        "type": {"v": {"type": "static_select", "selected_option": {"value": "choice"}}},
        "choices": text_value(""),
    }
    refused = running_app.interact(view_submission(view, values))
    assert refused.json()["errors"] == {"choices": "Eine Auswahl braucht mindestens einen erlaubten Wert."}
    values["type"] = {"v": {"type": "static_select", "selected_option": {"value": "text"}}}
    assert running_app.interact(view_submission(view, values)).status_code == 200
    running_app.fake.wait_for("response_url")
    with Session(running_app.engine) as s:
        attribute = s.scalars(select(Attribute)).one()
    assert (attribute.key, attribute.label_en) == ("kundennummer", "Customer no.")
    attributes.set_contact_values(running_app.engine, cid, {attribute.id: "K-1"}, "test")
    running_app.fake.clear()
    running_app.interact(
        block_actions(
            {
                "type": "overflow",
                "action_id": "attribute_menu",
                "block_id": f"attr{attribute.id}",
                "selected_option": {"value": sealed(f"delete:{attribute.id}", purpose="attribute_menu")},
            },
            response_url=running_app.fake.response_url("a"),
        )
    )
    confirm = running_app.fake.wait_for("views.open")[0].body["view"]
    check_view(confirm)
    assert "*1* Kontakte" in confirm["blocks"][0]["text"]["text"]
    running_app.fake.clear()
    running_app.interact(view_submission(confirm, {}))
    assert "1 Werte entfernt" in running_app.fake.wait_for("response_url")[0].body["text"]
    with Session(running_app.engine) as s:
        assert s.scalar(select(func.count()).select_from(Attribute)) == 0
        assert s.scalar(select(func.count()).select_from(ContactAttribute)) == 0
        assert (
            s.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "attribute.delete")) == 1
        )


def _table_modal(app: RunningApp, user: str = ADMIN) -> tuple[dict, dict]:
    app.fake.clear()
    app.command("", user=user)
    message = app.fake.wait_for("response_url")[0].body
    acts = next(b for b in message["blocks"] if b.get("block_id", "").startswith("acts|"))
    app.fake.clear()
    app.interact(
        block_actions(
            {"type": "button", "action_id": "list_table_settings", "block_id": acts["block_id"], "value": "table"},
            user=user,
            response_url=app.fake.response_url("list"),
        )
    )
    app.fake.wait_for("views.open")  # a loading modal, at once (the trigger lives 3 s) ...
    return message, app.fake.wait_for("views.update")[0].body["view"]  # ... then the settings


def _positions(order: list[str], all_keys: list[str]) -> dict:
    values = {}
    for key in all_keys:
        rank = str(order.index(key) + 1) if key in order else "hidden"
        values[f"pos|{key}"] = {"v": {"type": "static_select", "selected_option": {"value": rank}}}
    return values


def test_table_settings_choose_order_and_label_columns(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    plz = attributes.create(running_app.engine, "PLZ", "Postcode", "text", "test")
    attributes.set_contact_values(running_app.engine, cid, {plz.id: "10115"}, "test")
    _, view = _table_modal(running_app, user=USER)
    check_view(view)
    keys = [b["block_id"].removeprefix("pos|") for b in view["blocks"] if b.get("block_id", "").startswith("pos|")]
    assert keys[:7] == ["phone", "messenger", "first_contact", "last_chat", "blocked", "name", "status"]
    assert "attr:plz" in keys
    values = _positions(["name", "attr:plz", "status"], keys)
    values["label|attr:plz"] = text_value("Postleitzahl")
    values["scope"] = {"v": {"type": "radio_buttons", "selected_option": {"value": "user"}}}
    running_app.fake.clear()
    assert running_app.interact(view_submission(view, values, user=USER)).status_code == 200
    refreshed = running_app.fake.wait_for("response_url")[0].body
    check_blocks(refreshed["blocks"])
    row = next(b for b in refreshed["blocks"] if b.get("block_id", "").startswith("row"))["text"]["text"]
    assert "Postleitzahl: 10115" in row and "aktiv" in row
    assert "+49" not in row and "Erstkontakt" not in row
    # the override is the user's own: an admin still sees the default columns
    running_app.fake.clear()
    running_app.command("", user=ADMIN)
    admin_row = next(
        b
        for b in running_app.fake.wait_for("response_url")[0].body["blocks"]
        if b.get("block_id", "").startswith("row")
    )["text"]["text"]
    assert "+49 170 11111111" in admin_row and "Postleitzahl" not in admin_row


def test_only_admins_change_the_workspace_default(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Max")
    _, view = _table_modal(running_app, user=USER)
    keys = [b["block_id"].removeprefix("pos|") for b in view["blocks"] if b.get("block_id", "").startswith("pos|")]
    values = _positions(["name"], keys)
    values["scope"] = {"v": {"type": "radio_buttons", "selected_option": {"value": "workspace"}}}
    refused = running_app.interact(view_submission(view, values, user=USER))
    assert refused.json()["response_action"] == "errors" and "scope" in refused.json()["errors"]
    nothing = running_app.interact(
        view_submission(
            view,
            _positions([], keys) | {"scope": {"v": {"type": "radio_buttons", "selected_option": {"value": "user"}}}},
            user=USER,
        )
    )
    assert "Mindestens eine Spalte" in json.dumps(nothing.json(), ensure_ascii=False)


def test_many_long_attribute_columns_stay_within_slack_limits(running_app: RunningApp) -> None:
    from bot.services import table_settings
    from tests.factories import add_many

    ids = add_many(running_app.engine, 20)
    created = [attributes.create(running_app.engine, f"Merkmal {i}", None, "text", "test") for i in range(25)]
    for cid in ids:
        attributes.set_contact_values(running_app.engine, cid, {a.id: "x" * 900 for a in created}, "test")
    spec = [{"key": k, "visible": True} for k in table_settings.CORE] + [
        {"key": f"attr:{a.key}", "visible": True} for a in created
    ]
    table_settings.save(running_app.engine, "T111", None, spec, "test")
    running_app.command("")
    message = running_app.fake.wait_for("response_url")[0].body
    check_blocks(message["blocks"])
    total = sum(len(b["text"]["text"]) for b in message["blocks"] if "text" in b and "text" in b["text"])
    assert total < 12000  # Slack's cumulative text limit for one message
    rows = [b["text"]["text"] for b in message["blocks"] if b.get("block_id", "").startswith("row")]
    assert len(rows) == 20 and all(r.endswith("…") for r in rows)


def test_table_settings_delete_choice_asks_to_confirm_naming_holders(running_app: RunningApp) -> None:
    """Choosing "delete" for an attribute column pushes the confirmation that names how many contacts hold a value."""
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    plz = attributes.create(running_app.engine, "PLZ", "Postcode", "text", "test")
    attributes.set_contact_values(running_app.engine, cid, {plz.id: "10115"}, "test")
    _, view = _table_modal(running_app, user=ADMIN)
    keys = [b["block_id"].removeprefix("pos|") for b in view["blocks"] if b.get("block_id", "").startswith("pos|")]
    values = _positions(["name", "status"], keys)
    values["pos|attr:plz"] = {"v": {"type": "static_select", "selected_option": {"value": "delete"}}}
    values["scope"] = {"v": {"type": "radio_buttons", "selected_option": {"value": "user"}}}
    answer = running_app.interact(view_submission(view, values, user=ADMIN))
    assert answer.status_code == 200
    pushed = answer.json()
    assert pushed["response_action"] == "push"
    check_view(pushed["view"])
    assert pushed["view"]["callback_id"] == "attribute_delete"
    body = json.dumps(pushed["view"]["blocks"], ensure_ascii=False)
    assert "PLZ" in body and "*1* Kontakte" in body


def test_table_settings_open_with_more_columns_than_a_select_takes(running_app: RunningApp) -> None:
    """Issue 16 item 2: 95 attribute columns (a position select per column had one option per column: > 100)."""
    from bot.services import table_settings

    add_contact(running_app.engine, "+4917011111111", "Max")
    created = [attributes.create(running_app.engine, f"Merkmal {i}", None, "text", "test") for i in range(95)]
    spec = [{"key": k, "visible": True} for k in table_settings.CORE] + [
        {"key": f"attr:{a.key}", "visible": True} for a in created
    ]
    table_settings.save(running_app.engine, "T111", None, spec, "test")
    _, view = _table_modal(running_app)
    check_view(view)  # the fake refused it before (the test fails on any refusal, too)
    selects = [b["element"] for b in view["blocks"] if b.get("block_id", "").startswith("pos|")]
    assert selects and all(len(s["options"]) <= 100 for s in selects)
    assert selects[0]["initial_option"]["value"] == "1"


def test_a_note_after_the_response_url_expired_goes_to_the_dm(running_app: RunningApp) -> None:
    """Issue 16 item 10: a response_url lasts 30 minutes; a modal open longer still tells the user (by DM)."""
    from handlers.blocks.attributes import ATTR_SAVE_CALLBACK, attribute_modal
    from tests.conftest import sealed_metadata, view_submission

    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    url = running_app.fake.response_url("old")
    running_app.fake.advance(31 * 60)  # the user left the modal open for 31 minutes
    view = attribute_modal(None, "de", {})
    view["private_metadata"] = sealed_metadata({"url": url}, purpose=ATTR_SAVE_CALLBACK)
    values = {"label_de": {"v": {"type": "plain_text_input", "value": "Kundennummer"}}}
    values["type"] = {"v": {"type": "static_select", "selected_option": {"value": "text"}}}
    assert running_app.interact(view_submission(view, values)).status_code == 200
    dm = running_app.fake.wait_for("chat.postMessage")[0].body
    assert dm["channel"] == "D0ADMIN" and "Kundennummer" in dm["text"]
    assert running_app.fake.of("response_url")  # tried first: Slack answered expired_url
