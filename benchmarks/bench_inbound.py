"""Inbound webhook throughput (issue 4): sustained WhatsApp messages per second through the real route.

    python benchmarks/bench_inbound.py --db sqlite
    python benchmarks/bench_inbound.py --db postgresql [--url postgresql+psycopg://...]

The app (uvicorn + Starlette, no Slack) runs in a child process on a fresh, migrated database;
this process signs Meta-shaped bodies and posts them from several threads for `--seconds` per
scenario: one message per request (how Meta usually delivers) and batches of `--batch`. Senders
come from a pool of `--senders` numbers, so contacts and tickets are created first, then joined.
The figure is messages stored per second of wall time, checked against the rows in the database.
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import itertools
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_db import fresh_schema  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from sqlmodel import Session  # noqa: E402

from storage import webhook_inbox  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Contact, Message  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"
SQLITE_DEFAULT = "/tmp/contactbot-bench-inbound.db"
SECRET = "bench-app-secret"


def fresh_database(url: str) -> None:
    fresh_schema(url)


def serve(url: str) -> None:
    """Child process: the real ASGI app with the webhook routes, on a port the kernel picks (printed first)."""
    import logging
    import socket

    import uvicorn

    from bot.config.settings import load_settings
    from bot.web.server import create_asgi
    from storage.db import engine_for

    logging.getLogger("bot").setLevel(logging.WARNING)
    settings = load_settings(DATABASE_URL=url, WHATSAPP_APP_SECRET=SECRET, WHATSAPP_VERIFY_TOKEN="bench")
    asgi = create_asgi(settings, engine_for(settings.database_url), None)
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False)).run(sockets=[sock])


def body(ids: itertools.count, senders: int, n: int) -> bytes:
    messages, names = [], {}
    for _ in range(n):
        i = next(ids)
        wa_id = f"49176{i % senders:07d}"
        names[wa_id] = f"Kunde {i % senders}"
        messages.append(
            {
                "from": wa_id,
                "id": f"wamid.bench.{i}",
                "timestamp": str(1767261600 + i),
                "type": "text",
                "text": {"body": f"Nachricht {i}"},
            }
        )
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1"},
        "contacts": [{"profile": {"name": v}, "wa_id": k} for k, v in names.items()],
        "messages": messages,
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


def run_scenario(
    port: int, per_request: int, seconds: float, threads: int, senders: int, ids: itertools.count
) -> tuple[int, float, list[float]]:
    lock = threading.Lock()
    sent = [0]
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    def worker() -> None:
        with httpx.Client(timeout=60) as http:
            while time.monotonic() < stop:
                with lock:
                    raw = body(ids, senders, per_request)
                signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
                started = time.perf_counter()
                r = http.post(
                    f"http://127.0.0.1:{port}/whatsapp/webhook",
                    content=raw,
                    headers={"X-Hub-Signature-256": signature, "Content-Type": "application/json"},
                )
                elapsed = time.perf_counter() - started
                if r.status_code != 200:
                    raise SystemExit(f"webhook answered {r.status_code}: {r.text[:200]}")
                with lock:
                    sent[0] += per_request
                    latencies.append(elapsed)

    started = time.perf_counter()
    pool = [threading.Thread(target=worker) for _ in range(threads)]
    for t in pool:
        t.start()
    for t in pool:
        t.join()
    return sent[0], time.perf_counter() - started, latencies


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--batch", type=int, default=100)
    parser.add_argument("--senders", type=int, default=2000)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    url = args.url or (PG_DEFAULT if args.db == "postgresql" else f"sqlite:///{SQLITE_DEFAULT}")
    if args.serve:
        serve(url)
        return 0

    fresh_database(url)
    child = subprocess.Popen(
        [sys.executable, __file__, "--serve", "--url", url],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        stdout=subprocess.PIPE,
    )
    try:
        port = int((child.stdout.readline() if child.stdout else b"").strip() or 0)
        if not port:
            raise SystemExit("server did not start")
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise SystemExit("server did not start") from None
                time.sleep(0.1)
        ids = itertools.count()
        print(
            f"database {args.db}, {args.threads} client threads, {args.senders} senders, "
            f"{args.seconds:.0f} s per scenario"
        )
        total = 0
        for per_request in (1, args.batch):
            n, wall, lat = run_scenario(port, per_request, args.seconds, args.threads, args.senders, ids)
            total += n
            print(
                f"  {per_request:>4} message(s)/request: {n / wall:8.0f} messages/s  "
                f"({len(lat)} requests, latency p50 {pct(lat, 0.5):.1f} ms, p95 {pct(lat, 0.95):.1f} ms)"
            )
        engine = make_engine(url)
        applied_by = time.monotonic() + 600  # the route stores, the inbox consumer applies (issue 21)
        while webhook_inbox.pending(engine) and time.monotonic() < applied_by:
            time.sleep(0.1)
        with Session(engine) as s:
            stored = s.scalar(select(func.count()).select_from(Message))
            contacts = s.scalar(select(func.count()).select_from(Contact))
        engine.dispose()
        print(f"  check: {stored} messages stored of {total} sent, {contacts} contacts")
        if stored != total:
            raise SystemExit("lost or doubled messages")
    finally:
        child.terminate()
        child.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
