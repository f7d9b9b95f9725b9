"""The Cloud API client against the loopback fake Graph API: templates, sends, every error class."""

from __future__ import annotations

import asyncio
import json
import socket
from collections.abc import Iterator

import pytest

from bot.config.settings import Settings, load_settings
from bot.whatsapp.client import AsyncSender, GraphClient
from bot.whatsapp.errors import KINDS, Ambiguous, Kind, WhatsAppError, classify
from bot.whatsapp.templates import check_values, components, send_body
from tests.conftest import shared_path
from tests.fakes import graph_api


@pytest.fixture
def fake_graph() -> Iterator[graph_api.FakeGraph]:
    fake = graph_api.start()
    yield fake
    fake.stop()


@pytest.fixture
def wa_settings(fake_graph: graph_api.FakeGraph) -> Settings:
    return load_settings(**fake_graph.env())


def test_templates_are_listed_across_pages_with_their_parameters(wa_settings: Settings) -> None:
    client = GraphClient(wa_settings)
    templates = {t.name: t for t in client.templates(page_size=2)}
    assert set(templates) == {"hello_world", "termin_erinnerung", "angebot", "alt_abgelehnt"}
    assert templates["termin_erinnerung"].keys == ["1", "2"]
    offer = templates["angebot"]
    assert offer.named and offer.keys == ["header.vorname", "vorname", "code", "button.0"]
    assert templates["alt_abgelehnt"].status == "REJECTED"


def test_template_send_is_accepted_and_counted(wa_settings: Settings, fake_graph: graph_api.FakeGraph) -> None:
    client = GraphClient(wa_settings)
    offer = next(t for t in client.templates() if t.name == "angebot")
    values = {"header.vorname": "Anna", "vorname": "Anna", "code": "HERBST\n25", "button.0": "x1"}
    assert check_values(offer, values) == []
    wamid = client.send("+4917012345678", offer, values)
    assert wamid.startswith("wamid.")
    stats = fake_graph.stats()
    assert stats["counts"] == {"+4917012345678": 1} and stats["invalid"] == []


def test_parameters_are_checked_before_sending(wa_settings: Settings) -> None:
    reminder = next(t for t in GraphClient(wa_settings).templates() if t.name == "termin_erinnerung")
    assert check_values(reminder, {"1": "Anna"}) == ["missing:2"]
    assert check_values(reminder, {"1": "Anna", "2": "  ", "3": "x"}) == ["missing:2", "unknown:3"]


def test_a_wrong_parameter_count_is_refused_like_meta_does(wa_settings: Settings) -> None:
    reminder = next(t for t in GraphClient(wa_settings).templates() if t.name == "termin_erinnerung")
    body = send_body(
        "+4917012345678",
        reminder.name,
        reminder.language,
        [{"type": "body", "parameters": [{"type": "text", "text": "Anna"}]}],
    )
    sender = AsyncSender(wa_settings, 1)

    async def go() -> None:
        try:
            await sender.send(json.dumps(body).encode())
        finally:
            await sender.aclose()

    with pytest.raises(WhatsAppError) as err:
        asyncio.run(go())
    assert err.value.code == 132000 and err.value.kind is Kind.FATAL


@pytest.mark.parametrize(
    ("step", "code", "kind"),
    [
        ({"error": 130429}, 130429, Kind.THROTTLE),
        ({"error": 131056}, 131056, Kind.PAIR),
        ({"error": 131000}, 131000, Kind.TRANSIENT),
        ({"status": 503}, None, Kind.TRANSIENT),
        ({"error": 131026}, 131026, Kind.RECIPIENT),
        ({"error": 131049}, 131049, Kind.RECIPIENT),
        ({"error": 190}, 190, Kind.FATAL),
        ({"error": 132001}, 132001, Kind.FATAL),
    ],
)
def test_errors_are_classified_by_code(
    wa_settings: Settings, fake_graph: graph_api.FakeGraph, step: dict, code: int | None, kind: Kind
) -> None:
    fake_graph.configure(rules={"+4917012345678": [step]})
    client = GraphClient(wa_settings)
    hello = next(t for t in client.templates() if t.name == "hello_world")
    with pytest.raises(WhatsAppError) as err:
        client.send("+4917012345678", hello, {})
    assert (err.value.code, err.value.kind) == (code, kind)
    assert fake_graph.stats()["counts"] == {}
    assert client.send("+4917012345678", hello, {}).startswith("wamid.")  # the script is used up


def test_a_dropped_answer_is_ambiguous_not_an_error(wa_settings: Settings, fake_graph: graph_api.FakeGraph) -> None:
    fake_graph.configure(rules={"+4917012345678": [{"drop": True}]})
    client = GraphClient(wa_settings)
    hello = next(t for t in client.templates() if t.name == "hello_world")
    with pytest.raises(Ambiguous):
        client.send("+4917012345678", hello, {})
    assert fake_graph.stats()["counts"] == {"+4917012345678": 1}  # Meta got it: resending would duplicate


def test_the_broadcast_sender_calls_a_dropped_answer_ambiguous_and_a_refused_connection_unsent(
    wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    """aiohttp's "server disconnected" reaches us as httpx.ConnectTimeout through the transport: it must
    still be ambiguous (Meta took the message), while a port nobody listens on is a safe retry."""
    body = json.dumps(send_body("+4917012345678", "hello_world", "en_US", [])).encode()
    fake_graph.configure(rules={"+4917012345678": [{"drop": True}]})

    async def send(settings: Settings) -> None:
        sender = AsyncSender(settings, 2)
        try:
            await sender.send_accepted(body)
        finally:
            await sender.aclose()

    with pytest.raises(Ambiguous):
        asyncio.run(send(wa_settings))
    assert fake_graph.stats()["counts"] == {"+4917012345678": 1}
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))  # bound, never listening: the connection is refused
        nobody = load_settings(
            **(fake_graph.env() | {"WHATSAPP_API_URL": f"http://127.0.0.1:{unused.getsockname()[1]}/v23.0"})
        )
        with pytest.raises(WhatsAppError) as err:
            asyncio.run(send(nobody))
    assert err.value.http_status == 503  # never left: retried like any 503


def test_our_send_body_has_the_shape_of_metas_example() -> None:
    example = json.loads(
        shared_path(
            "conformance", "whatsapp", "meta-openapi-examples", "request_send_message_template_text.json"
        ).read_text()
    )
    body = [{"type": "body", "parameters": [{"type": "text", "text": "a"}]}]
    ours = send_body("+4917012345678", "x", "de", body)
    assert set(ours) == set(example)
    assert set(ours["template"]) == set(example["template"])
    assert set(ours["template"]["language"]) == set(example["template"]["language"])


def test_our_code_table_agrees_with_metas_list() -> None:
    data = json.loads(shared_path("conformance", "whatsapp", "error-codes-broadcaster.json").read_text())
    retrying = {Kind.THROTTLE, Kind.PAIR, Kind.TRANSIENT}
    for entry in data["codes"]:
        code, retryable = entry["code"], entry["retryable"]
        assert code in KINDS or classify(code) is Kind.FATAL, f"{code} not in our table"
        if retryable.startswith("yes"):
            assert classify(code) in retrying, code
        elif retryable.startswith("no"):
            assert classify(code) not in retrying, code


def test_named_template_components_carry_parameter_names(wa_settings: Settings) -> None:
    offer = next(t for t in GraphClient(wa_settings).templates() if t.name == "angebot")
    comps = components(offer, {"header.vorname": "Anna", "vorname": "Anna", "code": "C1", "button.0": "x"})
    assert comps[1] == {
        "type": "body",
        "parameters": [
            {"type": "text", "text": "Anna", "parameter_name": "vorname"},
            {"type": "text", "text": "C1", "parameter_name": "code"},
        ],
    }
    assert comps[2] == {
        "type": "button",
        "sub_type": "url",
        "index": "0",
        "parameters": [{"type": "text", "text": "x"}],
    }
