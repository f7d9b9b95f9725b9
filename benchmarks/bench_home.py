"""Home tab numbers at scale (issue 7): fill a database with demo contacts, then time `dashboard.load`.

    python benchmarks/bench_home.py sqlite:////tmp/home.db 1000000
    python benchmarks/bench_home.py postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench 1000000

Existing contacts are kept (the fill tops up to the count). Measured here, 1,000,000 contacts:
SQLite 1.4-2 ms warm; PostgreSQL 8-15 ms warm once the table was vacuumed (right after a bulk load,
before autovacuum ran, ~150 ms: the planner avoids the index-only scan of `first_contact_at` while
the visibility map is empty).
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.services import dashboard  # noqa: E402
from bot.services.demo_data import generate  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402


def main(url: str, count: int, runs: int = 7) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM contact")).scalar_one())
    if have < count:
        started = time.perf_counter()
        generate(engine, count - have, tickets=0.01, seed=3)
        print(f"inserted {count - have} contacts in {time.perf_counter() - started:.1f} s")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        board = dashboard.load(engine)
        times.append((time.perf_counter() - started) * 1000)
    print(
        f"dashboard.load over {board.counts.total} contacts: first {times[0]:.1f} ms, "
        f"median {statistics.median(times[1:]):.1f} ms"
    )


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000)
