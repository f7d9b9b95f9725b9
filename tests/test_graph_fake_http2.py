"""The fake Graph API speaks HTTP/2 (h2c, prior knowledge) like graph.facebook.com, incl. GOAWAY.

The sender sends over HTTP/2 in production (one multiplexed connection); these tests drive the same
client library against the fake so that path, and a connection closed by GOAWAY, is exercised.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.config.settings import Settings
from bot.whatsapp.client import AsyncSender, parse_send
from bot.whatsapp.errors import Ambiguous, WhatsAppError
from bot.whatsapp.templates import send_body
from tests.fakes import graph_api

pytest_plugins = ("tests.broadcast_fixtures",)


def _body(i: int) -> bytes:
    return json.dumps(send_body(f"+4917100{i:06d}", "hello_world", "en_US", [])).encode()


async def _send_all(settings: Settings, n: int, concurrent: bool) -> list[str]:
    url = f"{settings.whatsapp_api_url}/{settings.whatsapp_phone_number_id}/messages"
    headers = {"Authorization": f"Bearer {settings.whatsapp_token}", "Content-Type": "application/json"}
    async with httpx.AsyncClient(http1=False, http2=True) as client:

        async def one(i: int) -> str:
            response = await client.post(url, content=_body(i), headers=headers)
            assert response.http_version == "HTTP/2"
            return parse_send(response.status_code, response.content)

        if concurrent:
            return list(await asyncio.gather(*(one(i) for i in range(n))))
        return [await one(i) for i in range(n)]


def test_sends_are_multiplexed_over_http2(wa_settings: Settings, fake_graph: graph_api.FakeGraph) -> None:
    ids = asyncio.run(_send_all(wa_settings, 40, concurrent=True))
    assert len(set(ids)) == 40 and all(i.startswith("wamid.") for i in ids)
    assert fake_graph.stats()["counts"] == {f"+4917100{i:06d}": 1 for i in range(40)}


def test_after_goaway_the_next_sends_go_out_on_a_new_connection(
    wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    fake_graph.configure(goaway_after=3)
    ids = asyncio.run(_send_all(wa_settings, 10, concurrent=False))
    assert len(set(ids)) == 10
    assert sum(fake_graph.stats()["counts"].values()) == 10  # each message accepted exactly once


def test_the_fake_answers_errors_over_http2_like_over_http1(
    wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    fake_graph.configure(fail_all=133010)
    with pytest.raises(WhatsAppError) as err:
        asyncio.run(_send_all(wa_settings, 1, concurrent=False))
    assert err.value.code == 133010


def test_goaway_with_sends_in_flight_leaves_nothing_sent_twice_and_nothing_falsely_failed(
    wa_settings: Settings, fake_graph: graph_api.FakeGraph
) -> None:
    """Meta may process streams up to the one GOAWAY names while the client library gives up on them:
    the sender must then call them ambiguous (`unknown`), never failed and never resent."""
    fake_graph.configure(goaway_after=3)

    async def run() -> list[str]:
        sender = AsyncSender(wa_settings, 1)
        await sender.aclose()
        sender.transports = [httpx.AsyncHTTPTransport(http1=False, http2=True)]  # the https path's protocol
        try:

            async def one(i: int) -> str:
                try:
                    return await sender.send(_body(i), 0)
                except Ambiguous:
                    return "ambiguous"

            return list(await asyncio.gather(*(one(i) for i in range(12))))
        finally:
            await sender.aclose()

    results = asyncio.run(run())
    counts = fake_graph.stats()["counts"]
    assert all(v == 1 for v in counts.values())  # nobody got it twice
    answered = [r for r in results if r != "ambiguous"]
    assert len(answered) + results.count("ambiguous") == 12 and len(answered) <= len(counts)
