"""The App Home tab through the real server: published on app_home_opened, buttons answer in the DM."""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from sqlalchemy import insert

from bot.services.dashboard import Dashboard
from handlers.blocks.app_home import home_view
from storage.models import ImportRun, utcnow
from storage.stats import BroadcastInfo, ContactCounts, RunInfo
from tests.blockkit import check_blocks, check_view
from tests.conftest import ADMIN, USER, RunningApp, block_actions
from tests.factories import add_contact

HOME_CONTAINER = {"type": "view", "view_id": "VHOME1"}


def _open_home(app: RunningApp, user: str = ADMIN) -> dict[str, Any]:
    app.fake.clear()
    app.event(
        {"type": "app_home_opened", "user": user, "channel": "D0HOME", "tab": "home", "event_ts": f"{time.time():.6f}"},
        event_id=f"Ev{time.monotonic_ns()}",
    )
    call = app.fake.wait_for("views.publish")[0]
    assert call.body["user_id"] == user
    view = call.body["view"]
    check_view(view)
    return view


def _text(view: dict[str, Any]) -> str:
    return json.dumps(view["blocks"], ensure_ascii=False)


def _click_home(app: RunningApp, action_id: str, user: str = ADMIN) -> None:
    app.fake.clear()
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": "home_actions",
        "value": action_id.removeprefix("home_"),
        "action_ts": str(time.time()),
    }
    response = app.interact(block_actions(action, user=user, container=HOME_CONTAINER))
    assert response.status_code == 200


def test_home_tab_shows_counts_by_status_messenger_and_recent_imports(running_app: RunningApp) -> None:
    now = utcnow()
    add_contact(running_app.engine, "+4917011111111", "Anna", first_contact_at=now - timedelta(days=2))
    add_contact(running_app.engine, "+4917022222222", "Bernd", first_contact_at=now - timedelta(days=20))
    add_contact(running_app.engine, "+4917033333333", "Carla", active=False)
    add_contact(running_app.engine, "+4917044444444", "Dora", blocked=True, messenger="telegram")
    with running_app.engine.begin() as conn:
        conn.execute(
            insert(ImportRun.__table__),
            {  # type: ignore[attr-defined]
                "file_name": "kunden<neu>.csv",
                "file_sha256": "0" * 64,
                "status": "applied",
                "created_by": "slack:UADMIN01",
                "created_at": now,
                "applied_at": now,
                "applied_by": "slack:UADMIN01",
                "summary": {
                    "rows": 1203,
                    "counts": {"created": 1200, "updated": 3, "rejected": 0},
                    "headers": ["Nummer"],
                },
            },
        )
    view = _open_home(running_app)
    text = _text(view)
    counts = next(b for b in view["blocks"] if b.get("block_id") == "home_counts")
    assert [f["text"] for f in counts["fields"]] == ["*Alle*\n4", "*Aktiv*\n3", "*Inaktiv*\n1", "*Blockiert*\n1"]
    assert "7 Tagen: *1*" in text and "30 Tagen: *2*" in text
    assert "WhatsApp: 3" in text and "Telegram: 1" in text
    assert "kunden&lt;neu&gt;.csv" in text and "1.203 Zeilen · 1.200 neu · 3 geändert" in text
    assert "abgelehnt" not in text
    assert "<@UADMIN01>" in text
    assert "Du bist Admin" in text
    buttons = next(b for b in view["blocks"] if b.get("block_id") == "home_actions")["elements"]
    assert [b["action_id"] for b in buttons] == [
        "home_open_list",
        "home_notify",
        "home_import_help",
        "list_table_settings",
        "home_groups",
        "home_refresh",
    ]


def test_home_tab_in_english_for_a_viewer_with_no_contacts(running_app: RunningApp) -> None:
    running_app.fake.locales[USER] = "en-US"
    text = _text(_open_home(running_app, user=USER))
    assert "No contacts yet" in text and "only admins" in text and "Open contact list" in text


def test_messages_tab_opened_publishes_nothing_and_a_retry_is_harmless(running_app: RunningApp) -> None:
    running_app.fake.clear()
    messages_tab = {"type": "app_home_opened", "user": ADMIN, "channel": "D0HOME", "tab": "messages"}
    assert running_app.event(messages_tab, event_id="EvMsgTab").status_code == 200
    assert running_app.event(messages_tab, event_id="EvMsgTab", retry=1).status_code == 200  # Slack's retry
    # A Home tab opened afterwards by someone else is answered; by then the two above have been handled too.
    home_tab = {"type": "app_home_opened", "user": USER, "channel": "D0HOME2", "tab": "home"}
    assert running_app.event(home_tab, event_id="EvHomeTab").status_code == 200
    running_app.fake.wait_for("views.publish")
    assert [c.body["user_id"] for c in running_app.fake.of("views.publish")] == [USER]


def test_open_list_button_sends_the_list_as_a_direct_message(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Anna Aktiv")
    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    _click_home(running_app, "home_open_list")
    post = running_app.fake.wait_for("chat.postMessage")[0].body
    assert post["channel"] == "D0ADMIN"
    check_blocks(post["blocks"])
    assert "Anna Aktiv" in json.dumps(post["blocks"], ensure_ascii=False)


def test_refresh_button_republishes_fresh_numbers(running_app: RunningApp) -> None:
    _open_home(running_app)
    add_contact(running_app.engine, "+4917011111111", "Neu")
    _click_home(running_app, "home_refresh")
    view = running_app.fake.wait_for("views.publish")[0].body["view"]
    check_view(view)
    counts = next(b for b in view["blocks"] if b.get("block_id") == "home_counts")
    assert counts["fields"][0]["text"] == "*Alle*\n1"


def test_feature_buttons_open_the_feature_itself(running_app: RunningApp) -> None:
    """Import help, table settings, target groups, send notification: each feature's own answer (in the DM or
    as its modal), never the "coming soon" modal, since every one of them is installed."""
    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    _click_home(running_app, "home_import_help")
    post = running_app.fake.wait_for("chat.postMessage")[0].body
    assert post["channel"] == "D0ADMIN" and post["text"].startswith("*Kontakte per CSV importieren*")
    _click_home(running_app, "home_groups")
    post = running_app.fake.wait_for("chat.postMessage")[0].body
    assert post["channel"] == "D0ADMIN" and post["text"] == "Zielgruppen (0)"
    for action_id, callback_id, title in (
        ("list_table_settings", "table_settings", "Tabelleneinstellungen"),
        ("home_notify", "bc_pick", "Benachrichtigung"),
    ):
        _click_home(running_app, action_id)
        running_app.fake.wait_for("views.open")  # the table settings open as a loading modal, then fill in
        view = running_app.fake.wait_for("views.update" if callback_id == "table_settings" else "views.open")[0].body[
            "view"
        ]
        check_view(view)
        assert (view["callback_id"], view["title"]["text"]) == (callback_id, title), action_id


def test_home_view_shows_broadcast_progress_and_stays_within_limits() -> None:
    now = utcnow()
    counts = ContactCounts(
        total=1_000_000,
        active=900_000,
        blocked=5,
        new_7d=10,
        new_30d=100,
        by_messenger={"whatsapp": 999_000, "sms": 1_000},
    )
    runs = [RunInfo("export", None, now, f"slack:U{i:07d}", "contact.export", None, {"rows": i}) for i in range(10)]
    broadcasts = [
        BroadcastInfo(
            7,
            "running",
            "herbst_<angebot>",
            None,
            "slack:UADMIN01",
            {"total": 1000, "sent": 600, "delivered": 500, "read": 100, "failed": 20},
        ),
        BroadcastInfo(8, "scheduled", None, now + timedelta(days=1), "slack:UADMIN01", {}),
    ]
    view = home_view(Dashboard(now, counts, [], runs, broadcasts), "de", True)
    check_view(view)
    text = _text(view)
    assert "1.000.000" in text and "herbst_&lt;angebot&gt;" in text
    assert "620 von 1.000 gesendet (62 %)" in text and "zugestellt 500" in text and "geplant für <!date^" in text
    assert text.count("home_run_") == 6  # only the latest few runs


def test_info_modal_fits_slack_limits_in_both_languages() -> None:
    from bot.i18n import t
    from handlers.blocks.app_home import info_modal

    for lang in ("de", "en"):
        check_view(info_modal(t("stale.title", lang), t("error.stale", lang), lang))


def test_all_notifications_button_posts_the_broadcast_list_to_the_dm(running_app: RunningApp) -> None:
    view = _open_home(running_app)
    assert any(b.get("block_id") == "home_broadcast_actions" for b in view["blocks"])  # the feature is installed
    running_app.fake.responders["conversations.open"] = lambda call: {"ok": True, "channel": {"id": "D0ADMIN"}}
    _click_home(running_app, "home_broadcasts")
    post = running_app.fake.wait_for("chat.postMessage")[0].body
    assert post["channel"] == "D0ADMIN" and post["text"] == "Benachrichtigungen"
    check_blocks(post["blocks"])
    assert "Noch keine Benachrichtigungen." in _text(post)
