"""Status webhooks acknowledged per second by one web process, next to its own `/healthz` rate (issue 21).

    python benchmarks/bench_webhooks.py --db sqlite
    python benchmarks/bench_webhooks.py --db postgresql [--url postgresql+psycopg://...]

The app (uvicorn + Starlette with the webhook routes and its inbox consumer, as `contactbot serve`
builds it) runs in a child process on a fresh, migrated database holding `--messages` outgoing
messages. This process keeps `--connections` keep-alive connections busy (asyncio, raw HTTP/1.1:
a light client, so the server is what is measured) for `--seconds` per scenario, `--rounds` times:

- `/healthz`: the floor of this server on this machine (no database, no body);
- status webhooks: one signed Meta status per request (sent/delivered/read of the outgoing messages),
  as a broadcast makes Meta send them.

Then it waits until the inbox is applied and checks every status landed (the apply lag after the
load stops is printed). Loopback only; every loop is bounded by `--seconds` and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_db import fresh_schema  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402
from sqlalchemy import inspect as sa_inspect  # noqa: E402
from sqlmodel import Session  # noqa: E402

from storage import webhook_inbox  # noqa: E402
from storage.db import make_engine  # noqa: E402
from storage.models import Contact, Message, Ticket, utcnow  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"
SQLITE_DEFAULT = "/tmp/contactbot-bench-webhooks.db"
SECRET = "bench-app-secret"
STATUSES = ("sent", "delivered", "read")


def fresh_database(url: str, messages: int) -> None:
    fresh_schema(url)
    engine = make_engine(url)
    now = utcnow()
    with engine.begin() as conn:
        contacts = [
            {
                "phone": f"+4915{i:09d}",
                "messenger": "whatsapp",
                "first_contact_at": now,
                "blocked": False,
                "active": True,
                "blocked_messages": 0,
                "created_at": now,
                "updated_at": now,
            }
            for i in range(messages)
        ]
        conn.execute(insert(Contact.__table__), contacts)  # type: ignore[attr-defined]
        ids = list(conn.execute(select(Contact.id).order_by(Contact.id)).scalars())  # type: ignore[call-overload]
        conn.execute(
            insert(Ticket.__table__),  # type: ignore[attr-defined]
            [{"contact_id": c, "status": "closed", "opened_at": now, "message_count": 0} for c in ids],
        )
        conn.execute(
            insert(Message.__table__),  # type: ignore[attr-defined]
            [
                {
                    "contact_id": c,
                    "direction": "out",
                    "kind": "template",
                    "wa_message_id": f"wamid.out.{n}",
                    "sent_at": now,
                }
                for n, c in enumerate(ids)
            ],
        )
    engine.dispose()


# The child process: the real ASGI app (webhook routes + inbox consumer, as `contactbot serve` builds it)
# from the tree given (this one, or `--before DIR`: an older checkout measured in the same run), on a port
# the kernel picks (printed first).
CHILD = """
import logging, os, socket, sys
sys.path.insert(0, sys.argv[2])
import uvicorn
from bot.config.settings import load_settings
from bot.web.server import create_asgi
from storage.db import engine_for
logging.getLogger("bot").setLevel(logging.WARNING)
settings = load_settings(DATABASE_URL=sys.argv[1], WHATSAPP_APP_SECRET=sys.argv[3], WHATSAPP_VERIFY_TOKEN="bench")
asgi = create_asgi(settings, engine_for(settings.database_url), None)
sock = socket.socket()
sock.bind(("127.0.0.1", 0))
print(sock.getsockname()[1], flush=True)
uvicorn.Server(uvicorn.Config(asgi, log_level="warning", access_log=False)).run(sockets=[sock])
"""


def status_request(port: int, n: int, messages: int) -> bytes:
    """The n-th status webhook: message n % messages, status by round (sent, delivered, read, then read again)."""
    status = STATUSES[min(n // messages, 2)]
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"phone_number_id": "1"},
        "statuses": [
            {"id": f"wamid.out.{n % messages}", "status": status, "timestamp": str(1767261600 + n), "recipient_id": "1"}
        ],
    }
    body = json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()
    signature = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    head = (
        f"POST /whatsapp/webhook HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/json\r\n"
        f"X-Hub-Signature-256: {signature}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


async def _one(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, request: bytes) -> int:
    writer.write(request)
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status


async def load(port: int, connections: int, seconds: float, make: object, start: int) -> tuple[int, list[float]]:
    """Keep `connections` connections busy for `seconds`; returns (answered, latencies)."""
    counter = [start]
    latencies: list[float] = []
    stop = time.monotonic() + seconds

    async def conn() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while time.monotonic() < stop:
                n = counter[0]
                counter[0] += 1
                request = make(n)  # type: ignore[operator]
                t0 = time.perf_counter()
                status = await _one(reader, writer, request)
                latencies.append(time.perf_counter() - t0)
                if status != 200:
                    raise SystemExit(f"answered {status}")
        finally:
            writer.close()

    await asyncio.gather(*(conn() for _ in range(connections)))
    return counter[0] - start, latencies


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process so far (Linux /proc), all its threads (the consumer's too)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000 if ordered else 0.0


def start_child(url: str, code: Path) -> tuple[subprocess.Popen[bytes], int]:
    child = subprocess.Popen([sys.executable, "-c", CHILD, url, str(code), SECRET], stdout=subprocess.PIPE, cwd=code)
    port = int((child.stdout.readline() if child.stdout else b"").strip() or 0)
    if not port:
        child.terminate()
        raise SystemExit("server did not start")
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return child, port
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                child.terminate()
                raise SystemExit("server did not start") from None
            time.sleep(0.1)


def measure(args: argparse.Namespace, url: str, code: Path, label: str) -> None:
    fresh_database(url, args.messages)
    child, port = start_child(url, code)
    engine = make_engine(url)
    try:
        healthz = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()
        rates: dict[str, list[float]] = {"healthz": [], "status": []}
        cpu: dict[str, list[float]] = {"healthz": [], "status": []}  # server CPU per request: less load-bound
        p99: dict[str, list[float]] = {"healthz": [], "status": []}
        posted = 0
        for _ in range(args.rounds):
            for name in ("healthz", "status"):
                started, cpu_before = time.perf_counter(), cpu_seconds(child.pid)
                if name == "healthz":
                    n, lat = asyncio.run(load(port, args.connections, args.seconds, lambda _: healthz, 0))
                else:
                    make = lambda i: status_request(port, i, args.messages)  # noqa: E731
                    n, lat = asyncio.run(load(port, args.connections, args.seconds, make, posted))
                    posted += n
                wall = time.perf_counter() - started
                rates[name].append(n / wall)
                cpu[name].append((cpu_seconds(child.pid) - cpu_before) / max(n, 1) * 1e6)
                p99[name].append(pct(lat, 0.99))
        stopped = time.monotonic()
        with engine.connect() as conn:
            has_inbox = "webhook_inbox" in sa_inspect(conn).get_table_names()
        while has_inbox and webhook_inbox.pending(engine):
            if time.monotonic() - stopped > 600:
                raise SystemExit("the inbox was not applied within 10 minutes")
            time.sleep(0.1)
        lag = time.monotonic() - stopped
        with Session(engine) as session:
            got = dict(session.execute(select(Message.status, func.count()).group_by(Message.status)).all())  # type: ignore[arg-type]
    finally:
        child.terminate()
        child.wait(timeout=30)
        engine.dispose()
    h, s = statistics.median(rates["healthz"]), statistics.median(rates["status"])
    print(f"{label}: load average {os.getloadavg()[0]:.1f}")
    print(f"  /healthz         {h:8.0f}/s  p99 {statistics.median(p99['healthz']):6.1f} ms")
    print(
        f"  status webhooks  {s:8.0f}/s  p99 {statistics.median(p99['status']):6.1f} ms  "
        f"= {100 * s / h:.0f}% of /healthz (medians of {args.rounds})"
    )
    hc, sc = statistics.median(cpu["healthz"]), statistics.median(cpu["status"])
    print(f"  server CPU per request: /healthz {hc:.0f} µs, status webhook {sc:.0f} µs (incl. its apply)")
    print(f"  {posted} statuses posted, all applied {lag:.1f} s after the load stopped; messages by status: {got}")
    reached = sum(v for k, v in got.items() if k is not None)
    if reached != min(posted, args.messages) or got.get("read", 0) != max(
        0, min(args.messages, posted - 2 * args.messages)
    ):
        raise SystemExit("a status was lost")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url")
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--messages", type=int, default=20_000)
    parser.add_argument("--before", type=Path, help="an older checkout (e.g. `git worktree add`) measured first")
    args = parser.parse_args()
    url = args.url or (PG_DEFAULT if args.db == "postgresql" else f"sqlite:///{SQLITE_DEFAULT}")
    print(
        f"database {args.db}, {args.connections} connections, {args.seconds:.0f} s per scenario, {args.rounds} rounds"
    )
    if args.before:
        measure(args, url, args.before.resolve(), f"before ({args.before})")
    measure(args, url, ROOT, "this tree")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
