"""Nothing acts, posts or logs on behalf of a Slack request that Slack did not sign (issue: attacks on the wire).

Every test sends bytes to the running server as an attacker on the network could: unsigned or
badly signed requests, a `response_url` pointing elsewhere, a target that answers 429 with a long
`Retry-After`, an endless chunked body, a captured request sent again. It then asserts that
nothing happened: no request reached the other host, no row changed, the server kept serving.
"""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode, urlsplit

import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from storage.models import AuditEntry, Contact
from tests.conftest import ADMIN, RunningApp, block_actions, sealed, sign
from tests.factories import add_contact
from tests.fakes import slack_api
from tests.fakes.slack_api import Call, FakeSlack

FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def elsewhere() -> Iterator[FakeSlack]:
    """Another HTTP server on another port: any host an attacker names. It answers 429, wait 8 s."""
    fake = slack_api.start()

    def slow_down(_: Call) -> tuple[int, dict[str, str], bytes]:
        return 429, {"Content-Type": "text/plain", "Retry-After": "8"}, b"slow down"

    fake.responders["response_url"] = slow_down
    yield fake
    fake.server.shutdown()


def command_form(response_url: str, text: str = "", trigger: str = "111.222.abc") -> str:
    return urlencode(
        {
            "token": "legacy",
            "team_id": "T111",
            "team_domain": "acme",
            "channel_id": "C111",
            "user_id": ADMIN,
            "user_name": "admin",
            "command": "/contacts",
            "text": text,
            "api_app_id": "A111",
            "response_url": response_url,
            "trigger_id": trigger,
        }
    )


def post_raw(app: RunningApp, body: bytes, headers: dict[str, str]) -> Any:
    return app.http.post(f"{app.url}/slack/events", content=body, headers={"Content-Type": FORM, **headers})


def barrier(app: RunningApp, name: str) -> None:
    """A genuine signed /contacts answered at its own response_url: the server is serving, and
    whatever the earlier requests set off has had the same time to show."""
    response = app.post(command_form(app.fake.response_url(name), trigger=f"barrier.{name}"), FORM)
    assert response.status_code == 200
    deadline = time.monotonic() + 20
    while not [c for c in app.fake.of("response_url") if c.path.endswith(f"/{name}")]:
        assert time.monotonic() < deadline, "the genuine request got no answer"
        time.sleep(0.02)


def _unsigned_variants(body: str) -> dict[str, dict[str, str]]:
    good = sign(body)
    return {
        "timestamp not a number": {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": good["X-Slack-Signature"]},
        "no signature": {"X-Slack-Request-Timestamp": good["X-Slack-Request-Timestamp"]},
        "no timestamp": {"X-Slack-Signature": good["X-Slack-Signature"]},
        "wrong signature": {**good, "X-Slack-Signature": "v0=" + "0" * 64},
        "stale timestamp": sign(body, int(time.time()) - 3600),
        "future timestamp": sign(body, int(time.time()) + 3600),
        "other secret": sign(body, secret="not-the-apps-secret-0000"),
        "huge timestamp": {**good, "X-Slack-Request-Timestamp": "9" * 40},
        "signature of other bytes": sign(body + "&x=1"),
    }


def test_unverified_requests_get_401_and_nothing_is_sent_anywhere(
    running_app: RunningApp, elsewhere: FakeSlack
) -> None:
    body = command_form(elsewhere.response_url("attack"))
    statuses = {}
    for name, headers in _unsigned_variants(body).items():
        statuses[name] = post_raw(running_app, body.encode(), headers).status_code
    bad_payload = "payload={bad&response_url=" + elsewhere.response_url("attack2")
    statuses["unsigned payload={bad"] = post_raw(running_app, bad_payload.encode(), {}).status_code
    statuses["bad JSON, no headers at all"] = running_app.http.post(
        f"{running_app.url}/slack/events", content=b"{", headers={"Content-Type": "application/json"}
    ).status_code
    assert statuses == dict.fromkeys(statuses, 401)
    barrier(running_app, "after-unsigned")
    assert elsewhere.calls == []
    assert [c.method for c in running_app.fake.calls if c.method == "response_url"] == ["response_url"]


def test_a_flood_of_unsigned_requests_does_not_stall_signed_ones(running_app: RunningApp, elsewhere: FakeSlack) -> None:
    body = command_form(elsewhere.response_url("stall"))
    headers = {"X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": sign(body)["X-Slack-Signature"]}
    for _ in range(40):
        assert post_raw(running_app, body.encode(), headers).status_code == 401
    barrier(running_app, "after-flood")
    assert elsewhere.calls == []


def test_a_signed_request_is_never_answered_at_a_url_off_slacks_host(
    running_app: RunningApp, elsewhere: FakeSlack
) -> None:
    """Even with a valid signature (Slack never sends one), the app posts only to Slack's host."""
    for n, url in enumerate(
        [
            elsewhere.response_url("signed"),
            running_app.fake.response_url("x").replace("http://", "https://"),  # other scheme, same host:port
            "http://user@" + urlsplit(running_app.fake.base).netloc + "/response/userinfo",
            "file:///etc/passwd",
        ]
    ):
        assert running_app.post(command_form(url, trigger=f"off.{n}"), FORM).status_code == 200
    barrier(running_app, "after-foreign")
    assert elsewhere.calls == []
    assert [c.path for c in running_app.fake.of("response_url")] == ["/response/after-foreign"]


def test_a_long_retry_after_is_capped_and_does_not_hold_the_server(running_app: RunningApp) -> None:
    """Slack's host answering 429 with `Retry-After: 3600` to five answers: the next user still gets theirs."""

    def slow_for_some(call: Call) -> tuple[int, dict[str, str], bytes]:
        if "/slow" in call.path:
            return 429, {"Content-Type": "text/plain", "Retry-After": "3600"}, b"slow down"
        return 200, {"Content-Type": "text/plain"}, b"ok"

    running_app.fake.responders["response_url"] = slow_for_some
    for n in range(6):
        assert running_app.post(command_form(running_app.fake.response_url(f"slow{n}"), trigger=f"s.{n}"), FORM)
    barrier(running_app, "after-retry-after")
    # The slow answers were tried and given up (a wait past the cap is never started).
    deadline = time.monotonic() + 20
    while len([c for c in running_app.fake.of("response_url") if "/slow" in c.path]) < 6:
        assert time.monotonic() < deadline
        time.sleep(0.02)


def _chunked_flood(url: str, path: str, total: int, headers: dict[str, str]) -> tuple[int, bytes]:
    """Send up to `total` bytes as one chunked body without Content-Length; (bytes sent, answer)."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
    head = f"POST {path} HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nContent-Type: {FORM}\r\n"
    head += "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
    sock.sendall(head.encode())
    chunk = b"a" * 65536
    frame = f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
    sent = 0
    answer = b""
    sock.setblocking(False)
    try:
        while sent < total:
            try:
                answer += sock.recv(65536)
                if answer:
                    break
            except BlockingIOError:
                pass
            try:
                sent += sock.send(frame)
            except BlockingIOError:
                time.sleep(0.001)
    except (BrokenPipeError, ConnectionResetError):
        pass
    sock.setblocking(True)
    sock.settimeout(30)
    try:
        while b"\r\n\r\n" not in answer:
            more = sock.recv(65536)
            if not more:
                break
            answer += more
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return sent, answer


def test_an_endless_chunked_body_is_cut_off_at_the_limit(running_app: RunningApp) -> None:
    """An unsigned chunked POST without Content-Length: 413 once 1 MB is passed, not after reading it all."""
    sent, answer = _chunked_flood(running_app.url, "/slack/events", 300 * 1024 * 1024, {})
    assert answer.startswith(b"HTTP/1.1 413"), answer[:100]
    # What the server took before answering is the limit plus socket buffers, not the 300 MB offered.
    assert sent < 32 * 1024 * 1024
    assert running_app.http.get(f"{running_app.url}/healthz").status_code == 200


def test_a_replayed_signed_click_is_not_applied_again(running_app: RunningApp) -> None:
    cid = add_contact(running_app.engine, "+4917011111111", "Max")
    running_app.command("")
    row = next(
        b
        for b in running_app.fake.wait_for("response_url")[0].body["blocks"]
        if b.get("block_id", "").startswith(f"row{cid}|")
    )
    click = block_actions(
        {
            "type": "overflow",
            "action_id": "contact_menu",
            "block_id": row["block_id"],
            "selected_option": {"value": sealed(f"block:{cid}", purpose="contact_menu")},
        },
        response_url=running_app.fake.response_url("list"),
    )
    body = urlencode({"payload": json.dumps(click)})
    captured = sign(body)
    assert post_raw(running_app, body.encode(), captured).status_code == 200
    deadline = time.monotonic() + 20
    while not _blocked(running_app, cid):
        assert time.monotonic() < deadline
        time.sleep(0.02)
    with Session(running_app.engine) as s:  # an admin unblocks (in the terminal, say)
        contact = s.get(Contact, cid)
        contact.blocked = False
        s.commit()
        audits = s.scalar(select(func.count()).select_from(AuditEntry))
    replay = post_raw(running_app, body.encode(), captured)
    assert replay.status_code == 200 and replay.content == b""
    barrier(running_app, "after-replay")
    assert not _blocked(running_app, cid)
    with Session(running_app.engine) as s:
        assert s.scalar(select(func.count()).select_from(AuditEntry)) == audits


def _blocked(app: RunningApp, cid: int) -> bool:
    with Session(app.engine) as s:
        return bool(s.get(Contact, cid).blocked)


def test_slacks_own_retry_of_an_event_is_still_deduplicated_by_its_id(running_app: RunningApp) -> None:
    """Slack re-signs a retry (new timestamp): it passes the replay check, and the file id catches it."""
    from tests.test_csv_slack import _preview, _share

    event = _share(running_app, "kunden.csv", b"Telefon;Name\n+4917055500001;Neu Eins\n")
    assert running_app.event(event, event_id="EvF1").status_code == 200
    body = json.dumps(
        {
            "token": "legacy",
            "team_id": "T111",
            "api_app_id": "A111",
            "event": event,
            "type": "event_callback",
            "event_id": "EvF1",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": "T111", "user_id": "UBOT", "is_bot": True}],
        }
    )
    retry = {**sign(body, int(time.time()) - 2), "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    response = running_app.http.post(
        f"{running_app.url}/slack/events", content=body.encode(), headers={"Content-Type": "application/json", **retry}
    )
    assert response.status_code == 200
    _preview(running_app)
    barrier(running_app, "after-retry")
    assert len(running_app.fake.of("files.info")) == 1
