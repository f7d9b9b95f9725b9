"""Searches of any length on the real databases (issue 21, item 4): bounded counts, 1-2 character terms and
number prefixes through indexes, with the same rows as the plain definition of a search.

What a search should find is computed here in plain Python over every row: a name matches when one of the
term's DIN 5007 keys (`bot.domain.contacts.search_keys`) is a substring of the name's key, a number when
the digits people type (national `0` as the country code, `00`/`+` dropped) are a substring of it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, select, text
from sqlmodel import Session

from bot.domain.contacts import MESSENGERS, ContactFilter, PageRequest, name_key, search_keys
from bot.services.demo_data import FIRST, LAST, phone_for
from storage import contacts as store
from storage.models import Contact
from tests.conftest import RunningApp
from tests.factories import BASE
from tests.test_cli import run

SHORT_NAMES = ["Al", "Bo", "X", "O'Neil", "Anna-Lena", "Ærø Ödön", "Li Xa", "ßa", None]


def _rows(n: int, start: int = 0) -> list[dict[str, Any]]:
    """Demo-like contacts: German mobile numbers (and a few foreign ones), German names, some very short ones."""
    rows = []
    for i in range(start, start + n):
        if i % 11 == 0:
            name = SHORT_NAMES[(i // 11) % len(SHORT_NAMES)]
        else:
            name = f"{FIRST[i % len(FIRST)]} {LAST[(i * 7) % len(LAST)]}"
        phone = phone_for(i) if i % 13 else f"+1{2025550100 + i:010d}"[:12]
        rows.append(
            {
                "phone": phone,
                "messenger": MESSENGERS[i % 3],
                "name": name,
                "name_sort": name_key(name),
                "first_contact_at": BASE - timedelta(days=i % 9),
                "last_chat_at": None if i % 6 == 0 else BASE + timedelta(minutes=i % 50),
                "blocked": i % 17 == 0,
                "active": i % 5 != 0,
                "blocked_messages": 0,
                "created_at": BASE,
                "updated_at": BASE,
            }
        )
    return rows


def _typed_digits(typed: str) -> str | None:
    """The digits of a typed number as the German list reads them, or None when it is not a number."""
    if not re.fullmatch(r"[+\d\s()./-]+", typed):
        return None
    digits = re.sub(r"\D", "", typed)
    if not digits:  # `-` alone is a name fragment
        return None
    if typed.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0") and len(digits) > 1:
        return "49" + digits[1:]
    return digits


def _matches(row: Any, flt: ContactFilter) -> bool:
    if flt.status != "all" and row.active != (flt.status == "active"):
        return False
    assert flt.search is not None
    digits = _typed_digits(flt.search)
    if digits is not None:
        return digits in row.phone[1:]
    key = name_key(row.name) or ""
    return any(k in key for k in search_keys(flt.search))


def _expected(session: Session, flt: ContactFilter) -> list[int]:
    """The matching ids in list order (last chat newest first, never chatted last, ties by id)."""
    rows = session.execute(select(Contact.id, Contact.phone, Contact.name, Contact.active, Contact.last_chat_at)).all()
    found = [r for r in rows if _matches(r, flt)]
    chatted = sorted((r for r in found if r.last_chat_at is not None), key=lambda r: (r.last_chat_at, r.id))
    never = sorted((r.id for r in found if r.last_chat_at is None), reverse=True)
    return [r.id for r in reversed(chatted)] + never


def _all_pages(session: Session, flt: ContactFilter, limit: int) -> tuple[list[int], int, bool]:
    page = store.list_page(session, flt, PageRequest(limit=limit))
    total, capped = page.total, page.total_capped
    seen = [c.id for c in page.rows]
    while page.has_next:
        page = store.list_page(session, flt, PageRequest(after_id=page.last_id, limit=limit))
        assert (page.total, page.total_capped) == (total, capped)
        seen += [c.id for c in page.rows]
    return seen, total, capped  # type: ignore[return-value]


@pytest.fixture
def people(engine: Engine) -> Engine:
    with engine.begin() as conn:
        store.bulk_insert(conn, _rows(400))
    return engine


TERMS = [
    # one and two characters: names and digits
    "a",
    "A",
    "x",
    "ö",
    "ß",
    "'",
    "-",
    "al",
    "ma",
    "xa",
    "nn",
    "ae",
    "oe",
    "ne",
    "a-",
    "7",
    "0",
    "9",
    "17",
    "15",
    "00",
    "01",
    "+1",
    # common fragments and number prefixes
    "0170",
    "017",
    "+49 17",
    "0049 152",
    "ann",
    "müller",
    "mueller",
    "ober",
    "2025",
]


@pytest.mark.parametrize("drive_limit", [0, 1_000_000], ids=["walk-sort-index", "sort-the-matches"])
@pytest.mark.parametrize("analyzed", [False, True], ids=["no-stats", "analyzed"])
def test_short_and_number_searches_find_exactly_the_matching_contacts(
    people: Engine, monkeypatch: pytest.MonkeyPatch, drive_limit: int, analyzed: bool
) -> None:
    """Every term, through both page plans, with and without the planner's statistics (PostgreSQL decides
    between its pairs index and a scan by them): the rows in list order and the exact count."""
    _statistics(people, analyzed)
    monkeypatch.setattr(store, "DRIVE_LIMIT", drive_limit)
    for term in TERMS:
        for status in ("all", "active"):
            flt = ContactFilter(status=status, search=term)
            with Session(people) as session:
                expected = _expected(session, flt)
                seen, total, capped = _all_pages(session, flt, limit=97)
            assert seen == expected, (term, status)
            assert (total, capped) == (len(expected), False), (term, status)
    with Session(people) as session:  # the data reaches every path: rare, common and empty answers
        sizes = {t: len(_expected(session, ContactFilter(status="all", search=t))) for t in TERMS}
    assert sizes["xa"] == 0 or sizes["xa"] < 40 and sizes["a"] > 300 and sizes["7"] > 300
    assert sizes["0170"] > 10 and sizes["x"] > 0 and sizes["'"] > 0


def test_a_contact_added_renamed_or_deleted_is_found_by_its_new_pairs(people: Engine) -> None:
    """The pairs index follows every change (the triggers of migration 0014 on SQLite, the index on PostgreSQL)."""
    with people.begin() as conn:
        store.bulk_insert(conn, [{**_rows(1, 10_000)[0], "name": "Qy", "name_sort": "qy"}])
        new = conn.scalar(select(Contact.id).where(Contact.name_sort == "qy"))
    assert _ids(people, "qy") == [new] and _ids(people, "q") == [new]
    with people.begin() as conn:
        conn.execute(text("UPDATE contact SET name = 'Zq', name_sort = 'zq', phone = '+999' WHERE id = :i"), {"i": new})
    assert _ids(people, "qy") == [] and _ids(people, "zq") == [new] and _ids(people, "+999") == [new]
    with people.begin() as conn:
        conn.execute(text("DELETE FROM contact WHERE id = :i"), {"i": new})
    assert _ids(people, "zq") == [] and _ids(people, "q") == []


def _statistics(engine: Engine, analyzed: bool) -> None:
    """PostgreSQL: ANALYZE, or forget the pairs indexes' statistics (the test database keeps them across
    TRUNCATE), so both of its plans for a short term run: the scan of a common one, the index for the rest."""
    if engine.dialect.name != "postgresql":
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        if analyzed:
            conn.execute(text("ANALYZE contact"))
        else:
            conn.execute(
                text(
                    "DELETE FROM pg_statistic WHERE starelid IN "
                    "('ix_contact_name_grams'::regclass, 'ix_contact_digit_grams'::regclass)"
                )
            )


def _ids(engine: Engine, term: str) -> list[int]:
    with Session(engine) as session:
        return [c.id for c in store.list_page(session, ContactFilter(status="all", search=term), PageRequest()).rows]  # type: ignore[misc]


@pytest.fixture
def crowd(engine: Engine) -> Engine:
    """More contacts than the count's cap match `ko`, `k`, `1` and `49`; a few do not."""
    assert store.COUNT_CAP == 10_000
    rows = _rows(10_400)
    for i, row in enumerate(rows):
        row["name"] = f"Kontakt {i}" if i % 50 else "Zora Quast"
        row["name_sort"] = name_key(row["name"])
        row["active"] = True
        row["phone"] = phone_for(i)
    with engine.begin() as conn:
        store.bulk_insert(conn, rows)
    return engine


def test_more_matches_than_the_cap_show_a_bound_and_every_row_is_reachable(crowd: Engine) -> None:
    for term in ("ko", "k", "1", "49"):
        flt = ContactFilter(search=term)
        with Session(crowd) as session:
            expected = _expected(session, flt)
            assert len(expected) > store.COUNT_CAP
            seen, total, capped = _all_pages(session, flt, limit=1_000)
        assert (total, capped) == (store.COUNT_CAP, True), term
        assert seen == expected, term  # every match once, in list order, past the cap
    with Session(crowd) as session:  # under the cap the count is exact
        page = store.list_page(session, ContactFilter(search="zora"), PageRequest())
        assert (page.total, page.total_capped) == (208, False)
        prefix = ContactFilter(search="0170")  # the start of a number, under the cap
        page = store.list_page(session, prefix, PageRequest())
        assert (page.total, page.total_capped) == (len(_expected(session, prefix)), False)


def test_the_slack_list_says_more_than_ten_thousand(crowd: Engine, running_app: RunningApp) -> None:
    running_app.command("ko")
    answer = running_app.fake.wait_for("response_url")[0].body
    header = answer["blocks"][0]["text"]["text"]
    assert "1–20 von mehr als 10.000" in header, header
    assert "mehr als 10.000" in answer["text"]
    running_app.command("zora")
    answer = running_app.fake.wait_for("response_url", count=2)[1].body
    assert "1–20 von 208" in answer["blocks"][0]["text"]["text"]


def test_cli_list_says_more_than_ten_thousand(crowd: Engine, db_url: str) -> None:
    listed = run(db_url, "contacts", "list", "--search", "ko", "--limit", "3")
    assert listed.returncode == 0, listed.stderr
    assert "3 of more than 10,000 contacts" in listed.stdout
    data = json.loads(run(db_url, "contacts", "list", "--search", "ko", "--limit", "3", "--json").stdout)
    assert (data["total"], data["more"], len(data["contacts"])) == (10_000, True, 3)


# --- plans ------------------------------------------------------------------------------------------------


@pytest.fixture
def statements(people: Engine) -> Iterator[list[tuple[str, Any]]]:
    seen: list[tuple[str, Any]] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: bool) -> None:
        seen.append((statement, parameters))

    event.listen(people, "before_cursor_execute", record)
    yield seen
    event.remove(people, "before_cursor_execute", record)


def _plan(engine: Engine, statement: str, parameters: Any) -> str:
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            return "\n".join(r[-1] for r in rows)
        # a table of 400 rows is read faster than any index: forbid the scan, so the plan shows whether
        # an index can answer the query at all (without one PostgreSQL still scans, at a prohibitive cost)
        conn.exec_driver_sql("SET enable_seqscan = off")
        return "\n".join(r[0] for r in conn.exec_driver_sql(f"EXPLAIN {statement}", parameters).all())


def _full_scans(engine: Engine, statement: str, plan: str) -> list[str]:
    if engine.dialect.name == "sqlite":
        # `SCAN contact USING INDEX ix_contact_last_chat_id` walks the sort order until the page is full (a
        # page of a common term); any other scan of the table or of a covering index reads all of it
        walk = "ORDER BY" in statement and "LIMIT" in statement
        return [
            line
            for line in plan.splitlines()
            if re.search(r"SCAN contact\b", line) and not (walk and re.search(r"USING INDEX ix_contact_\w+_id$", line))
        ]
    return [line for line in plan.splitlines() if "Seq Scan on contact" in line]


def _share(engine: Engine, term: str) -> float:
    """The share of contacts holding the rarest pair (or the character) of the term, for PostgreSQL's choice."""
    with Session(engine) as session:
        rows = session.execute(select(Contact.phone, Contact.name)).all()
    digits = _typed_digits(term)
    keys = [digits] if digits is not None else search_keys(term)
    texts = [r.phone[1:] if digits is not None else name_key(r.name) or "" for r in rows]
    pieces = {k: [k] if len(k) == 1 else [k[i : i + 2] for i in range(len(k) - 1)] for k in keys}
    return min(sum(p in t for t in texts) / len(texts) for ps in pieces.values() for p in ps)


@pytest.mark.parametrize("term", ["7", "a", "xa", "ma", "17", "01", "0170", "017", "ann", "+49 170", "ö", "'"])
@pytest.mark.parametrize("drive_limit", [0, 5_000], ids=["walk-sort-index", "sort-the-matches"])
def test_short_terms_and_number_prefixes_never_scan_the_table(
    people: Engine, statements: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch, term: str, drive_limit: int
) -> None:
    """EXPLAIN every statement a search page runs. SQLite: an FTS5 table, the `(phone, id)` range or a
    walk along the sort index, never `SCAN contact`. PostgreSQL (with statistics, as in production): an
    index, except that a 1-2 character term whose pairs are in at least 20% of the contacts (`7`, `a`) is
    counted by a scan under `Limit` (it stops at the cap+1st match, a few thousand rows at any size) and
    paged along the sort index; such a term has more matches than the cap on a large table, so its page
    walks the sort index (drive_limit 0), never sorts all matches."""
    _statistics(people, analyzed=True)
    monkeypatch.setattr(store, "DRIVE_LIMIT", drive_limit)
    bounded = (
        people.dialect.name == "postgresql"
        and len(_typed_digits(term) or term) < store.TRIGRAM
        and _share(people, term) >= store.DENSE
    )
    if bounded and drive_limit:
        pytest.skip("a common short term on a large table always walks the sort index")
    statements.clear()
    with Session(people) as session:
        store.list_page(session, ContactFilter(search=term), PageRequest())
    words = ("LIKE", ">=", "MATCH")
    searched = [(s, p) for s, p in statements if "contact" in s and any(w in s.upper() for w in words)]
    assert searched
    if _typed_digits(term) is not None and len(_typed_digits(term) or "") > 1:  # the start of a number
        assert any("phone >=" in s or '"^' in str(p) for s, p in searched), term  # SQLite: the `^49170` token
    for statement, parameters in searched:
        plan = _plan(people, statement, parameters)
        scans = _full_scans(people, statement, plan)
        if bounded and "count(" in statement:
            assert plan.splitlines()[1].strip().startswith("->  Limit"), f"{term}: {statement}\n{plan}"
        else:
            assert not scans, f"{term}: {statement}\n{plan}"
