"""Searches at 1,000,000 contacts (issue 21, item 4): every term, 1-2 characters included, <= 50 ms p95.

    python benchmarks/bench_search.py --count 1000000 \
        --sqlite-url sqlite:////tmp/contactbot-bench-search.db \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench_search

Fills each database with `contactbot demo-data` contacts (`bot.services.demo_data.generate`, the bulk
path; `--reuse` keeps a database that already holds `--count` contacts) and times, per term, the first
page of `/contacts <term>` as the list runs it (`storage.contacts.list_page`: the bounded count plus the
page) beside two baselines measured in the same run on the same data:

- `old count`: the exact `count(*)` of the term's matches, which the list ran for its header before
  (`storage.contacts.count`: the old path, whose cost was the search's cost);
- `no search`: the first page without a term (tally sum + one walk along an index): the floor.

p50 and p95 of `--repeat` calls per round (a fresh session each, after one warm-up), the median of
`--rounds` rounds; the old count gets fewer calls (it takes seconds). The load average (1 minute) is
printed before and after every database, since the machine is shared.
It refuses any database whose name lacks `bench`: the PostgreSQL fill drops schema `public`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
Figures = tuple[float, float]  # p50, p95 in ms
Result = tuple[str, str, str, Figures, Figures]  # term, note, matches, new path, old count

from bench_db import fresh_schema  # noqa: E402
from sqlalchemy import Engine, func, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.domain.contacts import ContactFilter, PageRequest  # noqa: E402
from bot.services.demo_data import generate  # noqa: E402
from storage import contacts as store  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402
from storage.models import Contact  # noqa: E402

TERMS = (
    ("7", "1 digit"),
    ("a", "1 letter"),
    ("01", "2 digits (`491...`)"),
    ("17", "2 digits"),
    ("xa", "2 letters, rare"),
    ("ma", "2 letters, common"),
    ("0170", "number prefix"),
    ("017", "number prefix"),
    ("ann", "name fragment"),
    ("0170 123", "number"),
    ("müller", "name"),
)
TARGET_MS = 50.0


def database_name(url: str) -> str:
    if url.startswith("sqlite"):
        return Path(url.removeprefix("sqlite:///")).name
    return urlsplit(url).path.lstrip("/")


def fill(url: str, count: int, reuse: bool) -> tuple[Engine, float | None]:
    if "bench" not in database_name(url):
        raise SystemExit(f"refusing to fill {database_name(url)!r}: its name must contain 'bench'")
    engine = make_engine(url)
    if reuse:
        try:
            with engine.connect() as conn:
                held = int(conn.scalar(select(func.count()).select_from(Contact)) or 0)
        except Exception:  # noqa: BLE001 - no table yet: fill it
            held = -1
        if held == count:
            upgrade(url)  # a database filled by older code gets this code's indexes
            return engine, None
    engine.dispose()
    fresh_schema(url)
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, count)
    elapsed = time.perf_counter() - started
    if engine.dialect.name == "postgresql":  # what autovacuum does shortly after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return engine, elapsed


def timed(fn: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """(p50 ms, p95 ms) of `repeat` calls after one warm-up."""
    fn()
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def rounds(fn: Callable[[], Any], repeat: int, n: int) -> tuple[float, float]:
    runs = [timed(fn, repeat) for _ in range(n)]
    return statistics.median(r[0] for r in runs), statistics.median(r[1] for r in runs)


def measure(engine: Engine, repeat: int, old_repeat: int, n: int) -> list[Result]:
    def page(term: str | None) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return store.list_page(session, ContactFilter(search=term), PageRequest(), "DE")

        return run

    def old_count(term: str) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return store.count(session, ContactFilter(search=term), "DE")

        return run

    floor = rounds(page(None), repeat, n)
    print(f"  no search (floor): p50 {floor[0]:.1f} ms  p95 {floor[1]:.1f} ms", flush=True)
    results = [("", "no search: first page", "", floor, floor)]
    for term, note in TERMS:
        with Session(engine) as session:
            shown = store.list_page(session, ContactFilter(search=term), PageRequest(), "DE")
        total = f"{'> ' if shown.total_capped else ''}{shown.total:,}"
        new = rounds(page(term), repeat, n)
        old = rounds(old_count(term), old_repeat, n)
        results.append((term, note, total, new, old))
        print(
            f"  {term!r:<11} {note:<22} total {total:>9}  new p50 {new[0]:7.1f} p95 {new[1]:7.1f} ms   "
            f"old count p50 {old[0]:8.1f} p95 {old[1]:8.1f} ms",
            flush=True,
        )
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sqlite-url", default="sqlite:////tmp/contactbot-bench-search.db")
    parser.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench_search")
    parser.add_argument("--db", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--old-repeat", type=int, default=5, help="calls per round of the old exact count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--reuse", action="store_true", help="keep a database that holds --count contacts")
    args = parser.parse_args()
    os.environ.setdefault("CONTACTBOT_LOG_LEVEL", "WARNING")
    urls = {"sqlite": args.sqlite_url, "postgresql": args.pg_url}
    chosen = list(urls) if args.db == "both" else [args.db]
    for name in chosen:
        if "bench" not in database_name(urls[name]):
            parser.error(f"refusing {database_name(urls[name])!r}: a benchmark database's name contains 'bench'")
    tables = []
    for name in chosen:
        print(f"{name}: {args.count:,} contacts", flush=True)
        engine, filled = fill(urls[name], args.count, args.reuse)
        if filled is not None:
            print(f"  filled in {filled:.1f} s", flush=True)
        before = os.getloadavg()[0]
        results = measure(engine, args.repeat, args.old_repeat, args.rounds)
        after = os.getloadavg()[0]
        print(f"  load average {before:.1f} -> {after:.1f}", flush=True)
        tables.append((name, results, before, after))
        engine.dispose()
    print("\n| term | | matches | " + " | ".join(f"{n}: new p50 / p95 | {n}: old count" for n, *_ in tables) + " |")
    print("|---|---|---|" + "---|---|" * len(tables))
    for i, (term, note, total, *_rest) in enumerate(tables[0][1]):
        cells = []
        for _, results, *_load in tables:
            new, old = results[i][3], results[i][4]
            cells.append(f"{new[0]:.1f} / {new[1]:.1f} | " + (f"{old[0]:.1f} / {old[1]:.1f}" if term else ""))
        print(f"| {f'`{term}`' if term else ''} | {note} | {total} | " + " | ".join(cells) + " |")
    for name, _, before, after in tables:
        print(f"{name}: load average {before:.1f} -> {after:.1f}")
    missed = [(name, r[0]) for name, results, *_ in tables for r in results if r[0] and r[3][1] > TARGET_MS]
    for name, term in missed:
        print(f"MISSED {name} {term!r}: p95 over {TARGET_MS:.0f} ms")
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
