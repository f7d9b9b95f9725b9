"""Recipient-local send windows (issue 18): what they cost the sender.

    python benchmarks/bench_windows.py --count 6000 --mps 200 --rounds 3 --closed 100000 --idle 30
    python benchmarks/bench_windows.py --db postgresql --url postgresql+psycopg://postgres@127.0.0.1:5432/x

1. All windows open: per round, a broadcast without windows (the baseline) and one whose every
   recipient has quiet hours that do not cover now, each sent to the same N contacts by one
   process against the fake Graph API in its own process; msg/s against WHATSAPP_MAX_MPS and
   against the baseline (target: windowed >= 95% of WHATSAPP_MAX_MPS), medians of the rounds.
2. All windows closed: a broadcast to `--closed` contacts whose quiet hours cover now; after the
   freeze, the runner (the same loop `contactbot worker` runs, a pass every 2 s) goes on for
   `--idle` seconds; its CPU against an idle runner with nothing to send, measured the same way
   (target: <= 5% of one core).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_broadcast import fill  # noqa: E402
from bench_db import fresh_schema  # noqa: E402
from sqlalchemy import text  # noqa: E402

from bot.config.settings import Settings, load_settings  # noqa: E402
from bot.services.broadcasts import service  # noqa: E402
from bot.services.broadcasts.sender import Runner, send_broadcast  # noqa: E402
from storage.db import Engine, make_engine  # noqa: E402
from storage.models import utcnow  # noqa: E402
from tests.fakes import graph_api  # noqa: E402

BERLIN = ZoneInfo("Europe/Berlin")  # the benchmark's numbers are German


def quiet_hours(cover_now: bool) -> str:
    """Quiet hours (Berlin time) that cover the present moment, or that begin two hours from now."""
    now = utcnow().astimezone(BERLIN)
    if cover_now:
        start, end = now - timedelta(hours=1), now + timedelta(hours=3)
    else:
        start, end = now + timedelta(hours=2), now + timedelta(hours=3)
    return f"{start:%H:%M}-{end:%H:%M}"


def draft(settings: Settings, quiet: str | None) -> service.Draft:
    tpl = service.find_template(settings, "termin_erinnerung", "de")
    return service.Draft(
        template=tpl,
        params={"1": service.ParamSource(field="name", fallback="Kunde"), "2": service.ParamSource(text="Montag")},
        audience=service.AudienceSpec(),
        created_by="bench",
        quiet_hours=quiet,
    )


def steady_rate(engine: Engine, broadcast_id: int) -> float:
    """Messages per second from the first answer to the last (the deliveries' `sent_at`), like the
    first-to-last accept of bench_broadcast.py: start-up and the last flush are not the sender's pace."""
    with engine.connect() as conn:
        first, last, n = conn.execute(
            text("SELECT min(sent_at), max(sent_at), count(sent_at) FROM delivery WHERE broadcast_id = :b"),
            {"b": broadcast_id},
        ).one()
    first, last = (v if isinstance(v, datetime) else datetime.fromisoformat(str(v)) for v in (first, last))
    return (n - 1) / max(1e-9, (last - first).total_seconds())


def send_once(
    settings: Settings, engine: Engine, fake: graph_api.FakeGraph, quiet: str | None
) -> tuple[float, float, float]:
    """(msg/s overall, msg/s first to last answer, sender CPU ms per message) for one broadcast to everyone."""
    row, _ = service.create(engine, settings, draft(settings, quiet))
    service.start(engine, settings, row.id or 0)
    before = fake.stats()["accepted"]
    cpu, started = time.process_time(), time.perf_counter()
    status = send_broadcast(settings, engine, row.id or 0)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    sent = fake.stats()["accepted"] - before
    assert status == "done", status
    return sent / elapsed, steady_rate(engine, row.id or 0), 1000 * cpu / max(1, sent)


def idle_cpu(settings: Settings, engine: Engine, seconds: float) -> float:
    """Percent of one core the runner uses over `seconds` (its passes every 2 s, as in the worker)."""
    runner = Runner(settings, engine)
    thread = threading.Thread(target=runner.run_forever, kwargs={"poll": 2.0}, daemon=True)
    cpu, started = time.process_time(), time.perf_counter()
    thread.start()
    time.sleep(seconds)
    runner.stopping.set()
    thread.join()
    return 100 * (time.process_time() - cpu) / (time.perf_counter() - started)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=6000)
    parser.add_argument("--mps", type=int, default=200)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--closed", type=int, default=100_000)
    parser.add_argument("--idle", type=float, default=30.0)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default="")
    args = parser.parse_args()
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")

    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.url
    fresh_schema(url)
    engine = make_engine(url)
    fill(engine, args.count)
    fake = graph_api.spawn()
    try:
        settings = load_settings(
            DATABASE_URL=url, WHATSAPP_MAX_MPS=args.mps, WHATSAPP_DAILY_LIMIT=0, BROADCAST_CONCURRENCY=50, **fake.env()
        )
        plain, windowed = [], []
        for i in range(args.rounds):
            plain.append(send_once(settings, engine, fake, None))
            windowed.append(send_once(settings, engine, fake, quiet_hours(cover_now=False)))
            print(
                f"round {i + 1}: baseline {plain[-1][0]:.1f} msg/s overall, {plain[-1][1]:.1f} first to last "
                f"({plain[-1][2]:.2f} ms CPU/msg); all windows open {windowed[-1][0]:.1f} overall, "
                f"{windowed[-1][1]:.1f} first to last ({windowed[-1][2]:.2f} ms CPU/msg)"
            )
        base, win = (statistics.median(r[1] for r in runs) for runs in (plain, windowed))
        base_all, win_all = (statistics.median(r[0] for r in runs) for runs in (plain, windowed))
        print(
            f"median first to last: baseline {base:.1f} msg/s = {100 * base / args.mps:.1f}% of {args.mps}; "
            f"windowed {win:.1f} msg/s = {100 * win / args.mps:.1f}% of {args.mps} ({100 * win / base:.1f}% of the "
            f"baseline); overall {base_all:.1f} vs {win_all:.1f} msg/s; CPU/msg "
            f"{statistics.median(r[2] for r in plain):.2f} vs {statistics.median(r[2] for r in windowed):.2f} ms"
        )
        ok = win >= 0.95 * args.mps

        fill_more = args.closed - args.count
        if fill_more > 0:  # more contacts for the closed case (numbers after the first ones)
            fill(engine, fill_more, start=args.count)
        idle = [idle_cpu(settings, engine, args.idle / args.rounds) for _ in range(args.rounds)]
        row, _ = service.create(engine, settings, draft(settings, quiet_hours(cover_now=True)))
        started = time.perf_counter()
        frozen = service.start(engine, settings, row.id or 0)
        print(f"closed: {frozen} recipients frozen with their windows in {time.perf_counter() - started:.1f} s")
        started = time.perf_counter()
        send_broadcast(settings, engine, row.id or 0)  # finds every window closed, releases, sets next_window_at
        report = service.report(engine, row.id or 0)
        print(
            f"first look: {1000 * (time.perf_counter() - started):.0f} ms, then idle until "
            f"{report.broadcast.next_window_at}; waiting {report.waiting}"
        )
        closed = [idle_cpu(settings, engine, args.idle / args.rounds) for _ in range(args.rounds)]
        print(
            "runner CPU: idle (nothing to send) "
            + ", ".join(f"{c:.2f}%" for c in idle)
            + f"; {frozen} recipients, every window closed "
            + ", ".join(f"{c:.2f}%" for c in closed)
            + f" (median {statistics.median(closed):.2f}% vs {statistics.median(idle):.2f}% of one core)"
        )
        ok = ok and statistics.median(closed) <= 5.0 and fake.stats()["accepted"] == args.rounds * 2 * args.count
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return 0 if ok else 1
    finally:
        fake.stop()
        if args.db == "sqlite":
            shutil.rmtree(tmp)


if __name__ == "__main__":
    raise SystemExit(main())
