"""Ack latency of the load test's burst (200 concurrent Slack requests, 100,000 contacts), beside a
minimal Bolt app's on the same machine in the same run.

    python benchmarks/bench_acks.py [--db sqlite|postgresql] [--url ...] [--rounds 3]

Both servers run in their own process (uvicorn, one process each, as `contactbot serve` runs); the
client is this process with one thread per request. contactbot gets the burst of
tests/reliability/test_load.py (commands with and without search, sort and next-page clicks,
block/unblock, admins and non-admins: acked at once, the work done by lazy listeners). The minimal
app is Bolt + uvicorn and nothing else: it acks every command and action and does no work, so it
shows what the machine and the framework alone cost at that moment (read contactbot's figures
against it, not against a fixed number). Slack's deadline for an ack is 3 s. The load average is
printed with every round: on a busy machine both columns move.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_db import refuse_unless_bench  # noqa: E402

from tests.conftest import BOT_TOKEN, SIGNING_SECRET, RunningApp  # noqa: E402
from tests.load_burst import REQUESTS, burst, request  # noqa: E402

CONTACTS = 100_000
PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"


def serve_minimal(api_url: str) -> None:
    """The baseline server (run in a child process): Bolt acks everything, uvicorn on a port the kernel picks.

    Its Web API client points at the fake Slack API too (Bolt checks the token once with auth.test)."""
    import re

    import uvicorn
    from slack_bolt import App
    from slack_bolt.adapter.starlette import SlackRequestHandler
    from slack_sdk import WebClient
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    client = WebClient(token=BOT_TOKEN, base_url=api_url.rstrip("/") + "/")
    bolt = App(client=client, signing_secret=SIGNING_SECRET, token_verification_enabled=False)
    bolt.command(re.compile(".*"))(lambda ack: ack())
    bolt.action(re.compile(".*"))(lambda ack: ack())
    handler = SlackRequestHandler(bolt)

    async def events(req: Request) -> Response:
        return await handler.handle(req)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def figures(acks: list[float]) -> str:
    acks = sorted(acks)
    p99 = acks[max(0, int(len(acks) * 0.99) - 1)]
    return f"p50 {statistics.median(acks) * 1000:5.0f} ms  p99 {p99 * 1000:5.0f} ms  max {acks[-1] * 1000:5.0f} ms"


def client() -> httpx.Client:
    return httpx.Client(timeout=60, limits=httpx.Limits(max_connections=REQUESTS))


def timed_burst(send: Callable[[int], httpx.Response]) -> list[float]:
    results = burst(send)
    failed = [r.status_code for r, _ in results if r.status_code != 200]
    if failed:
        raise SystemExit(f"{len(failed)} request(s) not acknowledged: {failed[:10]}")
    return [took for _, took in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="database URL (PostgreSQL: its schema is dropped)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--minimal", metavar="API_URL", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.minimal:
        serve_minimal(args.minimal)
        return 0

    from sqlalchemy import select, text
    from sqlmodel import Session

    from bot.services.demo_data import generate
    from storage.db import make_engine, upgrade
    from storage.models import Contact
    from tests import serve_process
    from tests.fakes import slack_api

    work = Path(tempfile.mkdtemp(prefix="bench_acks_"))
    url = args.url or (PG_DEFAULT if args.db == "postgresql" else f"sqlite:///{work}/bench.db")
    if url.startswith("postgresql"):
        refuse_unless_bench(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
    engine = make_engine(url)
    print(f"filling {CONTACTS:,} demo contacts ({args.db}) ...", flush=True)
    generate(engine, CONTACTS, tickets=0.0)
    with Session(engine) as s:
        ids = list(s.scalars(select(Contact.id).where(Contact.active).order_by(Contact.id).limit(40)))

    fake = slack_api.start()
    bot = serve_process.serve(url, fake, work / "serve.log")
    minimal = subprocess.Popen(
        [sys.executable, __file__, "--minimal", fake.api_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        port = int((minimal.stdout.readline() if minimal.stdout else b"").strip() or 0)
        if not port:
            raise SystemExit("the minimal Bolt app did not start")
        print(f"{REQUESTS} concurrent requests per burst, {os.cpu_count()} CPUs")
        for n in range(1, args.rounds + 1):
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            with client() as http:  # fresh connections for every burst, as 200 Slack requests would open
                app = serve_process.client(bot, fake, engine, http)
                ours = timed_burst(lambda i, target=app: request(target, i, ids))
                fake.wait_for("response_url", count=REQUESTS, timeout=300)  # the work is done before the next
            fake.clear()
            with client() as http:
                base = RunningApp(f"http://127.0.0.1:{port}", fake, engine, app.settings, http)
                theirs = timed_burst(lambda i, target=base: request(target, i, ids))
            fake.clear()
            print(f"round {n}  load average {load}")
            print(f"  contactbot   {figures(ours)}")
            print(f"  minimal Bolt {figures(theirs)}")
    finally:
        minimal.terminate()
        minimal.wait(timeout=30)
        bot.stop()
        fake.server.shutdown()
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
