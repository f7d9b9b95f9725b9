"""Hostile and random input: phone normalisation, the webhook parser and the CSV reader never crash,
never accept garbage as valid, and never lose a valid item."""

from __future__ import annotations

import json
import re
from pathlib import Path

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

E164 = re.compile(r"^\+[1-9]\d{6,14}$")
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
    "text",
    [
        "4,91701E+12",
        "4.91701E+12",
        "+4917０1234567",
        "＋4917012345678",
        "+49 170 1234567\u202e",
        "+49170123456789012345",
        "<!channel>",
        "",
    ],
)
def test_destroyed_or_tricky_numbers_are_never_accepted_silently(text: str) -> None:
    try:
        result = to_e164(text, "DE")
    except PhoneError:
        return
    assert E164.match(result)  # if unicode digits are accepted, they come out as plain ASCII E.164


SETTINGS = load_settings(WHATSAPP_APP_SECRET="x" * 16, CONTACTBOT_DEFAULT_REGION="DE")


@given(JSON)
@hyp_settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_the_webhook_parser_never_crashes_on_any_json(payload: object) -> None:
    batch = parse_meta(payload, SETTINGS)
    assert isinstance(batch.messages, list)


@given(JSON)
@hyp_settings(max_examples=300, deadline=None)
def test_the_inbound_parser_only_ever_refuses_with_a_reason(payload: object) -> None:
    from bot.services.inbound import BadRequest

    try:
        parse_generic(payload, SETTINGS)
    except BadRequest as exc:
        assert str(exc)


@pytest.fixture
def settings(db_url: str, fake_slack):  # type: ignore[no-untyped-def]
    """Webhook secrets configured, so hostile bodies get past the signature check to the parser."""
    return webhook_settings(db_url, fake_slack)


def test_a_deeply_nested_webhook_body_is_a_clean_400(running_app) -> None:  # type: ignore[no-untyped-def]
    response = post_meta(running_app, ("[" * 50_000 + "]" * 50_000).encode())
    assert response.status_code == 400
    assert running_app.http.get(f"{running_app.url}/healthz").text == "ok"


@given(st.binary(max_size=400))
@hyp_settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
def test_the_csv_reader_refuses_junk_with_a_reason_and_writes_nothing(tmp_path: Path, engine, data: bytes) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "junk.csv"
    path.write_bytes(data)
    try:
        result = imports.preview(engine, str(path), "junk.csv", actor="test", region="DE")
    except (ImportRefused, FileProblem) as exc:
        assert getattr(exc, "code", None)
    else:
        assert result.counts.as_dict()["created"] >= 0 if hasattr(result.counts, "as_dict") else True
    with Session(engine) as s:
        assert s.scalar(select(func.count()).select_from(Contact)) == 0  # a preview never writes contacts


def test_a_huge_slack_body_is_refused_without_work(running_app) -> None:  # type: ignore[no-untyped-def]
    body = "payload=" + json.dumps({"x": "y" * 2_000_000})
    from tests.conftest import sign

    response = running_app.http.post(
        f"{running_app.url}/slack/events",
        content=body.encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded", **sign(body)},
    )
    assert response.status_code == 413
