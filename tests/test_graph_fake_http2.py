"""The fake Graph API speaks HTTP/2 (h2c, prior knowledge) like graph.facebook.com, incl. GOAWAY.

The broadcast sender speaks HTTP/1.1 since issue 21 (httpx's HTTP/2 cost three times the CPU per send,
docs/benchmarks.md); these tests keep the fake honest for a client that multiplexes (httpx with h2),
incl. a connection closed by GOAWAY.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from bot.config.settings import Settings
from bot.whatsapp.client import parse_send
from bot.whatsapp.errors import WhatsAppError
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
