"""The sender's HTTP stack, side by side: CPU per send for each way of talking to the Graph API.

    python benchmarks/bench_sender.py --count 5000 --rounds 3

Every variant sends the same template body to the fake Graph API (tests/fakes/graph_api.py, in its
own process, so its CPU is not counted) with the same concurrency, on one uvloop, as fast as it
answers: no throttle, no database. The figure is this process's CPU (user + system) per answered
send, and the rate. Rounds alternate the variants, so each round sees the same load; the table shows
medians with the load average. Variants:

- `httpx-h11`: httpx's own transport (httpcore + h11), one single-connection transport per worker;
  what the sender used before issue 21.
- `httpx-pool`: httpx's transport with one shared pool of `concurrency` connections.
- `httpx-h2`: httpx's transport speaking HTTP/2 (prior knowledge to the fake, ALPN to Meta), all
  requests multiplexed over 4 connections.
- `httpx-aiohttp`: httpx requests through the `httpx-aiohttp` transport (aiohttp's C HTTP parser
  and connection pool under httpx's request/response types).
- `aiohttp`: aiohttp's ClientSession directly, the floor of that stack.
- `product`: `bot.whatsapp.client.AsyncSender`, whatever the code uses now.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import aiohttp  # noqa: E402
import httpx  # noqa: E402
import uvloop  # noqa: E402
from httpx_aiohttp import AiohttpTransport  # noqa: E402

from bot.config.settings import load_settings  # noqa: E402
from bot.whatsapp.client import AsyncSender  # noqa: E402
from tests.fakes import graph_api  # noqa: E402

Send = Callable[[bytes, int], Awaitable[int]]


def body(i: int) -> bytes:
    data = {
        "messaging_product": "whatsapp",
        "to": f"+49170{i:08d}",
        "type": "template",
        "template": {
            "name": "termin_erinnerung",
            "language": {"code": "de"},
            "components": [
                {
                    "type": "body",
                    "parameters": [{"type": "text", "text": f"Kunde {i}"}, {"type": "text", "text": "Montag"}],
                }
            ],
        },
        "biz_opaque_callback_data": f"d{i}",
    }
    return json.dumps(data, separators=(",", ":")).encode()


async def _drive(send: Send, count: int, concurrency: int) -> tuple[float, float, int]:
    """(CPU seconds, wall seconds, answered 200) for `count` sends by `concurrency` workers."""
    bodies = [body(i) for i in range(count)]
    queue = iter(range(count))
    ok = 0

    async def worker(no: int) -> None:
        nonlocal ok
        for i in queue:
            if await send(bodies[i], no) == 200:
                ok += 1

    await asyncio.gather(*(worker(n) for n in range(concurrency)))  # warm: connections open
    cpu, wall = time.process_time(), time.perf_counter()
    queue = iter(range(count))
    ok = 0
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return time.process_time() - cpu, time.perf_counter() - wall, ok


def _httpx_variant(url: str, headers: dict[str, str], transports: list[httpx.AsyncBaseTransport]) -> Send:
    target = httpx.URL(url)
    ext = {"timeout": httpx.Timeout(20.0, connect=5.0).as_dict()}

    async def send(content: bytes, no: int) -> int:
        request = httpx.Request("POST", target, headers=headers, content=content, extensions=ext)
        response = await transports[no % len(transports)].handle_async_request(request)
        try:
            await response.aread()
        finally:
            await response.aclose()
        return response.status_code

    return send


async def run_variant(name: str, fake: graph_api.FakeGraph, count: int, concurrency: int) -> tuple[float, float]:
    settings = load_settings(WHATSAPP_MAX_MPS=1000, **fake.env())
    url = f"{fake.api_url}/{graph_api.PHONE_ID}/messages"
    headers = {"Authorization": f"Bearer {graph_api.TOKEN}", "Content-Type": "application/json"}
    closers: list[Callable[[], Awaitable[Any]]] = []
    if name == "httpx-h11":
        one = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        transports: list[httpx.AsyncBaseTransport] = [httpx.AsyncHTTPTransport(limits=one) for _ in range(concurrency)]
        send = _httpx_variant(url, headers, transports)
        closers += [t.aclose for t in transports]
    elif name == "httpx-pool":
        pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        transports = [httpx.AsyncHTTPTransport(limits=pool)]
        send = _httpx_variant(url, headers, transports)
        closers += [t.aclose for t in transports]
    elif name == "httpx-h2":
        h2 = httpx.Limits(max_connections=4, max_keepalive_connections=4)
        transports = [httpx.AsyncHTTPTransport(http1=False, http2=True, limits=h2)]
        send = _httpx_variant(url, headers, transports)
        closers += [t.aclose for t in transports]
    elif name == "httpx-aiohttp":
        pool = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        transports = [AiohttpTransport(limits=pool)]
        send = _httpx_variant(url, headers, transports)
        closers += [t.aclose for t in transports]
    elif name == "aiohttp":
        session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=concurrency))

        async def send(content: bytes, no: int) -> int:
            async with session.post(url, data=content, headers=headers) as response:
                await response.read()
                return response.status

        closers.append(session.close)
    else:
        sender = AsyncSender(settings, concurrency)

        async def send(content: bytes, no: int) -> int:
            await sender.send_accepted(content)
            return 200

        closers.append(sender.aclose)
    try:
        cpu, wall, ok = await _drive(send, count, concurrency)
    finally:
        for close in closers:
            await close()
    assert ok == count, f"{name}: {ok} of {count} answered 200"
    return cpu / count * 1000, count / wall


VARIANTS = ["httpx-h11", "httpx-pool", "httpx-h2", "httpx-aiohttp", "aiohttp", "product"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=5000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default=",".join(VARIANTS))
    args = parser.parse_args()
    names = args.variants.split(",")
    fake = graph_api.spawn()
    results: dict[str, list[tuple[float, float]]] = {n: [] for n in names}
    loads = [os.getloadavg()[0]]
    try:
        for r in range(args.rounds):
            for name in names:
                fake.configure(reset=True)
                results[name].append(uvloop.run(run_variant(name, fake, args.count, args.concurrency)))
                cpu, rate = results[name][-1]
                print(f"round {r + 1} {name}: {cpu:.3f} ms CPU/send, {rate:.0f} sends/s")
            loads.append(os.getloadavg()[0])
    finally:
        fake.stop()
    base = statistics.median(c for c, _ in results[names[0]])
    print(
        f"\n{args.count} sends x {args.rounds} rounds, concurrency {args.concurrency}, uvloop; "
        f"load average {min(loads):.1f}-{max(loads):.1f}"
    )
    print(f"{'variant':<15}{'CPU ms/send':>12}{'vs ' + names[0]:>16}{'sends/s':>10}")
    for name in names:
        cpu = statistics.median(c for c, _ in results[name])
        rate = statistics.median(s for _, s in results[name])
        print(f"{name:<15}{cpu:>12.3f}{cpu / base:>16.2f}{rate:>10.0f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
