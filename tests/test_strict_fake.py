"""The fake Slack is as strict as Slack beyond Block Kit (issue 16): triggers, rate tiers, membership, response_urls.

These pin the fake's rules (tests/fakes/slack_api.py cites the source of each), so that a loosened fake fails here.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.conftest import slack_escaped
from tests.fakes import slack_api


def _post(fake: slack_api.FakeSlack, method: str, body: dict[str, Any], url: str = "") -> httpx.Response:
    return httpx.post(url or f"{fake.api_url}{method}", json=body, headers={"Authorization": "Bearer x"}, timeout=10)


def _modal() -> dict[str, Any]:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "x"}}]
    return {"type": "modal", "title": {"type": "plain_text", "text": "T"}, "blocks": blocks}


@pytest.mark.trigger_refused
def test_a_trigger_id_works_once_and_for_three_seconds(fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.freeze()
    trigger = fake_slack.issue_trigger()
    assert _post(fake_slack, "views.open", {"trigger_id": trigger, "view": _modal()}).json()["ok"] is True
    again = _post(fake_slack, "views.open", {"trigger_id": trigger, "view": _modal()}).json()
    assert again == {"ok": False, "error": "exchanged_trigger_id"}
    late = fake_slack.issue_trigger()
    fake_slack.advance(3.5)
    assert (
        _post(fake_slack, "views.open", {"trigger_id": late, "view": _modal()}).json()["error"] == "expired_trigger_id"
    )
    unknown = _post(fake_slack, "views.push", {"trigger_id": "1.2.3", "view": _modal()}).json()
    assert unknown["error"] == "invalid_trigger_id"
    assert [e for _, e in fake_slack.trigger_refusals] == [
        "exchanged_trigger_id",
        "expired_trigger_id",
        "invalid_trigger_id",
    ]


def test_chat_update_over_tier_3_gets_429_with_retry_after(fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.freeze()
    answers = [_post(fake_slack, "chat.update", {"channel": "C111", "ts": "1", "text": "x"}) for _ in range(51)]
    assert all(a.json()["ok"] for a in answers[:50])
    assert answers[50].status_code == 429 and int(answers[50].headers["Retry-After"]) >= 1
    fake_slack.advance(60)
    assert _post(fake_slack, "chat.update", {"channel": "C111", "ts": "1", "text": "x"}).json()["ok"] is True


def test_chat_post_message_is_limited_per_channel(fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.freeze()
    fake_slack.members.add("C222")
    statuses = [_post(fake_slack, "chat.postMessage", {"channel": "C111", "text": "x"}).status_code for _ in range(8)]
    assert 429 in statuses and statuses[0] == 200
    assert _post(fake_slack, "chat.postMessage", {"channel": "C222", "text": "x"}).status_code == 200


def test_posting_into_a_channel_without_the_bot_is_refused(fake_slack: slack_api.FakeSlack) -> None:
    for method in ("chat.postMessage", "chat.postEphemeral"):
        answer = _post(fake_slack, method, {"channel": "C999", "user": "U1", "text": "x"}).json()
        assert answer == {"ok": False, "error": "not_in_channel"}
        assert _post(fake_slack, method, {"channel": "C111", "user": "U1", "text": "x"}).json()["ok"] is True
    assert _post(fake_slack, "chat.postMessage", {"channel": "D0ADMIN", "text": "x"}).json()["ok"] is True


def test_a_response_url_takes_five_posts_within_thirty_minutes(fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.freeze()
    url = fake_slack.response_url("five")
    assert [_post(fake_slack, "", {"text": "x"}, url).status_code for _ in range(5)] == [200] * 5
    sixth = _post(fake_slack, "", {"text": "x"}, url)
    assert (sixth.status_code, sixth.text) == (404, "used_url")
    old = fake_slack.response_url("old")
    fake_slack.advance(30 * 60 + 1)
    expired = _post(fake_slack, "", {"text": "x"}, old)
    assert (expired.status_code, expired.text) == (404, "expired_url")


def test_files_info_answers_the_files_it_knows(fake_slack: slack_api.FakeSlack) -> None:
    fake_slack.file_infos["F1"] = {"id": "F1", "name": "a.csv"}
    assert _post(fake_slack, "files.info", {"file": "F1"}).json()["file"]["name"] == "a.csv"
    assert _post(fake_slack, "files.info", {"file": "F2"}).json()["error"] == "file_not_found"


def test_command_text_is_sent_html_escaped_as_slack_does() -> None:
    assert slack_escaped("Müller & Co <x>") == "Müller &amp; Co &lt;x&gt;"
