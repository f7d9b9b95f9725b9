"""A contact's history at scale (issue 18): one page of templates and messages for a random contact, beside
the card's existing reads (the contact by id and its last ticket) as the baseline, in the same run.

    python benchmarks/bench_history.py sqlite:////tmp/history.db 1000000 3
    python benchmarks/bench_history.py postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench_history 1000000 3

Fills (once; a re-run reuses the data) `count` demo contacts (10% with a ticket and messages) and
`broadcasts` finished broadcasts to all of them (one delivery row per contact each, set-based), then times,
for 300 random contacts per round (warm: read once untimed), the baseline and the history page (newest, and
the one after it), and the
chart's timeline of a whole broadcast beside the report's count by status. Prints the medians of each round,
their ratio to the baseline, and the load average.
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.services.demo_data import generate  # noqa: E402
from storage import broadcasts as broadcasts_store  # noqa: E402
from storage import contacts as contacts_store  # noqa: E402
from storage import history, tickets  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402

SAMPLE = 300


def fill(url: str, count: int, broadcasts: int) -> None:
    upgrade(url)
    engine = make_engine(url)
    with engine.connect() as conn:
        have = int(conn.execute(text("SELECT count(*) FROM contact")).scalar_one())
    if have < count:
        started = time.perf_counter()
        generate(engine, count - have, tickets=0.1, seed=5)
        print(f"inserted {count - have} contacts in {time.perf_counter() - started:.1f} s")
    with engine.begin() as conn:
        done = int(conn.execute(text("SELECT count(*) FROM broadcast")).scalar_one())
        for b in range(done, broadcasts):
            started = time.perf_counter()
            bid = conn.execute(
                text(
                    "INSERT INTO broadcast (template, language, template_def, params, audience, status, total, "
                    "excluded, created_by, report_lang, created_at, updated_at) VALUES (:t, 'de', '{}', '{}', '{}', "
                    "'done', :n, '{}', 'bench', 'de', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP) RETURNING id"
                ),
                {"t": f"vorlage_{b}", "n": count},
            ).scalar_one()
            conn.execute(
                text(
                    "INSERT INTO delivery (broadcast_id, contact_id, phone, status, attempts, claimed_at, sent_at, "
                    "delivered_at, read_at, updated_at, text) SELECT :b, id, phone, 'read', 1, CURRENT_TIMESTAMP, "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, "
                    "'Hallo, Ihr Termin am Montag um 9 Uhr' FROM contact"
                ),
                {"b": bid},
            )
            print(f"broadcast {bid}: {count} deliveries in {time.perf_counter() - started:.1f} s")
    if url.startswith("postgresql"):
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE delivery"))
            conn.execute(text("VACUUM ANALYZE message"))
    engine.dispose()


def main(url: str, count: int, broadcasts: int, rounds: int = 3) -> None:
    fill(url, count, broadcasts)
    engine = make_engine(url)
    with engine.connect() as conn:
        top = int(conn.execute(text("SELECT max(id) FROM contact")).scalar_one())
    rnd = random.Random(7)
    for r in range(rounds):
        ids = [rnd.randint(1, top) for _ in range(SAMPLE)]
        base, first, second = [], [], []
        with Session(engine) as session:
            for cid in ids:  # warm: the pages of these rows in memory, as for a card opened twice
                contacts_store.get(session, cid)
                tickets.last_for_contact(session, cid)
                history.page(session, cid, None, 10)
            session.expunge_all()
            for cid in ids:
                t0 = time.perf_counter()
                contacts_store.get(session, cid)
                tickets.last_for_contact(session, cid)
                t1 = time.perf_counter()
                events, more = history.page(session, cid, None, 5)
                t2 = time.perf_counter()
                if events:
                    history.page(session, cid, events[-1].cursor, 5)
                t3 = time.perf_counter()
                base.append(t1 - t0)
                first.append(t2 - t1)
                second.append(t3 - t2)
                session.expunge_all()
        b, f, s = (statistics.median(x) * 1000 for x in (base, first, second))
        print(
            f"round {r + 1}: baseline (contact + last ticket) {b:.3f} ms, history page 1 {f:.3f} ms "
            f"({f / b:.2f}x), page 2 {s:.3f} ms ({s / b:.2f}x)"
        )
    # The chart's aggregation over a whole broadcast, beside the report's own count by status (the same rows).
    for r in range(rounds):
        with Session(engine) as session:
            t0 = time.perf_counter()
            broadcasts_store.counts(session, 1)
            t1 = time.perf_counter()
            points = history.timeline(session, 1, "minute")
            t2 = time.perf_counter()
        b, c = (t1 - t0) * 1000, (t2 - t1) * 1000
        print(f"round {r + 1}: report counts {b:.0f} ms, chart timeline {c:.0f} ms ({c / b:.2f}x, {len(points)} pts)")
    print(f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main(
        sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else 1_000_000, int(sys.argv[3]) if len(sys.argv) > 3 else 3
    )
