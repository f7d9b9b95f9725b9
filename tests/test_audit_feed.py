"""CONTACTBOT_AUDIT_CHANNEL: every committed change is posted there with who made it; deletions name nobody."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot.config.settings import Settings, load_settings
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, block_actions, sealed, sealed_metadata
from tests.factories import add_contact

AUDIT = "C0AUDIT01"


@pytest.fixture
def settings(db_url: str, fake_slack: Any) -> Settings:
    fake_slack.members.add(AUDIT)  # the bot is invited to the audit channel (docs/deploy.md)
    return load_settings(
        DATABASE_URL=db_url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        CONTACTBOT_ADMINS=ADMIN,
        CONTACTBOT_AUDIT_CHANNEL=AUDIT,
    )


def _audit_posts(app: RunningApp, count: int = 1) -> list[str]:
    deadline = time.monotonic() + 60  # a hang guard, not a time limit
    while time.monotonic() < deadline:
        posts = [c.body["text"] for c in app.fake.of("chat.postMessage") if c.body.get("channel") == AUDIT]
        if len(posts) >= count:
            return posts
        time.sleep(0.02)
    raise AssertionError(f"expected {count} audit post(s), got {posts}")


def _press(app: RunningApp, action_id: str, cid: int) -> None:
    action = {
        "type": "button",
        "action_id": action_id,
        "block_id": f"card|{cid}|buttons",
        "value": sealed(str(cid), purpose=action_id),
        "action_ts": str(time.time()),
    }
    assert app.interact(block_actions(action, response_url=app.fake.response_url("card"))).status_code == 200


def test_block_is_posted_with_actor_and_contact_and_refreshes_the_actors_home(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917012345678", "Max <Muster>")
    running_app.fake.clear()
    _press(running_app, "card_block", cid)
    post = _audit_posts(running_app)[0]
    assert post == ":no_entry: <@UADMIN01> hat Max &lt;Muster&gt; (+49 170 12345678) blockiert."
    home = running_app.fake.wait_for("views.publish")[0].body
    assert home["user_id"] == ADMIN


def test_deletion_post_names_neither_the_person_nor_the_number(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917012345678", "Max Muster")
    running_app.fake.clear()
    submission = {
        "type": "view_submission",
        "user": {"id": ADMIN, "username": "admin", "team_id": "T111"},
        "team": {"id": "T111"},
        "api_app_id": "A111",
        "token": "legacy",
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": "contact_delete",
            "state": {"values": {}},
            "private_metadata": sealed_metadata(
                {"cid": cid, "url": None, "blk": f"card|{cid}|buttons"}, purpose="contact_delete"
            ),
        },
    }
    assert running_app.interact(submission).status_code == 200
    post = _audit_posts(running_app)[0]
    assert f"Kontakt #{cid}" in post and "<@UADMIN01>" in post and "endgültig gelöscht" in post
    assert "Muster" not in post and "170" not in post and "12345678" not in post


def test_a_refused_change_is_not_posted(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917012345678", "Max Muster")
    other = add_contact(running_app.engine, "+4917099999999", "Erika Muster")
    running_app.fake.clear()
    action = {
        "type": "button",
        "action_id": "card_block",
        "block_id": f"card|{cid}|buttons",
        "value": sealed(str(cid), purpose="card_block"),
        "action_ts": str(time.time()),
    }
    running_app.interact(block_actions(action, user="UPLAIN01", response_url=running_app.fake.response_url("x")))
    running_app.fake.wait_for("response_url")
    _press(running_app, "card_deactivate", other)  # a later change by an admin is the only post
    assert _audit_posts(running_app) == [":white_circle: <@UADMIN01> hat Erika Muster (+49 170 99999999) deaktiviert."]


def test_a_change_from_the_command_line_is_posted_before_it_exits(db_url: str, engine: Any, fake_slack: Any) -> None:
    import os
    import subprocess
    import sys

    add_contact(engine, "+4917012345678", "Max Muster")
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_"))}
    environ |= {
        "DATABASE_URL": db_url,
        "USER": "anna",
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_API_URL": fake_slack.api_url,
        "CONTACTBOT_AUDIT_CHANNEL": AUDIT,
    }
    result = subprocess.run(
        [sys.executable, "-m", "bot", "contacts", "deactivate", "0170 12345678"],
        capture_output=True,
        text=True,
        env=environ,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    posts = [c.body for c in fake_slack.of("chat.postMessage")]
    assert [p["channel"] for p in posts] == [AUDIT]
    assert posts[0]["text"] == ":white_circle: anna (Kommandozeile) hat Max Muster (+49 170 12345678) deaktiviert."


def test_without_the_bot_in_the_audit_channel_the_home_is_still_refreshed(running_app: RunningApp) -> None:
    """Issue 16: Slack answers not_in_channel where the bot was not invited; the actor's Home must not suffer."""
    running_app.fake.members.discard(AUDIT)
    cid = add_contact(running_app.engine, "+4917012345678", "Max Muster")
    running_app.fake.clear()
    _press(running_app, "card_block", cid)
    home = running_app.fake.wait_for("views.publish")[0].body
    assert home["user_id"] == ADMIN
    assert running_app.fake.of("chat.postMessage")[0].body["channel"] == AUDIT  # tried, refused
