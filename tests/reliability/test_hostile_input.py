"""Hostile and random input: phone normalisation, the webhook parser and the CSV reader never crash,
never accept garbage as valid, and never lose a valid item."""

from __future__ import annotations

import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlparse

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hyp_settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlmodel import Session

from bot.config.settings import load_settings
from bot.domain.csv_format import FileProblem
from bot.domain.phone import PhoneError, to_e164
from bot.services import imports
from bot.services.imports import ImportRefused
from bot.services.inbound import parse_generic, parse_meta
from storage.models import Contact
from tests.webhooks import post_meta, webhook_settings

E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ASCII digits only: `\d` would also match "０" or "٣"
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(
            st.sampled_from(
                [
                    "object",
                    "entry",
                    "changes",
                    "value",
                    "messages",
                    "statuses",
                    "contacts",
                    "from",
                    "id",
                    "timestamp",
                    "type",
                    "text",
                    "body",
                    "wa_id",
                    "profile",
                    "name",
                    "status",
                    "errors",
                    "field",
                    "metadata",
                    "recipient_id",
                    "messenger",
                    "x",
                ]
            )
            | st.text(max_size=5),
            inner,
            max_size=5,
        )
    ),
    max_leaves=30,
)


@given(st.text(max_size=40))
@hyp_settings(max_examples=400, deadline=None)
def test_any_text_is_either_a_valid_e164_number_or_a_phone_error(text: str) -> None:
    try:
        result = to_e164(text, "DE")
    except PhoneError:
        return
    assert E164.match(result)
    assert to_e164(result, "DE") == result  # canonical: normalising again changes nothing


@given(
    st.integers(1000000, 9999999),
    st.sampled_from(["170", "171", "176", "160"]),
    st.sampled_from(
        ["+49 {p} {n}", "0{p} {n}", "0049{p}{n}", "+49 ({p}) {n}", "0{p}-{n}", "+49{p}{n}", "0{p}/{n}", " 0{p} {n} "]
    ),
)
@hyp_settings(max_examples=300, deadline=None)
def test_a_number_written_any_usual_way_normalises_to_the_same_e164(n: int, prefix: str, form: str) -> None:
    assert to_e164(form.format(p=prefix, n=n), "DE") == f"+49{prefix}{n}"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4,91701E+12", "!phone.scientific"),  # Excel's scientific notation: the digits are gone
        ("4.91701E+12", "!phone.scientific"),
        ("+4917０1234567", "+491701234567"),  # a full-width digit is the same digit, stored as ASCII
        ("＋4917012345678", "+4917012345678"),
        ("+49 170 1234567\u202e", "+491701234567"),  # the bidi override is dropped, never stored
        ("+49170123456789012345", "!phone.unparsable"),  # longer than any E.164 number
        ("<!channel>", "!phone.unparsable"),
        ("", "!phone.empty"),
    ],
)
def test_destroyed_or_tricky_numbers_are_never_accepted_silently(text: str, expected: str) -> None:
    try:
        result = to_e164(text, "DE")
    except PhoneError as exc:
        result = "!" + exc.code
    assert result == expected


@pytest.mark.parametrize(
    ("wa_id", "expected"), [("4917012345678", "+4917012345678"), ("４９１７０１２３４５６７８", None)]
)
def test_a_whatsapp_sender_id_is_plain_ascii_digits(wa_id: str, expected: str | None) -> None:
    """WhatsApp ids are ASCII digits; anything else is no sender, never a phone stored with odd digits."""
    from bot.services.inbound import Skip, wa_phone

    if expected is None:
        with pytest.raises(Skip):
            wa_phone(wa_id)
    else:
        assert wa_phone(wa_id) == expected


SETTINGS = load_settings(WHATSAPP_APP_SECRET="x" * 16, CONTACTBOT_DEFAULT_REGION="DE")


GOOD = {"from": "4917012345678", "id": "wamid.good", "timestamp": "1700000000", "type": "text", "text": {"body": "hi"}}
WABA = "whatsapp_business_account"


def _is_waba(payload: object) -> bool:
    return isinstance(payload, dict) and payload.get("object") == WABA


@given(JSON)
@hyp_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_webhook_parser_takes_nothing_from_a_body_that_is_not_a_whatsapp_notification(payload: object) -> None:
    batch = parse_meta(payload, SETTINGS)
    if not _is_waba(payload):
        assert (batch.messages, batch.statuses, batch.opt_outs, batch.ignored) == ([], [], [], 1)


@given(JSON, JSON)
@hyp_settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_webhook_parser_keeps_the_valid_message_among_any_junk(junk: object, other: object) -> None:
    """Junk beside a real message (in the same list, as a sibling change or entry) never costs the real one."""
    value = {"messages": [junk, GOOD, junk], "statuses": other, "contacts": other}
    payload = {"object": WABA, "entry": [{"changes": [{"field": "messages", "value": value}, other]}, other]}
    batch = parse_meta(payload, SETTINGS)
    [good] = [m for m in batch.messages if m.message_id == "wamid.good"]
    assert (good.phone, good.kind, good.text) == ("+4917012345678", "text", "hi")
    for message in batch.messages:
        assert E164.match(message.phone) and 0 < len(message.message_id) <= 200


GENERIC = st.fixed_dictionaries(
    {"messenger": st.sampled_from(["whatsapp", "telegram", "sms", "fax"]), "messages": st.lists(JSON, max_size=5)}
)


@given(JSON | GENERIC)
@hyp_settings(max_examples=300, deadline=None)
def test_the_inbound_parser_refuses_only_a_malformed_body_and_accounts_for_every_item(payload: object) -> None:
    from bot.domain.contacts import MESSENGERS
    from bot.services.inbound import BadRequest

    well_formed = (
        isinstance(payload, dict) and isinstance(payload.get("messages"), list) and payload["messenger"] in MESSENGERS
        if isinstance(payload, dict) and "messenger" in payload
        else False
    )
    try:
        batch = parse_generic(payload, SETTINGS)
    except BadRequest as exc:
        assert str(exc) and not well_formed
        return
    assert well_formed and isinstance(payload, dict)
    assert len(batch.messages) + len(batch.skipped) == len(payload["messages"])  # each item kept or skipped
    assert sorted({i for i, _ in batch.skipped}) == [i for i, _ in batch.skipped]  # skipped once each, in order
    for message in batch.messages:
        assert E164.match(message.phone) and message.messenger == payload["messenger"]


def test_the_inbound_parser_keeps_good_items_beside_bad_ones() -> None:
    good = {"id": "m1", "from": "+4917012345678", "text": "hallo"}
    batch = parse_generic({"messenger": "telegram", "messages": [1, {"id": "m0"}, good, {"from": "x"}]}, SETTINGS)
    assert [(m.message_id, m.phone, m.text) for m in batch.messages] == [("telegram:m1", "+4917012345678", "hallo")]
    assert [i for i, _ in batch.skipped] == [0, 1, 3]


@pytest.fixture
def settings(db_url: str, fake_slack):  # type: ignore[no-untyped-def]
    """Webhook secrets configured, so hostile bodies get past the signature check to the parser."""
    return webhook_settings(db_url, fake_slack)


def test_a_deeply_nested_webhook_body_is_a_clean_400(running_app) -> None:  # type: ignore[no-untyped-def]
    response = post_meta(running_app, ("[" * 50_000 + "]" * 50_000).encode())
    assert response.status_code == 400
    assert running_app.http.get(f"{running_app.url}/healthz").text == "ok"


CSV_ROWS = st.lists(st.tuples(st.text("0123456789 +-()/E,.", max_size=16), st.text(max_size=10)), max_size=8)
CSV_FILES = st.binary(max_size=400) | CSV_ROWS.map(
    lambda rows: ("Nummer;Name\n" + "".join(f"{phone};{name}\n" for phone, name in rows)).encode()
)


@given(CSV_FILES)
@hyp_settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_the_csv_reader_refuses_junk_with_a_reason_and_writes_nothing(tmp_path: Path, engine, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "junk.csv"
    path.write_bytes(data)
    try:
        result = imports.preview(engine, str(path), "junk.csv", actor="test", region="DE")
    except (ImportRefused, FileProblem) as exc:
        assert getattr(exc, "code", None)
    else:  # into an empty database a row is new, refused (saying why) or blank (only delimiters: skipped)
        counts = result.counts
        assert counts.created + counts.rejected <= result.rows
        assert counts.updated == counts.unchanged == 0
        assert len(result.errors) <= counts.rejected and all(e["code"] for e in result.errors)
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0  # a preview never writes contacts


def _row_counts(engine) -> dict[str, int]:  # type: ignore[no-untyped-def]
    from sqlmodel import SQLModel

    with engine.connect() as conn:
        return {name: conn.scalar(select(func.count()).select_from(t)) for name, t in SQLModel.metadata.tables.items()}


def _status(url: str, head: bytes, body: Iterator[bytes]) -> bytes:
    """Send the head and as much body as given, never the rest; the status code the server answers.

    A server that waits for the whole body never answers: the socket timeout only turns that hang into a failure.
    """
    parts = urlparse(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head)
        for chunk in body:
            sock.sendall(chunk)
        answer = b""
        while b"\r\n" not in answer:
            data = sock.recv(4096)
            if not data:
                break
            answer += data
    return answer.split(b"\r\n", 1)[0].split(b" ")[1]  # the status code


def test_a_huge_slack_body_is_refused_without_work(running_app) -> None:  # type: ignore[no-untyped-def]
    """Refused from its declared length (or, chunked, as soon as it passes the limit): never read whole into
    memory, never dispatched, nothing sent to Slack and no row written."""
    from bot.web.server import MAX_SLACK_BODY
    from tests.conftest import ADMIN, USER, sign

    before = _row_counts(running_app.engine)
    event = {"type": "app_home_opened", "user": ADMIN, "channel": "D0HOME", "tab": "home", "pad": "y" * 2_000_000}
    body = json.dumps({"type": "event_callback", "team_id": "T111", "event_id": "EvHuge", "event": event}).encode()
    headers = "".join(f"{k}: {v}\r\n" for k, v in sign(body.decode()).items())
    head = f"POST /slack/events HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
    declared = f"{head}Content-Length: {len(body)}\r\n\r\n".encode()
    assert _status(running_app.url, declared, iter([body[:1024]])) == b"413"

    def chunked() -> Iterator[bytes]:  # a bit more than the limit, and no final chunk: the server must not wait
        sent = 0
        while sent <= MAX_SLACK_BODY:
            piece = body[sent : sent + 65536]
            sent += len(piece)
            yield f"{len(piece):x}\r\n".encode() + piece + b"\r\n"

    streamed = f"{head}Transfer-Encoding: chunked\r\n\r\n".encode()
    assert _status(running_app.url, streamed, chunked()) == b"413"
    # The app still serves, and once a small event after them is handled, the huge ones have left no trace.
    running_app.event({"type": "app_home_opened", "user": USER, "channel": "D0HOME", "tab": "home"}, "EvMarker")
    running_app.fake.wait_for("views.publish")
    assert [c.body["user_id"] for c in running_app.fake.of("views.publish")] == [USER]
    after = _row_counts(running_app.engine)
    assert after.pop("slack_user") == 1 and before.pop("slack_user") == 0  # the small event's user, cached
    # the small event's signature, remembered against replays; the refused ones were never checked, so left none
    assert after.pop("processed_event") == before.pop("processed_event") + 1
    assert after == before
