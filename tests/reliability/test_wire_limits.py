"""What a request can make the server keep: log lines, metric series, open connections.

Each test drives `contactbot serve` (a real process with its own logging set-up) or the running app
with bytes on the wire, then reads what was kept: no number or name in any encoding in the log, no
forged log line, a fixed set of metric series, no connection held open by a client that never
finishes its headers.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote, quote_plus, urlencode, urlsplit

import httpx
import pytest

from storage.db import make_engine
from tests import serve_process
from tests.conftest import ADMIN, RunningApp
from tests.factories import add_contact
from tests.fakes.slack_api import FakeSlack

NUMBER = "+49 170 1234567"
NAME = "Zacharias Quastenberg"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def served(db_url: str, fake_slack: FakeSlack, tmp_path: Path) -> Iterator[serve_process.ServeProcess]:
    proc = serve_process.serve(db_url, fake_slack, tmp_path / "serve.log", "--no-scheduler", LOG_LEVEL="INFO")
    yield proc
    proc.stop()


def _forms_of(text: str) -> set[str]:
    """The ways a text reaches a log line: as is, form-encoded, percent-encoded, JSON-escaped."""
    return {text, quote_plus(text), quote(text), quote(text, safe=""), text.replace(" ", "")}


def test_no_number_or_name_reaches_the_log_in_any_encoding_and_no_line_is_forged(
    served: serve_process.ServeProcess, fake_slack: FakeSlack, db_url: str
) -> None:
    engine = make_engine(db_url)
    add_contact(engine, "+491701234567", NAME)
    engine.dispose()
    form = {
        "command": "/contacts",
        "text": f"{NUMBER} {NAME}",
        "user_id": ADMIN,
        "user_name": NAME,
        "team_id": "T111",
        "response_url": fake_slack.response_url("unsigned"),
    }
    body = urlencode(form)
    with httpx.Client(timeout=10) as http:
        app = serve_process.client(served, fake_slack, engine, http)
        # unsigned, then with a malformed timestamp, then with a forged log line in the body
        http.post(f"{served.url}/slack/events", content=body, headers={"Content-Type": FORM})
        http.post(
            f"{served.url}/slack/events",
            content=body + "\nFORGED ERROR admin logged in",
            headers={"Content-Type": FORM, "X-Slack-Request-Timestamp": "abc", "X-Slack-Signature": "v0=00"},
        )
        http.get(f"{served.url}/nowhere%0AFORGED%20ERROR%20root%20login%0D")  # a line break in the path
        http.get(f"{served.url}/{quote(NAME)}/{quote(NUMBER)}")  # a name and a number in the path
        # signed searches for the number (as typed, and encoded) and the name, one with a NUL byte
        for n, text in enumerate([NUMBER, "0170 1234567", NAME, f"{NAME}\x00"]):
            fake_slack.clear()
            form = {**form, "text": text, "response_url": fake_slack.response_url(f"s{n}"), "trigger_id": f"t.{n}"}
            assert app.post(urlencode(form), FORM).status_code == 200
            answer = fake_slack.wait_for("response_url")[0].body
            assert "nicht geklappt" not in str(answer)  # the NUL byte is searched as text, not an error
    served.stop()
    log = served.logs()
    assert "request refused" in log  # the refusals were logged, without their bodies
    for secret in (*_forms_of(NUMBER), *_forms_of("1701234567"), *_forms_of(NAME), "Quastenberg"):
        assert secret not in log, f"{secret!r} in the log"
    assert not re.search(r"^FORGED", log, re.MULTILINE)


def test_made_up_methods_do_not_grow_the_metrics(running_app: RunningApp) -> None:
    def size() -> int:
        return len(running_app.http.get(f"{running_app.url}/metrics").text.splitlines())

    for path in ("/healthz", "/metrics", "/slack/events", "/nothing/0"):  # each label set once
        running_app.http.request("GET", f"{running_app.url}{path}")
        running_app.http.request("BREW", f"{running_app.url}{path}")
    size()
    before = size()
    for n in range(300):
        running_app.http.request(f"M{n}X", f"{running_app.url}/metrics")
        running_app.http.request(f"P{n}", f"{running_app.url}/nothing/{n}")
    after = size()
    assert after == before
    metrics = running_app.http.get(f"{running_app.url}/metrics").text
    assert "M1X" not in metrics and "BREW" not in metrics and "/nothing" not in metrics


def test_a_client_that_never_finishes_its_headers_is_disconnected(
    db_url: str, fake_slack: FakeSlack, tmp_path: Path
) -> None:
    proc = serve_process.serve(db_url, fake_slack, tmp_path / "serve.log", CONTACTBOT_HEADER_TIMEOUT_SECONDS="1")
    try:
        parts = urlsplit(proc.url)
        slow = []
        for _ in range(20):
            sock = socket.create_connection((parts.hostname, parts.port), timeout=30)
            sock.sendall(b"POST /slack/events HTTP/1.1\r\nHost: x\r\nX-Trickle: ")
            slow.append(sock)
        deadline = time.monotonic() + 60  # only guards against hanging
        for sock in slow:
            closed = False
            while not closed:
                assert time.monotonic() < deadline, "a connection trickling its headers was kept open"
                try:
                    sock.sendall(b"a")  # a byte now and then: without a header deadline this lasts forever
                    sock.settimeout(0.5)
                    closed = sock.recv(1024) == b""
                except TimeoutError:
                    continue
                except (BrokenPipeError, ConnectionResetError):
                    closed = True
            sock.close()
        assert httpx.get(f"{proc.url}/healthz", timeout=10).status_code == 200
    finally:
        proc.stop()
