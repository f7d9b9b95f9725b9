"""A broadcast under real load (issue 21): status webhooks at 3x the send rate, customers' replies and
Slack clicks at the same time, on the processes compose runs; every figure beside its baseline.

    python benchmarks/bench_live.py [--url postgresql+psycopg://.../contactbot_bench] [--web 2] [--rounds 3]

Set-up (PostgreSQL, a database of the benchmark's own: its schema is dropped): `--contacts` reachable
contacts; `--web` x `contactbot serve --no-scheduler` and one `contactbot worker` (the sender, and an
inbox consumer like every web process), each its own process as in compose.yaml; a round-robin TCP
proxy in front of the web processes (Caddy's job in compose; it also times every request/answer pair);
the fake Graph API in its own process, which answers sends like Meta and, for each accepted message,
posts `sent`, `delivered`, `read` as three signed webhooks in the background, concurrently (3x the
send rate); the fake Slack Web API; and the minimal Bolt app of bench_acks.py (acks, does nothing).

Each round measures, in this order:
1. `/healthz` of one web process (32 keep-alive connections): the floor of the server at that moment;
2. the broadcast alone (no webhooks): the sender's rate at `--mps`;
3. the mixed load: the same broadcast again with the status webhooks on, plus `--replies` customer
   replies/s (signed webhooks through the proxy) and `--clicks` Slack list clicks/s (signed
   /slack/events, sort and next page) sent both to contactbot and to the minimal Bolt app.
Reported: broadcast msg/s beside the broadcast alone; webhooks acknowledged/s and their p99 (timed at
the proxy) beside /healthz; the apply lag (age of the oldest waiting inbox body, sampled every 100 ms)
p99 and max; a reply's latency until it is stored (what a Slack view of the ticket then shows); Slack
click ack p99 beside the minimal Bolt app's under the same load. Then the checks: every status of the
round applied (every delivery `read`), every reply stored once, no webhook refused or undelivered.
Medians over the rounds; the load average with every round (2 shared cores: read the ratios).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_db import fresh_schema  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"
APP_SECRET = "bench-live-app-secret"
STATUSES = ["sent", "delivered", "read"]


# --- the proxy (child process): round-robin connections, one timing per request/answer pair -------------


async def _pipe_proxy(backends: list[int]) -> None:
    """HTTP/1.1 keep-alive without pipelining (httpx, our clients): a chunk that starts with a method opens a
    request, the next chunk from the server that starts with `HTTP/1.1` answers it."""
    turn = itertools.cycle(backends)
    records: list[tuple[str, float, float]] = []

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection("127.0.0.1", next(turn))
        except OSError:
            client_w.close()
            return
        waiting: list[tuple[str, float]] = []

        async def up() -> None:
            while data := await client_r.read(65536):
                if data[:5] in (b"POST ", b"GET /"):
                    head = data[:40]
                    kind = "webhook" if b" /whatsapp/" in head else "slack" if b" /slack/" in head else "other"
                    waiting.append((kind, time.monotonic()))
                server_w.write(data)
                await server_w.drain()
            server_w.close()

        async def down() -> None:
            while data := await server_r.read(65536):
                if data.startswith(b"HTTP/1.1") and waiting:
                    kind, started = waiting.pop(0)
                    now = time.monotonic()
                    records.append((kind, now, now - started))
                client_w.write(data)
                await client_w.drain()
            client_w.close()

        await asyncio.gather(up(), down(), return_exceptions=True)

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
    print(server.sockets[0].getsockname()[1], flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "dump":  # the records since the last dump, as one JSON line
            out, records[:] = list(records), []
            print(json.dumps(out), flush=True)


class Proxy:
    def __init__(self, backends: list[int]) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "--proxy", *map(str, backends)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.port = int(self.proc.stdout.readline())
        self.url = f"http://127.0.0.1:{self.port}"

    def dump(self) -> list[tuple[str, float, float]]:
        assert self.proc.stdout is not None and self.proc.stdin is not None
        self.proc.stdin.write("dump\n")
        self.proc.stdin.flush()
        return [tuple(r) for r in json.loads(self.proc.stdout.readline())]  # type: ignore[misc]

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


# --- the driver ---------------------------------------------------------------------------------------


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def fill(url: str, count: int) -> None:
    from sqlalchemy import insert

    from storage.db import make_engine
    from storage.models import Contact

    base = datetime(2026, 1, 1, 9, tzinfo=UTC)
    rows = [
        {
            "phone": f"+49170{i:08d}",
            "messenger": "whatsapp",
            "name": f"Kunde {i}",
            "name_sort": f"kunde {i}",
            "first_contact_at": base,
            "last_chat_at": base,
            "blocked": False,
            "active": True,
            "consent_at": base,
            "blocked_messages": 0,
            "created_at": base,
            "updated_at": base,
        }
        for i in range(count)
    ]
    engine = make_engine(url)
    with engine.begin() as conn:
        for start in range(0, len(rows), 10_000):
            conn.execute(insert(Contact.__table__), rows[start : start + 10_000])  # type: ignore[attr-defined]
    engine.dispose()


def env_for(url: str, fake_slack: Any, fake_graph: Any, mps: int) -> dict[str, str]:
    from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET

    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LOG_"))}
    return environ | {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "CONTACTBOT_ADMINS": ADMIN,
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_VERIFY_TOKEN": "bench",
        "WHATSAPP_MAX_MPS": str(mps),
        "WHATSAPP_DAILY_LIMIT": "0",
        "PYTHONUNBUFFERED": "1",
        **fake_graph.env(),
    }


def broadcast(url: str, settings: Any, key: str) -> int:
    """A broadcast to every contact, started (audience frozen): the worker's sender picks it up."""
    from bot.services.broadcasts import service
    from storage.db import engine_for

    engine = engine_for(url)
    template = service.find_template(settings, "termin_erinnerung", "de")
    draft = service.Draft(
        template=template,
        params={"1": service.ParamSource(field="name", fallback="Kunde"), "2": service.ParamSource(text="Montag")},
        audience=service.AudienceSpec(),
        created_by="bench",
        request_key=key,
    )
    row, _ = service.create(engine, settings, draft)
    service.start(engine, settings, row.id or 0)
    return row.id or 0


def wait_done(url: str, broadcast_id: int, timeout: float = 900) -> None:
    from sqlalchemy import select

    from storage.db import engine_for
    from storage.models import Broadcast

    deadline = time.monotonic() + timeout
    with engine_for(url).connect() as conn:
        while conn.execute(select(Broadcast.status).where(Broadcast.id == broadcast_id)).scalar() != "done":
            conn.rollback()
            if time.monotonic() > deadline:
                raise SystemExit(f"broadcast {broadcast_id} not done within {timeout:.0f} s")
            time.sleep(0.2)


def statuses_of(url: str, broadcast_id: int) -> dict[str, int]:
    from sqlalchemy import func, select

    from storage.db import engine_for
    from storage.models import Delivery

    with engine_for(url).connect() as conn:
        rows = conn.execute(
            select(Delivery.status, func.count()).where(Delivery.broadcast_id == broadcast_id).group_by(Delivery.status)
        ).all()
    return {str(s): int(n) for s, n in rows}


def reply_body(n: int) -> bytes:
    from tests.fakes.graph_api import PHONE_ID

    wa = f"49170{n % 1000:08d}"
    value = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "4930123456", "phone_number_id": PHONE_ID},
        "contacts": [{"profile": {"name": f"Kunde {n % 1000}"}, "wa_id": wa}],
        "messages": [
            {
                "from": wa,
                "id": f"wamid.reply.{n}",
                "timestamp": str(int(time.time())),
                "type": "text",
                "text": {"body": f"Antwort {n}"},
            }
        ],
    }
    return json.dumps(
        {
            "object": "whatsapp_business_account",
            "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}],
        }
    ).encode()


class SideLoad:
    """Customer replies and Slack clicks at fixed rates from threads; replies are timed until stored."""

    def __init__(
        self,
        args: argparse.Namespace,
        url: str,
        proxy_url: str,
        minimal_url: str,
        ids: list[int],
        fake_slack: Any,
        settings: Any,
        first_reply: int,
    ) -> None:
        self.args, self.url, self.proxy_url, self.minimal_url = args, url, proxy_url, minimal_url
        self.ids, self.fake_slack, self.settings = ids, fake_slack, settings
        self.next_reply = first_reply
        self.stop = threading.Event()
        self.reply_sent: dict[str, float] = {}
        self.reply_latency: list[float] = []
        self.reply_status: list[int] = []
        self.clicks: dict[str, list[float]] = {"contactbot": [], "minimal": []}
        self.click_status: list[int] = []
        self.lock = threading.Lock()
        self.stopped_at = 0.0

    def run(self) -> list[threading.Thread]:
        threads = [threading.Thread(target=f, daemon=True) for f in (self._replies, self._clicks, self._seen)]
        for t in threads:
            t.start()
        return threads

    def _every(self, rate: float, work: Any) -> None:
        if rate <= 0:
            return
        with ThreadPoolExecutor(16) as pool:
            tick = time.monotonic()
            while not self.stop.is_set():
                pool.submit(work)
                tick += 1 / rate
                self.stop.wait(max(0.0, tick - time.monotonic()))

    def _replies(self) -> None:
        import httpx

        from bot.web.webhooks import signature

        http = httpx.Client(timeout=30)

        def one() -> None:
            with self.lock:
                n = self.next_reply
                self.next_reply += 1
            body = reply_body(n)
            headers = {"Content-Type": "application/json", "X-Hub-Signature-256": signature(APP_SECRET, body)}
            started = time.monotonic()
            with self.lock:
                self.reply_sent[f"wamid.reply.{n}"] = started
            status = http.post(f"{self.proxy_url}/whatsapp/webhook", content=body, headers=headers).status_code
            self.reply_status.append(status)

        self._every(self.args.replies, one)

    def _seen(self) -> None:
        """Every 20 ms: which replies are stored now (one query for all outstanding)."""
        from sqlalchemy import select

        from storage.db import engine_for
        from storage.models import Message

        with engine_for(self.url).connect() as conn:
            while not self.stop.is_set() or self.reply_sent:
                with self.lock:
                    waiting = list(self.reply_sent)
                if waiting:
                    found = conn.execute(select(Message.wa_message_id).where(Message.wa_message_id.in_(waiting)))
                    now = time.monotonic()
                    with self.lock:
                        for (wamid,) in found:
                            self.reply_latency.append(now - self.reply_sent.pop(wamid))
                conn.rollback()
                time.sleep(0.02)
                if self.stop.is_set() and time.monotonic() > self.stopped_at + 120:
                    break

    def _clicks(self) -> None:
        import httpx

        from tests.conftest import RunningApp
        from tests.load_burst import request

        http = httpx.Client(timeout=30)
        ours = RunningApp(self.proxy_url, self.fake_slack, None, self.settings, http)  # type: ignore[arg-type]
        theirs = RunningApp(self.minimal_url, self.fake_slack, None, self.settings, http)  # type: ignore[arg-type]
        counter = itertools.count()

        def one() -> None:
            i = next(counter)
            kind = 2 + i % 2  # a sort click or a next-page click (tests/load_burst.py)
            for name, app in (("contactbot", ours), ("minimal", theirs)):
                started = time.monotonic()
                status = request(app, kind + 5 * (i % 40), self.ids).status_code
                self.clicks[name].append(time.monotonic() - started)
                self.click_status.append(status)

        self._every(self.args.clicks, one)

    def finish(self, threads: list[threading.Thread]) -> None:
        self.stopped_at = time.monotonic()
        self.stop.set()
        for t in threads:
            t.join(timeout=180)


def lag_sampler(url: str, stop: threading.Event, out: list[float]) -> None:
    from storage import webhook_inbox
    from storage.db import engine_for

    engine = engine_for(url)
    while not stop.is_set():
        oldest = webhook_inbox.oldest(engine)
        if oldest is not None:
            at = oldest if oldest.tzinfo else oldest.replace(tzinfo=UTC)
            out.append(max(0.0, (datetime.now(UTC) - at).total_seconds()))
        else:
            out.append(0.0)
        stop.wait(0.1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=PG_DEFAULT)
    parser.add_argument("--contacts", type=int, default=15_000)
    parser.add_argument("--mps", type=int, default=1000)
    parser.add_argument("--web", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--replies", type=float, default=5.0, help="customer replies per second")
    parser.add_argument("--clicks", type=float, default=5.0, help="Slack list clicks per second")
    parser.add_argument("--proxy", nargs="*", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.proxy is not None:
        asyncio.run(_pipe_proxy(args.proxy))
        return 0

    from bench_webhooks import load
    from sqlalchemy import select

    from bot.config.settings import load_settings
    from storage import webhook_inbox
    from storage.db import engine_for
    from storage.models import Contact, Message
    from tests import serve_process
    from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET
    from tests.fakes import graph_api, slack_api

    work = Path(tempfile.mkdtemp(prefix="bench_live_"))
    fresh_schema(args.url)
    fill(args.url, args.contacts)
    engine = engine_for(args.url)
    with engine.connect() as conn:
        ids = list(conn.execute(select(Contact.id).order_by(Contact.id).limit(40)).scalars())
    fake_graph = graph_api.spawn()
    fake_slack = slack_api.start()
    env = env_for(args.url, fake_slack, fake_graph, args.mps)
    settings = load_settings(
        DATABASE_URL=args.url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        CONTACTBOT_ADMINS=ADMIN,
        WHATSAPP_MAX_MPS=args.mps,
        WHATSAPP_DAILY_LIMIT=0,
        **fake_graph.env(),
    )
    strip = ("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LOG_", "DATABASE_URL")
    extra = {k: v for k, v in env.items() if k.startswith(("WHATSAPP_",)) or k in ("PYTHONUNBUFFERED",)}
    webs = [
        serve_process.serve(args.url, fake_slack, work / f"web{i}.log", "--no-scheduler", **extra)
        for i in range(args.web)
    ]
    with (work / "worker.log").open("wb") as log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "bot", "worker"], env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT
        )
    minimal = subprocess.Popen(
        [sys.executable, str(Path(__file__).with_name("bench_acks.py")), "--minimal", fake_slack.api_url],
        stdout=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith(strip)} | {"PYTHONPATH": str(ROOT)},
    )
    proxy = Proxy([int(w.url.rsplit(":", 1)[1]) for w in webs])
    results: list[dict[str, float]] = []
    ok = True
    replies = 0
    try:
        minimal_port = int((minimal.stdout.readline() if minimal.stdout else b"").strip() or 0)
        if not minimal_port:
            raise SystemExit("the minimal Bolt app did not start")
        one = int(webs[0].url.rsplit(":", 1)[1])
        print(
            f"{args.contacts:,} contacts, WHATSAPP_MAX_MPS={args.mps}, {args.web} x serve + 1 x worker (PostgreSQL), "
            f"{args.replies:g} replies/s, {args.clicks:g} clicks/s, {os.cpu_count()} CPUs",
            flush=True,
        )
        healthz = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{one}\r\n\r\n".encode()
        for n in range(1, args.rounds + 1):
            row: dict[str, float] = {}
            load_before = os.getloadavg()
            answered, _ = asyncio.run(load(one, 32, 3.0, lambda _: healthz, 0))
            row["healthz"] = answered / 3.0

            # 2. the broadcast alone
            fake_graph.configure(reset=True, webhook=None)
            alone = broadcast(args.url, settings, f"alone-{n}")
            wait_done(args.url, alone)
            stats = fake_graph.stats()
            row["alone"] = (stats["accepted"] - 1) / (stats["last"] - stats["first"])

            # 3. the same broadcast with webhooks at 3x, replies and clicks
            posted_before = fake_graph.stats()["webhooks_posted"]
            hook = {"url": f"{proxy.url}/whatsapp/webhook", "secret": APP_SECRET, "statuses": STATUSES, "after": True}
            fake_graph.configure(reset=True, webhook=hook)
            proxy.dump()
            side = SideLoad(
                args, args.url, proxy.url, f"http://127.0.0.1:{minimal_port}", ids, fake_slack, settings, replies
            )
            lags: list[float] = []
            sampling = threading.Event()
            sampler = threading.Thread(target=lag_sampler, args=(args.url, sampling, lags), daemon=True)
            sampler.start()
            threads = side.run()
            mixed = broadcast(args.url, settings, f"mixed-{n}")
            wait_done(args.url, mixed)
            stats = fake_graph.stats()
            row["mixed"] = (stats["accepted"] - 1) / (stats["last"] - stats["first"])
            expected = 3 * stats["accepted"]
            deadline = time.monotonic() + 600
            while fake_graph.stats()["webhooks_posted"] - posted_before < expected - len(fake_graph.stats()["invalid"]):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            side.finish(threads)
            while webhook_inbox.pending(engine):
                if time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            sampling.set()
            sampler.join()
            records = proxy.dump()
            hooks = [r for r in records if r[0] == "webhook"]
            span = (max(r[1] for r in hooks) - min(r[1] - r[2] for r in hooks)) if hooks else float("nan")
            row["acked"] = len(hooks) / span
            row["ack_p99"] = pct([r[2] for r in hooks], 0.99) * 1000
            row["lag_p99"] = pct(lags, 0.99)
            row["lag_max"] = max(lags) if lags else 0.0
            row["reply_p50"] = pct(side.reply_latency, 0.5)
            row["reply_p99"] = pct(side.reply_latency, 0.99)
            row["reply_max"] = max(side.reply_latency) if side.reply_latency else float("nan")
            row["click_p99"] = pct(side.clicks["contactbot"], 0.99) * 1000
            row["minimal_p99"] = pct(side.clicks["minimal"], 0.99) * 1000
            final = statuses_of(args.url, mixed)
            invalid = fake_graph.stats()["invalid"]
            replies = side.next_reply
            with engine.connect() as conn:
                stored = len(list(conn.execute(select(Message.id).where(Message.wa_message_id.like("wamid.reply.%")))))
            lost = (
                final.get("read", 0) != stats["accepted"]
                or invalid
                or stored != replies
                or set(side.reply_status) - {200}
                or set(side.click_status) - {200}
            )
            ok = ok and not lost
            results.append(row)
            print(
                f"round {n}: load average {' '.join(f'{x:.1f}' for x in load_before)} before, "
                f"{' '.join(f'{x:.1f}' for x in os.getloadavg())} after",
                flush=True,
            )
            print(f"  /healthz, one serve          {row['healthz']:8.0f}/s")
            print(f"  broadcast alone              {row['alone']:8.0f} msg/s")
            print(
                f"  broadcast under load         {row['mixed']:8.0f} msg/s  "
                f"({100 * row['mixed'] / row['alone']:.0f}% of alone)"
            )
            print(
                f"  status webhooks acked        {row['acked']:8.0f}/s     p99 {row['ack_p99']:.0f} ms "
                f"({len(hooks)} webhooks, {100 * row['acked'] / row['healthz']:.0f}% of one serve's /healthz)"
            )
            print(f"  apply lag                    p99 {row['lag_p99']:.2f} s, max {row['lag_max']:.2f} s")
            print(
                f"  reply stored (shows in Slack) p50 {row['reply_p50']:.2f} s, p99 {row['reply_p99']:.2f} s, "
                f"max {row['reply_max']:.2f} s ({len(side.reply_latency)} replies)"
            )
            print(
                f"  Slack click ack p99          {row['click_p99']:8.0f} ms  minimal Bolt {row['minimal_p99']:.0f} ms"
            )
            print(
                f"  deliveries {final}, webhooks not taken {len(invalid)}, replies stored {stored}/{replies}"
                f"{'' if not lost else '  <-- LOST'}",
                flush=True,
            )
        if results:
            med = {k: statistics.median(r[k] for r in results) for k in results[0]}
            print(f"medians of {len(results)} rounds: " + ", ".join(f"{k} {v:.2f}" for k, v in med.items()))
    finally:
        proxy.stop()
        minimal.terminate()
        minimal.wait(timeout=30)
        worker.terminate()
        worker.wait(timeout=60)
        for w in webs:
            w.stop()
        fake_graph.stop()
        fake_slack.server.shutdown()
    print(f"logs in {work}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
