"""Ack latency of the load test's burst (200 concurrent Slack requests, 100,000 contacts), beside a
minimal Bolt app's on the same machine in the same run.

    python benchmarks/bench_acks.py [--db sqlite|postgresql] [--url ...] [--rounds 3] [--previews 4]

Both servers run in their own process (uvicorn, one process each, as `contactbot serve` runs); the
client is this process with one thread per request. contactbot gets the burst of
tests/reliability/test_load.py (commands with and without search, sort and next-page clicks,
block/unblock, admins and non-admins: acked at once, the work done by lazy listeners). The minimal
app is Bolt + uvicorn and nothing else: it acks every command and action and does no work, so it
shows what the machine and the framework alone cost at that moment (read contactbot's figures
against it, not against a fixed number). Slack's deadline for an ack is 3 s. The load average is
printed with every round: on a busy machine both columns move.

Besides the ack, each round times what the user waits for: every list answer (the response_url post) and, for
the burst's modal openers (every 20th request: the Home tab's Send-notification button, the global shortcut,
`/contacts notify`), the views.open, each from the moment its request was sent; Slack wants both within 3 s (a
trigger_id expires then, and the fake refuses a late one). `--previews N` starts N CSV previews (N admins, each
uploading a `--preview-rows` file) just before each burst and lets them run beside it, as issue 16 asks: acks,
answers and views.open must stay within 3 s while the long-job queue is busy.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from bench_db import refuse_unless_bench  # noqa: E402

from bot.config.settings import LAZY_WORKERS_DEFAULT, load_settings  # noqa: E402
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, block_actions  # noqa: E402
from tests.fakes.slack_api import Call, FakeSlack  # noqa: E402
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
    bolt.shortcut(re.compile(".*"))(lambda ack: ack())
    handler = SlackRequestHandler(bolt)

    async def events(req: Request) -> Response:
        return await handler.handle(req)

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    print(sock.getsockname()[1], flush=True)
    app = Starlette(routes=[Route("/slack/events", events, methods=["POST"])])
    uvicorn.Server(uvicorn.Config(app, log_level="warning")).run(sockets=[sock])


def load_settings_for(url: str) -> Any:
    return load_settings(DATABASE_URL=url, SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET)


def p99(values: list[float]) -> float:
    values = sorted(values)
    return values[max(0, int(len(values) * 0.99) - 1)]


def figures(acks: list[float]) -> str:
    acks = sorted(acks)
    return (
        f"p50 {statistics.median(acks) * 1000:5.0f} ms  p99 {p99(acks) * 1000:5.0f} ms  max {acks[-1] * 1000:5.0f} ms"
    )


MODAL_EVERY = 20  # every 20th request of the burst opens a modal (10 of 200)


class Clock:
    """When each request was sent, and when the fake Slack received what it answered (a response_url post or a
    views.open with the trigger the request carried)."""

    def __init__(self, fake: FakeSlack) -> None:
        self.fake = fake
        self.lock = threading.Lock()
        self.sent: dict[str, float] = {}  # response_url path or trigger_id -> when its request left
        self.arrived: dict[str, float] = {}
        fake.responders["response_url"] = self._response_url
        fake.responders["views.open"] = self._views_open

    def _mark(self, key: str) -> None:
        with self.lock:
            self.arrived.setdefault(key, time.perf_counter())

    def _response_url(self, call: Call) -> tuple[int, dict[str, str], bytes]:
        self._mark(call.path)
        return 200, {"Content-Type": "text/plain"}, b"ok"

    def _views_open(self, call: Call) -> dict[str, Any]:
        self._mark(str(call.body.get("trigger_id")))
        return {"ok": True, "view": {"id": f"V{len(self.arrived)}", "hash": "1.1"}}

    def start(self, key: str) -> None:
        with self.lock:
            self.sent[key] = time.perf_counter()

    def waits(self, answers: bool) -> list[float]:
        """Seconds from sending to arrival (inf: never arrived), of the list answers or of the modals."""
        with self.lock:
            return [
                self.arrived.get(k, float("inf")) - t
                for k, t in self.sent.items()
                if k.startswith("/response/") == answers
            ]

    def wait_all(self, timeout: float, answers: bool = True) -> None:
        """Until every list answer (or modal) sent has arrived (a retried post counts once), or the timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if all(k in self.arrived for k in self.sent if k.startswith("/response/") == answers):
                    return
            time.sleep(0.05)

    def clear(self) -> None:
        with self.lock:
            self.sent.clear()
            self.arrived.clear()


def modal_request(app: RunningApp, clock: Clock, i: int) -> httpx.Response:
    """A request that opens the broadcast composer: Home button, global shortcut or `/contacts notify` in turn."""
    trigger = app.fake.issue_trigger()
    clock.start(trigger)
    kind = (i // MODAL_EVERY) % 3
    if kind == 2:
        form = {
            "token": "legacy",
            "team_id": "T111",
            "channel_id": "C111",
            "user_id": ADMIN,
            "command": "/contacts",
            "text": "notify",
            "api_app_id": "A111",
            "response_url": app.fake.response_url(f"modal{trigger}"),
            "trigger_id": trigger,
        }
        return app.post(urlencode(form), "application/x-www-form-urlencoded")
    if kind == 0:
        action = {"type": "button", "action_id": "home_notify", "block_id": "home_actions", "value": "notify"}
        payload = block_actions(
            {**action, "action_ts": str(time.time())}, trigger_id=trigger, container={"type": "view", "view_id": "VH"}
        )
    else:
        payload = {
            "type": "shortcut",
            "callback_id": "send_notification",
            "trigger_id": trigger,
            "user": {"id": ADMIN, "username": "admin", "team_id": "T111"},
            "team": {"id": "T111"},
            "action_ts": str(time.time()),
            "token": "legacy",
        }
    return app.post(urlencode({"payload": json.dumps(payload)}), "application/x-www-form-urlencoded")


def timed_request(app: RunningApp, clock: Clock, i: int, ids: list[int], tag: str = "") -> httpx.Response:
    """Request i of a burst; `tag` makes its response_url its own (the fake, like Slack, takes 5 posts a URL)."""
    if i % MODAL_EVERY == MODAL_EVERY - 1:
        return modal_request(app, clock, i)
    prefix = f"r{tag.replace('/', 'x')}-"
    clock.start(f"/response/{prefix}{i}")
    return request(app, i, ids, prefix)


PREVIEW_ADMINS = [f"UPREV{i:04d}" for i in range(16)]


def preview_file(fake: FakeSlack, rows: int) -> bytes:
    """An export-shaped CSV of `rows` new, valid German mobile numbers."""
    lines = ["Nummer;Name;Messenger"] + [f"+49176{i:08d};Kunde {i};whatsapp" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def start_previews(app: RunningApp, data: bytes, n: int, tag: str) -> list[str]:
    """N uploads by N admins, each in their own DM: N previews, queued on the long-job queue."""
    fake = app.fake
    ids = []
    for i in range(n):
        file_id = f"FB{tag.replace('/', 'x')}x{i}"
        fake.files[f"{file_id}.csv"] = (data, "text/csv")
        fake.file_infos[file_id] = {
            "id": file_id,
            "name": f"{file_id}.csv",
            "filetype": "csv",
            "mimetype": "text/csv",
            "size": len(data),
            "url_private_download": f"{fake.base}/files/{file_id}.csv",
        }
        ts = f"{1700000000 + len(fake.files)}.{i:06d}"
        event = {
            "type": "message",
            "subtype": "file_share",
            "text": "",
            "user": PREVIEW_ADMINS[i],
            "channel": f"D0PREV{i}",
            "channel_type": "im",
            "ts": ts,
            "event_ts": ts,
            "files": [{"id": file_id, "name": f"{file_id}.csv", "filetype": "csv", "mimetype": "text/csv"}],
        }
        app.event(event, event_id=f"EvBench{file_id}")
        ids.append(file_id)
    return ids


def previews_done(engine: Any, since: int) -> int:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from storage.models import ImportRun

    with Session(engine) as s:
        return int(s.scalar(select(func.count()).select_from(ImportRun).where(ImportRun.id > since)) or 0)


def last_run_id(engine: Any) -> int:
    from sqlalchemy import func, select
    from sqlmodel import Session

    from storage.models import ImportRun

    with Session(engine) as s:
        return int(s.scalar(select(func.max(ImportRun.id))) or 0)


def within(waits: list[float], limit: float = 3.0) -> str:
    ok = sum(1 for w in waits if w <= limit)
    worst = max(waits) if waits else 0.0
    shown = "never" if worst == float("inf") else f"{worst * 1000:5.0f} ms"
    return f"{ok}/{len(waits)} within {limit:.0f} s (p99 {p99(waits) * 1000:5.0f} ms, max {shown})"


def client() -> httpx.Client:
    return httpx.Client(timeout=60, limits=httpx.Limits(max_connections=REQUESTS))


def timed_burst(send: Callable[[int], httpx.Response]) -> list[float]:
    """Ack times of one burst; a request not acknowledged (Bolt answers 404 when no ack came within its 3 s) counts
    as never acknowledged (inf), and how many there were is printed."""
    results = burst(send)
    failed = [r.status_code for r, _ in results if r.status_code != 200]
    if failed:
        print(f"    {len(failed)} request(s) not acknowledged: {sorted(set(failed))}")
    return [took if r.status_code == 200 else float("inf") for r, took in results]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help="database URL (PostgreSQL: its schema is dropped)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--previews", type=int, default=0, help="CSV previews running beside each burst (max 16)")
    parser.add_argument("--preview-rows", type=int, default=50_000, help="rows per previewed CSV file")
    parser.add_argument(
        "--lazy-workers",
        type=lambda v: v.split(","),
        default=[str(LAZY_WORKERS_DEFAULT)],
        help="one contactbot server per value, each burst in turn: CONTACTBOT_LAZY_WORKERS, optionally with "
        "/CONTACTBOT_SWITCH_INTERVAL_MS (e.g. 8,3,3/0.5)",
    )
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
    clock = Clock(fake)
    admins = ",".join([ADMIN, *PREVIEW_ADMINS[: args.previews]])
    bots = {
        lw: serve_process.serve(
            url,
            fake,
            work / f"serve{lw.replace('/', '_')}.log",
            CONTACTBOT_ADMINS=admins,
            CONTACTBOT_LAZY_WORKERS=lw.partition("/")[0],
            CONTACTBOT_SWITCH_INTERVAL_MS=lw.partition("/")[2] or "5",
        )
        for lw in args.lazy_workers
    }
    data = preview_file(fake, args.preview_rows) if args.previews else b""
    minimal = subprocess.Popen(
        [sys.executable, __file__, "--minimal", fake.api_url],
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    modals = REQUESTS // MODAL_EVERY

    def contactbot_burst(bot: Any, tag: str) -> list[str]:
        """One burst against one server (previews started first), every answer awaited: the report lines."""
        clock.clear()
        with client() as http:  # fresh connections for every burst, as 200 Slack requests would open
            app = serve_process.client(bot, fake, engine, http)
            since = last_run_id(engine)
            if args.previews:
                start_previews(app, data, args.previews, tag)
                fake.wait_for("download", count=min(args.previews, 2), timeout=120)  # the job queue's 2 run
            ours = timed_burst(lambda i, target=app: timed_request(target, clock, i, ids, tag))
            clock.wait_all(timeout=300)  # every list answered before the next burst
            clock.wait_all(timeout=30, answers=False)  # a refused trigger never opens its modal
            answers, opens = clock.waits(answers=True), clock.waits(answers=False)
            running_after = args.previews - previews_done(engine, since) if args.previews else 0
            if args.previews:  # every preview finishes (none lost) before the next burst
                deadline = time.monotonic() + 600
                while previews_done(engine, since) < args.previews and time.monotonic() < deadline:
                    time.sleep(0.5)
        refused = len(fake.trigger_refusals)
        fake.clear()
        fake.trigger_refusals.clear()
        acks.setdefault(tag.partition("/")[2], []).append(p99(ours))
        lines = [
            f"    acks {figures(ours)}",
            f"    answers (response_url)  {within(answers)}",
            f"    modals (views.open)     {within(opens)}, trigger refusals: {refused}",
        ]
        if args.previews:
            lines.append(f"    previews still running when the answers were in: {running_after} of {args.previews}")
        return lines

    acks: dict[str, list[float]] = {}
    try:
        port = int((minimal.stdout.readline() if minimal.stdout else b"").strip() or 0)
        if not port:
            raise SystemExit("the minimal Bolt app did not start")
        print(f"{REQUESTS} concurrent requests per burst ({modals} open a modal), {os.cpu_count()} CPUs")
        if args.previews:
            print(f"{args.previews} CSV previews of {args.preview_rows:,} rows start just before each burst")
        for n in range(1, args.rounds + 1):
            load = " ".join(f"{x:.1f}" for x in os.getloadavg())
            report = {lw: contactbot_burst(bot, f"{n}/{lw}") for lw, bot in bots.items()}
            clock.clear()
            with client() as http:
                base = RunningApp(f"http://127.0.0.1:{port}", fake, engine, load_settings_for(url), http)
                theirs = timed_burst(lambda i, target=base, tag=f"{n}/m": timed_request(target, clock, i, ids, tag))
            fake.clear()
            fake.trigger_refusals.clear()
            acks.setdefault("minimal", []).append(p99(theirs))
            print(f"round {n}  load average {load}")
            for lw, lines in report.items():
                ratio = acks[str(lw)][-1] / p99(theirs)
                threads, _, interval = lw.partition("/")
                print(
                    f"  contactbot, {threads} lazy threads, switch interval {interval or '5'} ms"
                    f" (p99 ack {ratio:.2f}x the minimal app's)"
                )
                print("\n".join(lines))
            print(f"  minimal Bolt acks {figures(theirs)}")
        print("medians over the rounds, p99 ack:")
        floor = statistics.median(acks["minimal"])
        for key, values in acks.items():
            print(f"  {key:>8}: {statistics.median(values) * 1000:5.0f} ms ({statistics.median(values) / floor:.2f}x)")
    finally:
        minimal.terminate()
        minimal.wait(timeout=30)
        for bot in bots.values():
            bot.stop()
        fake.server.shutdown()
        engine.dispose()
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
