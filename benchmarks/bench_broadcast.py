"""Broadcast throughput: N recipients against the fake Graph API running in its own process.

    python benchmarks/bench_broadcast.py --count 100000 --mps 1000          # rate, memory, duplicates
    python benchmarks/bench_broadcast.py --count 4800 --mps 80 --window      # never above 80 in any 1 s
    python benchmarks/bench_broadcast.py --db postgresql --url postgresql+psycopg://postgres@127.0.0.1:5432/x

The figure is the sender's: the fake answers from another process (asyncio, keep-alive), the
database is a fresh SQLite file (or the given PostgreSQL database, emptied first).
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_db import refuse_unless_bench  # noqa: E402
from sqlalchemy import insert, text  # noqa: E402

from bot.config.settings import Settings, load_settings  # noqa: E402
from bot.services.broadcasts import service  # noqa: E402
from bot.services.broadcasts.sender import send_broadcast  # noqa: E402
from storage.db import Engine, make_engine, upgrade  # noqa: E402
from storage.models import Contact  # noqa: E402
from tests.fakes import graph_api  # noqa: E402

BASE = datetime(2026, 1, 1, tzinfo=UTC)


def fill(engine: Engine, count: int, start: int = 0) -> None:
    """`count` reachable German WhatsApp contacts numbered from `start` (bulk insert in chunks)."""
    table = Contact.__table__  # type: ignore[attr-defined]
    with engine.begin() as conn:
        for first in range(start, start + count, 10_000):
            conn.execute(
                insert(table),
                [
                    {
                        "phone": f"+49170{i:08d}",
                        "messenger": "whatsapp",
                        "name": f"Kunde {i}",
                        "name_sort": f"kunde {i}",
                        "first_contact_at": BASE,
                        "last_chat_at": BASE,
                        "blocked": False,
                        "active": True,
                        "consent_at": BASE,
                        "blocked_messages": 0,
                        "created_at": BASE,
                        "updated_at": BASE,
                    }
                    for i in range(first, min(first + 10_000, start + count))
                ],
            )


def reminder_draft(settings: Settings) -> service.Draft:
    """The broadcast every sender benchmark sends: the reminder template to all reachable contacts."""
    tpl = service.find_template(settings, "termin_erinnerung", "de")
    return service.Draft(
        template=tpl,
        params={"1": service.ParamSource(field="name", fallback="Kunde"), "2": service.ParamSource(text="Montag")},
        audience=service.AudienceSpec(),
        created_by="bench",
    )


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--mps", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default="")
    parser.add_argument("--window", action="store_true", help="report the busiest one-second window")
    args = parser.parse_args()

    tmp = tempfile.mkdtemp()
    url = f"sqlite:///{tmp}/bench.db" if args.db == "sqlite" else args.url
    if args.db == "postgresql":
        refuse_unless_bench(url)
        eng = make_engine(url)
        with eng.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        eng.dispose()
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, args.count)
    print(f"{args.count} contacts inserted in {time.perf_counter() - started:.1f} s")

    fake = graph_api.spawn()
    try:
        settings = load_settings(
            DATABASE_URL=url,
            WHATSAPP_MAX_MPS=args.mps,
            WHATSAPP_DAILY_LIMIT=0,
            BROADCAST_CONCURRENCY=args.concurrency,
            **fake.env(),
        )
        row, _ = service.create(engine, settings, reminder_draft(settings))
        started = time.perf_counter()
        total = service.start(engine, settings, row.id or 0)
        print(f"audience frozen: {total} deliveries in {time.perf_counter() - started:.2f} s (one INSERT ... SELECT)")
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        cpu_before = time.process_time()
        started = time.perf_counter()
        status = send_broadcast(settings, engine, row.id or 0)
        elapsed = time.perf_counter() - started
        cpu = time.process_time() - cpu_before
        rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        stats = fake.stats()
        report = service.report(engine, row.id or 0)
        sent = report.n("sent")
        span = (stats["last"] - stats["first"]) if stats["accepted"] > 1 else elapsed
        print(f"status {status}: {report.counts}")
        print(
            f"sent {sent} in {elapsed:.1f} s = {sent / elapsed:.0f} msg/s overall; "
            f"{(stats['accepted'] - 1) / span:.0f} msg/s first-to-last accept at the fake "
            f"(configured {args.mps}, {100 * (stats['accepted'] - 1) / span / args.mps:.1f}%)"
        )
        fake_cpu = _cpu_seconds(fake.process.pid) if fake.process else 0.0
        print(
            f"sender CPU {cpu:.1f} s ({100 * cpu / elapsed:.0f}% of one core), fake Graph API CPU {fake_cpu:.1f} s; "
            f"peak RSS {rss_before / 1024:.0f} MB before sending, {rss_after / 1024:.0f} MB after"
        )
        counts = stats["counts"]
        print(
            f"recipients reached {len(counts)}, max messages per recipient {max(counts.values()) if counts else 0}, "
            f"errors {stats['errors']}"
        )
        print(f"busiest one-second window: {stats['window_max']} messages (limit {args.mps})")
        ok = status == "done" and sent == args.count and max(counts.values()) == 1
        if args.window:
            ok = ok and stats["window_max"] <= args.mps
        return 0 if ok else 1
    finally:
        fake.stop()
        if args.db == "sqlite":
            shutil.rmtree(tmp)


if __name__ == "__main__":
    raise SystemExit(main())
