"""Target group member counts over N contacts (issue 6): must answer within Slack's 3-second ack window.

    python benchmarks/bench_audiences.py --db sqlite --count 1000000
    python benchmarks/bench_audiences.py --db postgresql --url postgresql+psycopg://postgres@127.0.0.1:5432/bench

Fills a fresh database with demo contacts and two user attributes (PLZ for every third contact,
visits for every fifth), then times the member count of typical groups, median of 5 runs.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench_db import refuse_unless_bench  # noqa: E402

from bot.services import attributes  # noqa: E402
from bot.services.demo_data import generate  # noqa: E402
from storage.audiences import condition_for  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402
from storage.models import Contact, ContactAttribute  # noqa: E402

GROUPS = {
    "active + PLZ starts 10 (contains)": {
        "conditions": [{"field": "status", "value": "active"}, {"field": "attr:plz", "op": "contains", "value": "101"}]
    },
    "PLZ equals 10111": {"conditions": [{"field": "attr:plz", "op": "eq", "value": "10111"}]},
    "visits > 40": {"conditions": [{"field": "attr:besuche", "op": "gt", "value": "40"}]},
    "WhatsApp + last chat within 30 days": {
        "conditions": [
            {"field": "messenger", "value": ["whatsapp"]},
            {"field": "last_chat", "op": "within_days", "value": 30},
        ]
    },
    "telegram OR visits < 2 (any)": {
        "match": "any",
        "conditions": [
            {"field": "messenger", "value": ["telegram"]},
            {"field": "attr:besuche", "op": "lt", "value": "2"},
        ],
    },
    "all active": {"conditions": [{"field": "status", "value": "active"}]},
}


def fill(engine: Engine, count: int) -> None:
    generate(engine, count, tickets=0.0)
    plz = attributes.create(engine, "PLZ", "Postcode", "text", "bench")
    visits = attributes.create(engine, "Besuche", "Visits", "number", "bench")
    with engine.connect() as conn:
        ids = list(conn.scalars(select(Contact.id).order_by(Contact.id)))
    table = ContactAttribute.__table__  # type: ignore[attr-defined]
    chunk = 100_000
    for start in range(0, len(ids), chunk):
        rows = []
        for cid in ids[start : start + chunk]:
            if cid % 3 == 0:
                rows.append({"contact_id": cid, "attribute_id": plz.id, "value": f"{10000 + cid % 89999:05d}"})
            if cid % 5 == 0:
                rows.append({"contact_id": cid, "attribute_id": visits.id, "value": str(cid % 50)})
        with engine.begin() as conn:
            conn.execute(insert(table), rows)
    with engine.begin() as conn:
        conn.execute(text("ANALYZE"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench")
    parser.add_argument("--count", type=int, default=1_000_000)
    args = parser.parse_args()
    if args.db == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp()}/bench.db"
    else:
        url = args.url
        refuse_unless_bench(url)
        reset = make_engine(url)
        with reset.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        reset.dispose()
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    fill(engine, args.count)
    print(f"filled {args.count:,} contacts with attributes in {time.perf_counter() - started:.0f} s ({args.db})")
    print("| group | members | median ms | max ms |\n|---|---:|---:|---:|")
    with Session(engine) as session:
        for name, spec in GROUPS.items():
            timings, members = [], 0
            for _ in range(5):
                t0 = time.perf_counter()
                stmt = select(text("count(*)")).select_from(Contact).where(condition_for(session, spec))
                members = int(session.scalar(stmt) or 0)
                timings.append((time.perf_counter() - t0) * 1000)
            print(f"| {name} | {members:,} | {statistics.median(timings):.0f} | {max(timings):.0f} |")


if __name__ == "__main__":
    main()
