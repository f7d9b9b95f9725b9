"""A broadcast as production runs it: the sender in `contactbot worker`, Meta's status webhooks in
`contactbot serve`, on PostgreSQL, at WHATSAPP_MAX_MPS with the webhooks coming back at 3x that rate.

    createdb -h 127.0.0.1 -U postgres contactbot_bench_x
    python benchmarks/bench_broadcast_live.py --url postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench_x \
        --count 20000 --mps 1000 --rounds 3

Processes, as compose.yaml runs them: the fake Graph API (tests/fakes/graph_api.py, its own process)
answers each send and then posts `sent`, `delivered` and `read` for it to `serve`'s
/whatsapp/webhook, one webhook per status, concurrently, like Meta; `worker --no-scheduler` sends
the broadcast. Per round: the rate at the fake (first to last arrival), the busiest sliding
one-second window of send requests as they arrived there, the worker's CPU per message (from its
first send to the broadcast's end), the webhooks posted, and `serve`'s CPU. The baseline in the same
run: the sender's own client (bot.whatsapp.client.AsyncSender), no database and no limiter, against
the same fake with 50 requests in flight: the most the fake and the HTTP stack can take.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import uvloop  # noqa: E402
from sqlalchemy import text  # noqa: E402

from benchmarks.bench_broadcast import fill, reminder_draft  # noqa: E402
from benchmarks.bench_sender import body  # noqa: E402
from bot.config.settings import load_settings  # noqa: E402
from bot.services.broadcasts import service  # noqa: E402
from bot.whatsapp.client import AsyncSender  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402
from tests.fakes import graph_api, slack_api  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
APP_SECRET = "bench-app-secret"
SIGNING_SECRET = "bench-signing-secret-0123456789"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def busiest_second(times: list[float]) -> int:
    times, best, lo = sorted(times), 0, 0
    for hi, t in enumerate(times):
        while t - times[lo] >= 1.0:
            lo += 1
        best = max(best, hi - lo + 1)
    return best


def wait(what, timeout: float, message: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not what():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up after {timeout:.0f} s: {message}")
        time.sleep(0.02)


def environ(url: str, fake: graph_api.FakeGraph, slack: slack_api.FakeSlack, mps: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LOG_"))}
    return env | {
        "DATABASE_URL": url,
        "SLACK_BOT_TOKEN": "xoxb-bench-0000",
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": slack.api_url,
        "CONTACTBOT_ADMINS": "UADMIN01",
        "WHATSAPP_APP_SECRET": APP_SECRET,
        "WHATSAPP_MAX_MPS": str(mps),
        "WHATSAPP_DAILY_LIMIT": "0",
        "BROADCAST_CONCURRENCY": "50",
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        **fake.env(),
    }


def start_serve(env: dict[str, str], log: Path) -> tuple[subprocess.Popen[bytes], str]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--no-scheduler", "--host", "127.0.0.1", "--port", "0"],
            env=env | {"LOG_LEVEL": "INFO"},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    found: list[str] = []

    def bound() -> bool:
        if proc.poll() is not None:
            raise SystemExit(f"serve exited: {log.read_text()}")
        match = re.search(r"listening on (http://127\.0\.0\.1:\d+)", log.read_text(errors="replace"))
        return bool(match and not found.append(match.group(1)))

    wait(bound, 120, "serve did not start")
    return proc, found[0]


def reset(url: str) -> None:
    eng = make_engine(url)
    with eng.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    eng.dispose()
    upgrade(url)


def one_round(args: argparse.Namespace, fake: graph_api.FakeGraph, slack: slack_api.FakeSlack, tmp: Path) -> dict:
    reset(args.url)
    engine = make_engine(args.url)
    fill(engine, args.count)
    env = environ(args.url, fake, slack, args.mps)
    serve, base = start_serve(env, tmp / "serve.log")
    worker = None
    try:
        fake.configure(reset=True)
        fake.configure(
            webhook={
                "url": f"{base}/whatsapp/webhook",
                "secret": APP_SECRET,
                "statuses": ["sent", "delivered", "read"],
                "after": True,
            },
            hooks_posted=0,
        )
        settings = load_settings(DATABASE_URL=args.url, **{k: v for k, v in env.items() if k.startswith("WHATSAPP_")})
        row, _ = service.create(engine, settings, reminder_draft(settings))
        serve_cpu0 = cpu_seconds(serve.pid)
        with (tmp / "worker.log").open("ab") as out:
            worker = subprocess.Popen(
                [sys.executable, "-m", "bot", "worker", "--no-scheduler"], env=env, cwd=ROOT, stdout=out, stderr=out
            )
        wait(lambda: fake.stats()["requests"] > 0, 120, "the worker did not send")
        cpu0 = cpu_seconds(worker.pid)

        def done() -> bool:
            time.sleep(0.1)
            with engine.connect() as conn:
                status = conn.execute(text("SELECT status FROM broadcast WHERE id = :i"), {"i": row.id}).scalar()
            return status in ("done", "stopped", "paused", "cancelled")

        wait(done, 900, "the broadcast did not finish")
        worker_cpu = cpu_seconds(worker.pid) - cpu0
        arrivals = fake.arrivals()
        stats = fake.stats()
        drained = time.monotonic() + args.drain  # the webhook path is another figure: looked at, not waited out
        while fake.stats()["webhooks_pending"] and time.monotonic() < drained:
            time.sleep(0.2)
        serve_cpu = cpu_seconds(serve.pid) - serve_cpu0
        final = fake.stats()
        posted, pending = final["webhooks_posted"], final["webhooks_pending"]
        lost = sum(1 for problem in final["invalid"] if problem.startswith("webhook"))
        sent = len(arrivals)
        span = max(arrivals) - min(arrivals) if sent > 1 else 1.0
        return {
            "rate": (sent - 1) / span,
            "window": busiest_second(arrivals),
            "cpu_ms": 1000 * worker_cpu / max(1, sent),
            "sent": sent,
            "once": bool(stats["counts"]) and max(stats["counts"].values()) == 1 and len(stats["counts"]) == args.count,
            "webhooks": posted,
            "webhooks_pending": pending,
            "webhook_errors": lost,
            "serve_cpu": serve_cpu,
            "load": os.getloadavg()[0],
        }
    finally:
        for proc in (worker, serve):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=30)
                except subprocess.TimeoutExpired:
                    proc.kill()
        engine.dispose()


async def _raw(fake: graph_api.FakeGraph, count: int, concurrency: int) -> tuple[float, float]:
    settings = load_settings(WHATSAPP_MAX_MPS=1000, **fake.env())
    sender = AsyncSender(settings, concurrency)
    bodies = [body(i) for i in range(count)]
    it = iter(bodies)

    async def worker() -> None:
        for b in it:
            await sender.send_accepted(b)

    try:
        await asyncio.gather(*(worker() for _ in range(concurrency)))  # warm up over the first sends
        it = iter(bodies)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return count / (time.perf_counter() - wall), 1000 * (time.process_time() - cpu) / count
    finally:
        await sender.aclose()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True, help="a PostgreSQL database of your own: emptied first")
    parser.add_argument("--count", type=int, default=20_000)
    parser.add_argument("--mps", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to let webhooks finish after the broadcast")
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp())
    fake = graph_api.spawn()
    slack = slack_api.start()
    rounds, raw = [], []
    try:
        for r in range(args.rounds):
            got = one_round(args, fake, slack, tmp)
            rounds.append(got)
            fake.configure(reset=True, webhook=None)
            raw.append(uvloop.run(_raw(fake, 5000, 50)))
            print(
                f"round {r + 1}: {got['rate']:.0f} msg/s ({100 * got['rate'] / args.mps:.1f}%), busiest second "
                f"{got['window']}, worker {got['cpu_ms']:.3f} ms CPU/msg, {got['sent']} sent, once: {got['once']}, "
                f"{got['webhooks']} status webhooks posted ({got['webhooks_pending']} messages' still pending, "
                f"{got['webhook_errors']}+ refused), serve CPU {got['serve_cpu']:.1f} s, "
                f"load {got['load']:.1f}; raw client {raw[-1][0]:.0f} msg/s, {raw[-1][1]:.3f} ms CPU/msg",
                flush=True,
            )
    finally:
        fake.stop()
    med = {k: statistics.median(g[k] for g in rounds) for k in ("rate", "window", "cpu_ms", "load")}
    print(
        f"\nmedian of {args.rounds}: {med['rate']:.0f} msg/s = {100 * med['rate'] / args.mps:.1f}% of {args.mps}; "
        f"busiest second {med['window']:.0f} (max {max(g['window'] for g in rounds)}); worker "
        f"{med['cpu_ms']:.3f} ms CPU/msg; raw client {statistics.median(r[0] for r in raw):.0f} msg/s, "
        f"{statistics.median(r[1] for r in raw):.3f} ms CPU/msg; load average {min(g['load'] for g in rounds):.1f}-"
        f"{max(g['load'] for g in rounds):.1f}"
    )
    return 0 if all(g["once"] and g["window"] <= args.mps for g in rounds) else 1


if __name__ == "__main__":
    raise SystemExit(main())
