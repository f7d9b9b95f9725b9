"""Keyset paging, search and the header total on the real database (SQLite file and PostgreSQL).

Which contacts a filter or search should show is computed in plain Python over the rows; their expected
order comes from one plain `ORDER BY col IS NULL, col, id` on the same database, so the test checks the
paging and filter logic, not a collation.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import Session

from bot.domain.contacts import MESSENGERS, ContactFilter, PageRequest
from bot.services import contacts as service
from storage import contacts as store
from storage.models import Contact
from tests.factories import BASE

NAMES = [
    "Jürgen Müller",
    "jürgen müller",
    "Anna Weiß",
    "Özlem Yılmaz",
    "Zoe Adler",
    "Ärger Äbi",
    None,
    "anna weiss",
    "Bernd",
    "Ida Ober",
]


def _rows(n: int) -> list[dict[str, Any]]:
    """Contacts with ties in every sort column, NULL names and never-chatted contacts."""
    rows = []
    for i in range(n):
        name = NAMES[i % len(NAMES)]
        rows.append(
            {
                "phone": f"+49170{1230000 + i * 7:07d}" if i % 3 else f"+49151{9990000 + i:07d}",
                "messenger": MESSENGERS[i % 3],
                "name": name,
                "name_sort": store.name_key(name),
                "first_contact_at": BASE - timedelta(days=i % 4),
                "last_chat_at": None if i % 5 == 0 else BASE + timedelta(hours=i % 6),
                "blocked": i % 7 == 0,
                "active": i % 4 != 0,
                "blocked_messages": 0,
                "created_at": BASE,
                "updated_at": BASE,
            }
        )
    return rows


@pytest.fixture
def people(engine: Engine) -> Engine:
    with engine.begin() as conn:
        store.bulk_insert(conn, _rows(61))
    return engine


def _matches(row: Any, flt: ContactFilter) -> bool:
    """The filter in plain Python over one row: what a person would expect the list to hold."""
    if flt.status != "all" and row.active != (flt.status == "active"):
        return False
    if flt.blocked is not None and row.blocked != flt.blocked:
        return False
    if flt.messenger and row.messenger != flt.messenger:
        return False
    if flt.search:
        typed = flt.search
        if all(ch in "+0123456789 ()./-" for ch in typed):  # a number, as people type one (German region)
            digits = "".join(ch for ch in typed if ch.isdigit())
            if not typed.startswith("+") and digits.startswith("00"):
                digits = digits[2:]
            elif not typed.startswith("+") and digits.startswith("0"):
                digits = "49" + digits[1:]
            return digits in row.phone
        return typed.casefold() in (row.name or "").casefold()
    return True


def _matching_ids(session: Session, flt: ContactFilter) -> list[int]:
    rows = session.execute(
        select(Contact.id, Contact.phone, Contact.messenger, Contact.name, Contact.active, Contact.blocked)
    )
    return [row.id for row in rows if _matches(row, flt)]


def _expected(session: Session, flt: ContactFilter, sort: str, desc: bool) -> list[int]:
    """The matching ids (chosen in Python above), in the order one plain `ORDER BY col IS NULL, col, id` gives:
    the database's own collation orders the names, the paging code under test plays no part."""
    col = store.SORT_COLUMNS[sort]
    order = [col.is_(None).asc(), col.desc() if desc else col.asc(), Contact.id.desc() if desc else Contact.id.asc()]  # type: ignore[union-attr]
    ids = _matching_ids(session, flt)
    return list(session.scalars(select(Contact.id).where(Contact.id.in_(ids)).order_by(*order)).all())  # type: ignore[union-attr]


def _walk(session: Session, flt: ContactFilter, sort: str, desc: bool, limit: int) -> tuple[list[list[int]], int]:
    """All pages forward, then back again; asserts the flags on the way, returns the pages and total."""
    pages: list[list[int]] = []
    page = store.list_page(session, flt, PageRequest(sort=sort, desc=desc, limit=limit))
    assert not page.has_prev
    while True:
        pages.append([c.id for c in page.rows])  # type: ignore[misc]
        if not page.has_next:
            break
        page = store.list_page(session, flt, PageRequest(sort=sort, desc=desc, after_id=page.last_id, limit=limit))
        assert page.has_prev
    back = [pages[-1]]
    while page.has_prev:
        page = store.list_page(session, flt, PageRequest(sort=sort, desc=desc, before_id=page.first_id, limit=limit))
        back.append([c.id for c in page.rows])  # type: ignore[misc]
        assert page.has_next
    assert back[::-1] == pages, "walking back must show the same pages"
    return pages, page.total


@pytest.mark.parametrize("sort", list(store.SORT_COLUMNS))
@pytest.mark.parametrize("desc", [False, True])
def test_every_sort_walks_forward_and_back_exactly_once(people: Engine, sort: str, desc: bool) -> None:
    for flt in (
        ContactFilter(),
        ContactFilter(status="all"),
        ContactFilter(status="all", blocked=True),
        ContactFilter(status="inactive", messenger="telegram"),
    ):
        with Session(people) as session:
            expected = _expected(session, flt, sort, desc)
            pages, total = _walk(session, flt, sort, desc, limit=7)
        seen = [cid for p in pages for cid in p]
        assert seen == expected, (flt, sort, desc)
        assert total == len(expected)
        assert all(len(p) == 7 for p in pages[:-1])


def test_same_page_again_from_start_id(people: Engine) -> None:
    flt = ContactFilter(status="all")
    with Session(people) as session:
        expected = _expected(session, flt, "name", False)
        page = store.list_page(session, flt, PageRequest(sort="name", desc=False, start_id=expected[10], limit=5))
    assert [c.id for c in page.rows] == expected[10:15]
    assert page.has_prev and page.has_next


@pytest.mark.parametrize("drive_limit", [0, 1_000_000], ids=["walk-sort-index", "sort-the-matches"])
def test_paging_inside_a_search(people: Engine, monkeypatch: pytest.MonkeyPatch, drive_limit: int) -> None:
    """Both plans a search page can take (few matches: sort them; many: walk the sort index)."""
    monkeypatch.setattr(store, "DRIVE_LIMIT", drive_limit)
    for search, sort, desc in (
        ("MÜLLER", "last_chat", True),
        ("MÜLLER", "name", False),
        ("mü", "phone", True),
        ("0170 123", "first_contact", False),
        ("an", "status", True),
    ):
        flt = ContactFilter(status="all", search=search)
        with Session(people) as session:
            expected = _expected(session, flt, sort, desc)
            pages, total = _walk(session, flt, sort, desc, limit=4)
        assert [cid for p in pages for cid in p] == expected, (search, sort, desc)
        assert total == len(expected) > 4
    assert _true_count(people, ContactFilter(status="all", search="müller")) == 13  # 7 + 6 of 61


def _found(engine: Engine, text_: str, phones: bool = False) -> set[str]:
    with Session(engine) as session:
        page = store.list_page(session, ContactFilter(status="all", search=text_), PageRequest(limit=40))
        assert page.total == store.count(session, ContactFilter(status="all", search=text_))
    return {c.phone if phones else c.name or c.phone for c in page.rows}


def test_search_by_name_fragment_ignores_case_and_folds_umlauts(people: Engine) -> None:
    assert _found(people, "MÜLL") == {"Jürgen Müller", "jürgen müller"}
    assert _found(people, "ürgen") == {"Jürgen Müller", "jürgen müller"}
    assert _found(people, "weiß") == {"Anna Weiß", "anna weiss"}  # casefold: ß = ss
    assert _found(people, "özlem yıl") == {"Özlem Yılmaz"}
    assert _found(people, "äbi") == {"Ärger Äbi"}
    assert _found(people, "nobody") == set()


def test_search_by_number_as_people_type_it(people: Engine) -> None:
    with Session(people) as session:
        phones = set(session.scalars(select(Contact.phone)).all())
    wanted = {p for p in phones if p.startswith("+49170123")}
    assert wanted
    for typed in ("0170 123", "0170/123", "+49170123", "+49 170 123", "0049170123", "49170123"):
        assert _found(people, typed, phones=True) == wanted, typed
    one = sorted(wanted)[3]
    assert _found(people, one[-7:], phones=True) == {one}  # plain digits from the middle
    assert _found(people, "0" + one[3:], phones=True) == {one}  # the whole national number


def test_short_terms_still_search(people: Engine) -> None:
    assert _found(people, "mü") == {"Jürgen Müller", "jürgen müller"}  # no trigram: scanned
    assert _found(people, "Ob") == {"Ida Ober"}
    assert _found(people, "x") == set()
    with Session(people) as session:
        with_15 = {p for p in session.scalars(select(Contact.phone)).all() if "15" in p[1:]}
    assert _found(people, "15", phones=True) == with_15


def _true_count(engine: Engine, flt: ContactFilter) -> int:
    with Session(engine) as session:
        return len(_matching_ids(session, flt))


FILTERS = [
    ContactFilter(),
    ContactFilter(status="inactive"),
    ContactFilter(status="all"),
    ContactFilter(status="all", blocked=True),
    ContactFilter(blocked=False, messenger="telegram"),
    ContactFilter(status="inactive", messenger="sms"),
]


def _assert_totals(engine: Engine) -> None:
    with Session(engine) as session:
        for flt in FILTERS:
            assert store.count(session, flt) == _true_count(engine, flt), flt


def test_header_total_stays_exact_through_every_kind_of_change(people: Engine) -> None:
    _assert_totals(people)
    with Session(people) as session:
        ids = list(session.scalars(select(Contact.id).order_by(Contact.id)).all())  # type: ignore[arg-type]
    service.change(people, ids[1], "block", "test")
    service.change(people, ids[2], "deactivate", "test")
    service.change(people, ids[2], "deactivate", "test")  # no-op
    service.erase(people, ids[3], "test")
    with people.begin() as conn:  # bulk statements, as an import or a bulk activation does them
        conn.execute(update(Contact).where(Contact.id.in_(ids[10:30])).values(active=True))  # type: ignore[union-attr]
        conn.execute(update(Contact).where(Contact.id.in_(ids[30:40])).values(messenger="sms"))  # type: ignore[union-attr]
        conn.execute(update(Contact).where(Contact.id.in_(ids[40:50])).values(name="X"))  # type: ignore[union-attr]
        store.bulk_insert(conn, [{**r, "phone": "+4916" + r["phone"][6:]} for r in _rows(9)])
    _assert_totals(people)


def test_anchor_that_left_the_list_meanwhile(people: Engine) -> None:
    """The first contact of the list is deactivated, then "next" is clicked on its id."""
    flt = ContactFilter()
    with Session(people) as session:
        expected = _expected(session, flt, "name", False)
    service.change(people, expected[0], "deactivate", "test")
    with Session(people) as session:
        page = store.list_page(session, flt, PageRequest(sort="name", desc=False, after_id=expected[0], limit=5))
        assert [c.id for c in page.rows] == expected[1:6]
        assert not page.has_prev  # nothing listed before it any more
        page = store.list_page(session, flt, PageRequest(sort="name", desc=False, after_id=expected[3], limit=5))
        assert [c.id for c in page.rows] == expected[4:9]
        assert page.has_prev
