"""Contact list at scale (issue 2): fill a database with demo contacts, then time every list query.

    python benchmarks/bench_list.py --db sqlite --count 1000000
    python benchmarks/bench_list.py --db postgresql --count 1000000 [--url postgresql+psycopg://...]

Times (median / p95 in ms) are measured around `storage.contacts.list_page` / `count` in a fresh
session, i.e. every statement a list page runs plus the ORM building the rows: an upper bound of
the database time. `db` is the median time spent inside `cursor.execute` (on PostgreSQL that is
the server's work plus the loopback round trips, results included; on SQLite it leaves out
stepping through rows after the first, so there the whole call is the figure to read).
The Slack round trip runs the real app (uvicorn + Bolt) against the loopback fake Slack API from
the tests and times signed request in -> message out at the response_url.
`--reuse` skips the fill when the database already holds `--count` contacts.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_db import refuse_unless_bench  # noqa: E402
from sqlalchemy import Engine, event, func, select, text  # noqa: E402
from sqlmodel import Session  # noqa: E402

from bot.domain.contacts import ContactFilter, PageRequest  # noqa: E402
from bot.services.demo_data import generate  # noqa: E402
from storage import contacts as store  # noqa: E402
from storage.db import make_engine, upgrade  # noqa: E402
from storage.models import Contact  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"
SQLITE_DEFAULT = "/tmp/contactbot-bench.db"
TARGET_PAGE_MS, TARGET_SEARCH_MS, TARGET_ROUND_TRIP_MS = 5.0, 50.0, 150.0
Result = tuple[str, str, float, float, int, float, float]  # group, name, median, p95, statements, target, db


class StatementCounter:
    """Counts the SQL statements a measured call runs and the time spent executing them."""

    def __init__(self, engine: Engine) -> None:
        self.n = 0
        self.db = 0.0
        self._started = 0.0
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, *_: Any) -> None:
        self.n += 1
        self._started = time.perf_counter()

    def _after(self, *_: Any) -> None:
        self.db += time.perf_counter() - self._started


def fill(url: str, count: int, reuse: bool) -> tuple[Engine, float | None]:
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        engine = make_engine(url)
        if reuse and path.exists() and _count(engine) == count:
            return engine, None
        engine.dispose()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        if reuse and _has_table(engine) and _count(engine) == count:
            return engine, None
        refuse_unless_bench(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url)
    engine = make_engine(url)
    started = time.perf_counter()
    generate(engine, count)
    elapsed = time.perf_counter() - started
    if engine.dialect.name == "postgresql":  # what autovacuum does shortly after a bulk load
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    return engine, elapsed


def _has_table(engine: Engine) -> bool:
    with engine.connect() as conn:
        return bool(conn.scalar(text("SELECT to_regclass('public.contact') IS NOT NULL")))


def _count(engine: Engine) -> int:
    with engine.connect() as conn:
        return int(conn.scalar(select(func.count()).select_from(Contact)) or 0)


def timed(fn: Callable[[], Any], repeat: int, counter: StatementCounter) -> tuple[float, float, int, float]:
    """(median ms, p95 ms, statements per call, median ms inside cursor.execute)."""
    fn()  # warm: plans cached, pages in memory (a busy list is warm too)
    times, db = [], []
    counter.n = 0
    for _ in range(repeat):
        counter.db = 0.0
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
        db.append(counter.db * 1000)
    times.sort()
    p95 = times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))]
    return statistics.median(times), p95, counter.n // repeat, statistics.median(db)


def deep_anchor(engine: Engine, flt: ContactFilter, sort: str, desc: bool, fraction: float) -> int:
    """The id of the contact at `fraction` of the list (setup only: found once with OFFSET)."""
    with Session(engine) as session:
        conds = store.filter_conditions(session, flt, "DE")
        col = store.SORT_COLUMNS[sort]
        total = store.count(session, flt)
        nulls = col.is_(None)
        order = [nulls.asc(), col.desc() if desc else col.asc(), Contact.id.desc() if desc else Contact.id.asc()]  # type: ignore[union-attr]
        stmt = select(Contact.id).where(*conds).order_by(*order).offset(int(total * fraction)).limit(1)
        return int(session.scalar(stmt) or 0)


def query_benchmarks(engine: Engine, repeat: int) -> list[Result]:
    counter = StatementCounter(engine)
    results: list[Result] = []

    def page(flt: ContactFilter, req: PageRequest) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return store.list_page(session, flt, req, "DE")

        return run

    def add(group: str, name: str, fn: Callable[[], Any], target: float) -> None:
        med, p95, statements, db = timed(fn, repeat, counter)
        results.append((group, name, med, p95, statements, target, db))
        print(
            f"  {group:<8} {name:<44} median {med:8.2f} ms  p95 {p95:8.2f} ms  db {db:7.2f} ms  "
            f"({statements} statements)",
            flush=True,
        )

    active = ContactFilter()

    def count_only(flt: ContactFilter) -> Callable[[], Any]:
        def run() -> Any:
            with Session(engine) as session:
                return store.count(session, flt)

        return run

    add("count", "total, status active (list header)", count_only(active), TARGET_PAGE_MS)
    add("count", "total, status all", count_only(ContactFilter(status="all")), TARGET_PAGE_MS)
    add("count", "total, blocked", count_only(ContactFilter(status="all", blocked=True)), TARGET_PAGE_MS)
    add(
        "count",
        "total, whatsapp, inactive",
        count_only(ContactFilter(status="inactive", messenger="whatsapp")),
        TARGET_PAGE_MS,
    )
    add("page", "first page (active, last chat desc)", page(active, PageRequest()), TARGET_PAGE_MS)
    for sort in store.SORT_COLUMNS:
        for desc in (False, True):
            add(
                "page",
                f"sort {sort} {'desc' if desc else 'asc'}",
                page(active, PageRequest(sort=sort, desc=desc)),
                TARGET_PAGE_MS,
            )
    for sort, desc in (
        ("last_chat", True),
        ("name", False),
        ("phone", False),
        ("first_contact", True),
        ("messenger", False),
        ("status", True),
    ):
        anchor = deep_anchor(engine, active, sort, desc, 0.6)
        label = f"{sort} {'desc' if desc else 'asc'}"
        add(
            "deep",
            f"next page at 60% ({label})",
            page(active, PageRequest(sort=sort, desc=desc, after_id=anchor)),
            TARGET_PAGE_MS,
        )
        add(
            "deep",
            f"previous page at 60% ({label})",
            page(active, PageRequest(sort=sort, desc=desc, before_id=anchor)),
            TARGET_PAGE_MS,
        )
    anchor = deep_anchor(engine, active, "last_chat", True, 0.95)  # inside the never-chatted (NULL) tail
    add(
        "deep",
        "next page at 95% (last chat NULL tail)",
        page(active, PageRequest(sort="last_chat", desc=True, after_id=anchor)),
        TARGET_PAGE_MS,
    )
    add("filter", "status inactive", page(ContactFilter(status="inactive"), PageRequest()), TARGET_PAGE_MS)
    add("filter", "blocked", page(ContactFilter(status="all", blocked=True), PageRequest()), TARGET_PAGE_MS)
    add("filter", "status all", page(ContactFilter(status="all"), PageRequest()), TARGET_PAGE_MS)
    add("filter", "messenger sms (4%)", page(ContactFilter(messenger="sms"), PageRequest()), TARGET_PAGE_MS)
    add(
        "filter",
        "messenger telegram, sort name",
        page(ContactFilter(messenger="telegram"), PageRequest(sort="name", desc=False)),
        TARGET_PAGE_MS,
    )
    for term, note in (
        ("xaver quast", "rare name (1 match)"),
        ("zlem yıl", "name ~100 matches"),
        ("0170 123", "number `0170 123` (~60)"),
        ("+49 170 1234", "number `+49 170 1234`"),
        ("4917098765", "digits, rare"),
        ("1234567", "digits, 7"),
        ("MÜLLER", "common name (~8k matches)"),
    ):
        add("search", f"{term!r}: {note}", page(ContactFilter(search=term), PageRequest()), TARGET_SEARCH_MS)
    for term, note in (
        ("ann", "very common (~100k)"),
        ("0170", "very common (~53k)"),
        ("xa", "2 chars, rare: scan"),
        ("an", "2 chars, common: scan"),
    ):
        add("info", f"search {term!r}: {note}", page(ContactFilter(search=term), PageRequest()), TARGET_SEARCH_MS)
    return results


def round_trip(engine: Engine, url: str, repeat: int) -> list[Result]:
    """Signed `/contacts` in, ephemeral message out at the fake response_url; also a next-page click."""
    import httpx

    from bot.config.settings import load_settings
    from bot.web.server import create_asgi
    from handlers.app import create_app
    from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, block_actions, serving, sign
    from tests.fakes import slack_api

    fake = slack_api.start()
    arrived = threading.Event()
    last: dict[str, Any] = {}

    def on_response(call: slack_api.Call) -> tuple[int, dict[str, str], bytes]:
        last["body"] = call.body
        arrived.set()
        return 200, {"Content-Type": "text/plain"}, b"ok"

    fake.responders["response_url"] = on_response
    settings = load_settings(
        DATABASE_URL=url,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        CONTACTBOT_ADMINS=ADMIN,
        CONTACTBOT_DEFAULT_REGION="DE",
    )
    bolt = create_app(settings, engine)
    results: list[Result] = []
    with serving(create_asgi(settings, engine, bolt)) as server_url, httpx.Client(timeout=10) as http:
        base = f"{server_url}/slack/events"

        def send(body: str) -> dict[str, Any]:
            arrived.clear()
            headers = {"Content-Type": "application/x-www-form-urlencoded", **sign(body)}
            assert http.post(base, content=body.encode(), headers=headers).status_code == 200
            if not arrived.wait(10):
                raise RuntimeError("no message arrived at the response_url")
            return last["body"]

        def command(text_: str) -> Callable[[], Any]:
            form = {
                "token": "t",
                "team_id": "T111",
                "team_domain": "acme",
                "channel_id": "C111",
                "channel_name": "support",
                "user_id": ADMIN,
                "user_name": "admin",
                "command": "/contacts",
                "text": text_,
                "api_app_id": "A111",
                "response_url": fake.response_url("cmd"),
                "trigger_id": "111.222.abc",
            }
            return lambda: send(urlencode(form))

        first = command("")()
        button = next(
            e
            for b in first["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e.get("action_id") == "list_next"
        )
        click = block_actions(
            {**button, "block_id": next(b["block_id"] for b in first["blocks"] if button in b.get("elements", []))},
            response_url=fake.response_url("click"),
        )
        click_body = urlencode({"payload": json.dumps(click)})
        for name, fn in (
            ("`/contacts` (first page)", command("")),
            ("`/contacts 0170 123` (search)", command("0170 123")),
            ("next-page button click", lambda: send(click_body)),
        ):
            med, p95, _, db = timed(fn, repeat, StatementCounter(engine))
            results.append(("slack", name, med, p95, 0, TARGET_ROUND_TRIP_MS, db))
            print(f"  slack    {name:<44} median {med:8.2f} ms  p95 {p95:8.2f} ms", flush=True)
    bolt.listener_runner.listener_executor.shutdown(wait=True)
    fake.server.shutdown()
    return results


def add_needle(engine: Engine) -> None:
    """One contact with a name no demo contact has, for the rare-name search."""
    from tests.factories import add_contact

    with engine.connect() as conn:
        if conn.scalar(select(Contact.id).where(Contact.phone == "+4915799999999")) is None:
            add_contact(engine, "+4915799999999", "Xaver Quast")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", help=f"database URL (default {PG_DEFAULT} or sqlite:///{SQLITE_DEFAULT})")
    parser.add_argument("--count", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep the data if it holds --count contacts")
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()
    url = args.url or (PG_DEFAULT if args.db == "postgresql" else f"sqlite:///{SQLITE_DEFAULT}")
    if url.rstrip("/").endswith("/test"):
        parser.error("refusing to fill the shared test database")
    os.environ.setdefault("CONTACTBOT_LOG_LEVEL", "WARNING")
    print(f"{args.db}: {args.count:,} contacts", flush=True)
    engine, insert_s = fill(url, args.count, args.reuse)
    if insert_s is not None:
        print(
            f"  insert   demo-data {args.count:,} contacts (+10% tickets, 3 messages each): {insert_s:.1f} s "
            f"= {args.count / insert_s:,.0f} contacts/s",
            flush=True,
        )
    add_needle(engine)
    results = query_benchmarks(engine, args.repeat) + round_trip(engine, url, max(args.repeat // 2, 10))
    missed = [r for r in results if r[3] > r[5] and r[0] != "info"]
    for r in missed:
        print(f"  MISSED   {r[0]} {r[1]}: p95 {r[3]:.2f} ms > {r[5]:.0f} ms")
    if args.json:
        args.json.write_text(
            json.dumps({"db": args.db, "count": args.count, "insert_s": insert_s, "results": results}, indent=1)
        )
    return 1 if missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
