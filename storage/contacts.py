"""Contact queries: filters, substring search and keyset pagination on indexes.

The list never uses OFFSET: a page is anchored on a contact id, whose sort value `v` is looked
up; the page continues with the anchor's tie group (`col = v AND id > :id`), then `col > v`, each
a seek on the `(col, id)` index every sortable column has. Rows whose sort value is NULL (no name,
never chatted) always come last, ordered by id.

Plans at 1,000,000 contacts (see docs/benchmarks.md): a page walks the sort column's index and
skips rows the filter rejects. SQLite has no statistics unless someone runs ANALYZE, so it would
rather take the equality index of `active = 1` (900,000 rows) and sort them; page queries
therefore write filter columns as `+col` on SQLite (`_Unindexed`), which keeps the sort index
the only choice. A search with few matches is driven the other way round: from the search
index's matches (trigrams, or character pairs for 1-2 characters), then sorted. The header's total
comes from `contact_tally` (kept by triggers) unless a search or an audience narrows the list; then
it is counted up to COUNT_CAP ("more than 10,000" beyond), never over all matches.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import (
    ARRAY,
    ColumnElement,
    Connection,
    Select,
    Text,
    and_,
    bindparam,
    cast,
    column,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    text,
    true,
    update,
)
from sqlalchemy import table as sa_table
from sqlalchemy.dialects.postgresql import array
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import InstrumentedAttribute
from sqlalchemy.sql.compiler import SQLCompiler
from sqlalchemy.sql.visitors import InternalTraversal
from sqlmodel import Session, col

from bot.domain.contacts import SORT_FIELDS, ContactFilter, PageRequest, search_keys
from bot.domain.contacts import name_key as name_key  # noqa: F401 - still reachable as bot.domain.contacts.name_key
from bot.domain.phone import search_digits
from storage.audiences import audience_condition
from storage.db import bulk_cache
from storage.models import Broadcast, Contact, ContactTally, Delivery, ImportRow, Message, Ticket, table_of

# The ignores below: SQLModel declares the class attributes as their row values (str, datetime, ...);
# on the class they are InstrumentedAttributes, which is what the list sorts by.
SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "phone": Contact.phone,  # type: ignore[dict-item]
    "messenger": Contact.messenger,  # type: ignore[dict-item]
    "first_contact": Contact.first_contact_at,  # type: ignore[dict-item]
    "last_chat": Contact.last_chat_at,  # type: ignore[dict-item]
    "name": Contact.name_sort,  # type: ignore[dict-item]
    "status": Contact.active,  # type: ignore[dict-item]
}
assert tuple(SORT_COLUMNS) == SORT_FIELDS  # the domain names the fields, storage their columns
TRIGRAM = 3  # shortest search term a trigram index can answer; shorter ones use the pairs index (0014)
DRIVE_LIMIT = 5_000  # up to this many matches a search page sorts them; with more it walks the sort index
COUNT_CAP = 10_000  # a search or audience counts its matches up to here; beyond: "more than 10,000"
PREFIX_TOKENS = 6  # SQLite: a number's first 1..6 digits are tokens of the pairs index (migration 0014)
DENSE = 0.2  # PostgreSQL: a pair in this share of contacts is found by scanning, not through its index


@dataclass
class Page:
    rows: list[Contact]
    total: int  # exact, or COUNT_CAP when `total_capped` ("more than 10,000")
    has_prev: bool
    has_next: bool
    first_id: int | None = None
    last_id: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)
    total_capped: bool = False  # more matches than `total`: the count stopped at COUNT_CAP


class _Unindexed(ColumnElement[Any]):
    """A column the SQLite planner may not use an index for (`+col`).

    Other databases have statistics and get the plain column, unless `everywhere` (a search
    page that must sort its few matches): then `coalesce(col, col)`, which no index matches.
    """

    inherit_cache = True
    _traverse_internals = [("col", InternalTraversal.dp_clauseelement), ("everywhere", InternalTraversal.dp_boolean)]

    def __init__(self, col: Any, everywhere: bool = False) -> None:
        self.col = col.expression if hasattr(col, "expression") else col
        self.type = self.col.type
        self.everywhere = everywhere


@compiles(_Unindexed)
def _unindexed(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    inner = compiler.process(element.col, **kw)
    return f"coalesce({inner}, {inner})" if element.everywhere else inner


@compiles(_Unindexed, "sqlite")
def _unindexed_sqlite(element: _Unindexed, compiler: SQLCompiler, **kw: Any) -> str:
    return "+" + compiler.process(element.col, **kw)


def _search_terms(text_: str, region: str) -> tuple[str, list[str]]:
    """(what to look in, what to look for): the number's digits, or the name keys the term stands for
    (DIN 5007 keys; `mueller` also as `muller`, see bot.domain.contacts.search_keys)."""
    text_ = text_.replace("\x00", "\ufffd")  # SQLite's FTS5 ends a string at NUL; PostgreSQL refuses it
    digits = search_digits(text_, region)
    return ("digits", [digits]) if digits is not None else ("name_sort", search_keys(text_) or [""])


def _likes(target: Any, terms: list[str], wrap: bool = False) -> ColumnElement[bool]:
    """`target LIKE '%term%'` for one term, OR'ed for several (each can use the trigram index)."""
    column = (target + "") if wrap else target
    likes = [
        column.like("%" + t.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%", escape="\\")
        for t in terms
    ]
    return likes[0] if len(likes) == 1 else or_(*likes)


def trigram_query(term: str) -> str:
    """An FTS5 query for rows holding every trigram of `term` (each a quoted one-token string)."""
    grams = dict.fromkeys(term[i : i + TRIGRAM] for i in range(len(term) - TRIGRAM + 1))
    return " AND ".join('"' + g.replace('"', '""') + '"' for g in grams)


def _quoted(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


def pairs_query(term: str) -> str:
    """An FTS5 query on the pairs tables of migration 0014 for rows holding every character pair of `term`:
    one character is the prefix query `"x"*` (a token is a pair, or a row's last character)."""
    if len(term) == 1:
        return _quoted(term) + "*"
    pairs = dict.fromkeys(term[i : i + 2] for i in range(len(term) - 1))
    return " AND ".join(_quoted(p) for p in pairs)


def _pairs_indexable(term: str) -> bool:
    """Whether the pairs index holds `term`'s characters: its tokenizer splits at control characters."""
    return all(ch >= " " and ch != "\x7f" for ch in term)


@dataclass(frozen=True)
class _Search:
    """One search term, resolved: where it looks, for what, and through which index it is answered."""

    column: str  # "digits" or "name_sort"
    terms: list[str]
    shortest: int

    @property
    def target(self) -> Any:
        return Contact.phone if self.column == "digits" else Contact.name_sort

    def fts(self) -> tuple[str, str] | None:
        """SQLite: (FTS5 table, MATCH query) that names a superset of the matches, or None to scan."""
        if self.shortest >= TRIGRAM:
            table = "contact_digits_fts" if self.column == "digits" else "contact_name_fts"  # migration 0004
            queries = [trigram_query(t) for t in self.terms]
        elif self.shortest >= 1 and all(_pairs_indexable(t) for t in self.terms):
            table = "contact_digits_short_fts" if self.column == "digits" else "contact_name_short_fts"  # 0014
            queries = [pairs_query(t) for t in self.terms]
        else:
            return None
        return table, " OR ".join(f"({q})" for q in queries) if len(queries) > 1 else queries[0]

    def prefix(self) -> tuple[str, str | None] | None:
        """The digit term as the start of a number: the `(phone, id)` index range `[+d, +d')` (d' = d + 1
        in its last digit that is not a 9; none after all nines)."""
        if self.column != "digits" or not self.terms[0]:
            return None
        digits = self.terms[0].rstrip("9")
        upper = "+" + digits[:-1] + str(int(digits[-1]) + 1) if digits else None
        return "+" + self.terms[0], upper


def _resolve(text_: str, region: str) -> _Search:
    column, terms = _search_terms(text_, region)
    return _Search(column, terms, min(len(t) for t in terms))


def _grams(search: _Search) -> Any:
    """PostgreSQL: the indexed expression of migration 0014 (`contact_grams`) for the searched column."""
    source: Any = func.substr(Contact.phone, 2) if search.column == "digits" else Contact.name_sort
    return func.contact_grams(source, type_=ARRAY(Text()))


def _dense(session: Session, search: _Search) -> bool:
    """PostgreSQL: whether every pair or character of the term is in at least DENSE of all contacts, by
    ANALYZE's statistics of the `contact_grams` index. Then a scan finds a page and the capped count's
    matches within a few thousand rows, while the GIN index would first collect them all (the seq scan
    must not evaluate `contact_grams` either: ~20 µs per row); rarer ones are looked up in the index."""
    index = "ix_contact_digit_grams" if search.column == "digits" else "ix_contact_name_grams"
    grams = sorted({g for t in search.terms for g in _gram_keys(t)})
    rows = session.execute(
        text(
            "SELECT u.e, u.f FROM pg_stats s, unnest(s.most_common_elems::text::text[], s.most_common_elem_freqs) "
            "AS u(e, f) WHERE s.schemaname = current_schema() AND s.tablename = :ix AND u.e = ANY(:g)"
        ),
        {"ix": index, "g": grams},
    ).all()
    freqs = {e: f for e, f in rows}
    return all((freqs.get(g) or 0.0) >= DENSE for g in grams)


def _gram_keys(term: str) -> list[str]:
    """The elements of `contact_grams` a term needs: itself when one character, else its pairs."""
    return [term] if len(term) == 1 else list(dict.fromkeys(term[i : i + 2] for i in range(len(term) - 1)))


def _search(session: Session, text_: str, region: str, walk: bool) -> ColumnElement[bool]:
    """The search, written to be the plan's driver (`walk=False`) or a check on walked rows.

    SQLite: an FTS5 table names the candidates (trigrams from three characters on, character pairs
    below), `LIKE` rechecks them, so a stale or coarse index entry can never show a wrong row.
    PostgreSQL: `LIKE` on `pg_trgm` GIN indexes from three characters on, and its planner (it has
    statistics) picks the plan itself; shorter terms are looked up in the `contact_grams` GIN index
    unless they are so common that scanning finds them at once (`_dense`).
    """
    return _search_condition(session, _resolve(text_, region), walk)


def _search_condition(session: Session, search: _Search, walk: bool) -> ColumnElement[bool]:
    like = _likes(search.target, search.terms)
    if session.get_bind().dialect.name != "sqlite":
        if search.shortest >= TRIGRAM:
            return like
        wrapped = _likes(search.target, search.terms, wrap=True)  # pg_trgm would read its whole GIN index
        if search.shortest < 1 or _dense(session, search):
            return wrapped
        grams = _grams(search)
        lookups = [grams.op("@>", is_comparison=True)(cast(array(_gram_keys(t)), ARRAY(Text()))) for t in search.terms]
        return and_(lookups[0] if len(lookups) == 1 else or_(*lookups), wrapped)
    if walk:
        return like
    contact_id: Any = Contact.id
    fts = search.fts()
    if fts is None:
        driven: ColumnElement[bool] = contact_id.in_(select(col(Contact.id)).where(like).correlate(None))
        return driven
    table, match = fts
    found = text(f"SELECT rowid FROM {table} WHERE {table} MATCH :m").bindparams(m=match)
    return and_(contact_id.in_(found), like)  # the index finds rows with every trigram/pair, LIKE the substring


def filter_conditions(session: Session, flt: ContactFilter, region: str) -> list[ColumnElement[bool]]:
    return _conditions(session, flt, region, indexed={"active", "blocked", "messenger"})


def _conditions(
    session: Session, flt: ContactFilter, region: str, indexed: set[str], walk: bool = False
) -> list[ColumnElement[bool]]:
    """The filter as SQL; columns outside `indexed` are written so that SQLite ignores their index."""

    def col(name: str) -> Any:
        column = getattr(Contact, name)
        return column if name in indexed else _Unindexed(column)

    conds: list[ColumnElement[bool]] = []
    if flt.status == "active":
        conds.append(col("active") == true())
    elif flt.status == "inactive":
        conds.append(col("active") == False)  # noqa: E712
    if flt.blocked is not None:
        conds.append(col("blocked") == flt.blocked)
    if flt.messenger:
        conds.append(col("messenger") == flt.messenger)
    if flt.search:
        conds.append(_search(session, flt.search, region, walk))
    if flt.audience_id is not None:
        conds.append(audience_condition(session, flt.audience_id))
    return conds


def count(session: Session, flt: ContactFilter, region: str = "DE") -> int:
    """Exact number of contacts the filter matches: from the tally unless a search or audience narrows it.

    With a search this counts every match (a scan of up to all contacts): the list uses `count_bounded`."""
    if flt.search is None and flt.audience_id is None:
        return _tally(session, flt)
    stmt = select(func.count()).select_from(Contact).where(*filter_conditions(session, flt, region))
    return int(session.scalar(stmt) or 0)


def _tally(session: Session, flt: ContactFilter) -> int:
    tally: list[ColumnElement[bool]] = []
    if flt.status != "all":
        tally.append(col(ContactTally.active) == (flt.status == "active"))
    if flt.blocked is not None:
        tally.append(col(ContactTally.blocked) == flt.blocked)
    if flt.messenger:
        tally.append(col(ContactTally.messenger) == flt.messenger)
    return int(session.scalar(select(func.coalesce(func.sum(ContactTally.n), 0)).where(*tally)) or 0)


def count_bounded(session: Session, flt: ContactFilter, region: str = "DE", cap: int = COUNT_CAP) -> tuple[int, bool]:
    """(n, more): the exact number of matches when it is at most `cap`, else (cap, True): "more than 10,000".

    Counting all 750,000 matches of `7` took 0.3-2.8 s at 1,000,000 contacts; counting stops at the
    cap+1st. The matches are read in an order that streams: SQLite joins the FTS5 table's rowids (in id
    order, so the contact rows are read in table order; an `IN (...)` would first collect them all),
    PostgreSQL leaves the plan to its statistics. A number's digits are first counted as the start of a
    number (`0170` is mostly `+49170...`; SQLite: its `^49170` token, PostgreSQL: the `(phone, id)` index):
    past the cap, nothing else is read.
    """
    if flt.search is None and flt.audience_id is None:
        return _tally(session, flt), False
    others = _conditions(session, replace(flt, search=None), region, indexed=set())
    if flt.search is None:
        return _capped(session, select(literal(1)).select_from(Contact).where(*others), cap)
    search = _resolve(flt.search, region)
    sqlite = session.get_bind().dialect.name == "sqlite"
    bounds = search.prefix()
    if bounds is not None and (not sqlite or len(search.terms[0]) <= PREFIX_TOKENS):
        if sqlite:  # the token `^49170` of migration 0014: its rowids come in table order
            starts = _fts_rows("contact_digits_short_fts", _quoted("^" + search.terms[0]), others)
        else:  # the bitmap of the `(phone, id)` range reads the table in its order too
            lower, upper = bounds
            ranges = [col(Contact.phone) >= lower] + ([col(Contact.phone) < upper] if upper else [])
            starts = select(literal(1)).select_from(Contact).where(*ranges, *others)
        found, more = _capped(session, starts, cap)
        if more:
            return found, more
    fts = search.fts() if sqlite else None
    if fts is None:
        stmt = select(literal(1)).select_from(Contact).where(_search_condition(session, search, False), *others)
        return _capped(session, stmt, cap)
    return _capped(session, _fts_rows(*fts, [_likes(search.target, search.terms), *others]), cap)


def _fts_rows(table: str, match: str, conds: Sequence[ColumnElement[bool]]) -> Select[Any]:
    """SQLite: the contacts an FTS5 table matches, joined (streamed in rowid order) rather than `IN (...)`."""
    index = sa_table(table, column("rowid"))
    joined = index.join(table_of(Contact), col(Contact.id) == index.c.rowid)
    return select(literal(1)).select_from(joined).where(literal_column(table).op("MATCH")(match), *conds)


def _capped(session: Session, rows: Select[Any], cap: int) -> tuple[int, bool]:
    n = int(session.scalar(select(func.count()).select_from(rows.limit(cap + 1).subquery())) or 0)
    return (cap, True) if n > cap else (n, False)


def _fetch(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    col: Any,
    desc: bool,
    region_nulls: bool,
    bound: tuple[Any, int] | None,
    inclusive: bool,
    limit: int,
) -> list[Contact]:
    """One ordered slice of either the non-NULL region or the NULL region of the sort column.

    After an anchor `(v, id)` the slice is read as two index seeks, the rest of the tie group
    `col = v AND id > id0` and then `col > v`, instead of the row value `(col, id) > (v, id0)`:
    SQLite seeks a row value on its first column only, which reads the whole tie group first
    (700,000 rows of `whatsapp` when sorting by messenger).
    """
    drive = isinstance(col, _Unindexed) and col.everywhere  # sort the matches, walk no index
    id_col: Any = _Unindexed(Contact.id, everywhere=True) if drive else Contact.id
    by_id = id_col.desc() if desc else id_col.asc()
    if region_nulls or bound is None:
        where = [*conds, col.is_(None) if region_nulls else col.is_not(None)]
        if region_nulls and bound is not None:
            where.append(_beyond(id_col, bound[1], desc, inclusive))
        order = [by_id] if region_nulls else [col.desc() if desc else col.asc(), by_id]
        return list(session.scalars(select(Contact).where(and_(*where)).order_by(*order).limit(limit)).all())
    value = bindparam(None, bound[0], type_=col.type)
    tie = [*conds, col == value, _beyond(id_col, bound[1], desc, inclusive)]
    rows = list(session.scalars(select(Contact).where(and_(*tie)).order_by(by_id).limit(limit)).all())
    if len(rows) < limit:
        rest = [*conds, _beyond(col, value, desc, False)]
        order = [col.desc() if desc else col.asc(), by_id]
        stmt = select(Contact).where(and_(*rest)).order_by(*order).limit(limit - len(rows))
        rows += session.scalars(stmt).all()
    return rows


def _beyond(col: Any, value: Any, desc: bool, inclusive: bool) -> ColumnElement[bool]:
    """`col` after `value` in list order."""
    # `col` is a column or its _Unindexed wrapper (Any): the annotation says what comparing it gives
    after: ColumnElement[bool] = (
        (col <= value if inclusive else col < value) if desc else (col >= value if inclusive else col > value)
    )
    return after


def _walk(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: Any,
    desc: bool,
    anchor: tuple[Any, int] | None,
    inclusive: bool,
    limit: int,
) -> list[Contact]:
    """Rows in list order (non-NULL values, then NULLs) starting at an anchor."""
    if anchor is not None and anchor[0] is None:
        return _fetch(session, conds, sort, desc, True, anchor, inclusive, limit)
    rows = _fetch(session, conds, sort, desc, False, anchor, inclusive, limit)
    if len(rows) < limit:
        rows += _fetch(session, conds, sort, desc, True, None, inclusive, limit - len(rows))
    return rows


def _walk_back(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: Any,
    desc: bool,
    anchor: tuple[Any, int],
    limit: int,
) -> list[Contact]:
    """Rows before the anchor, nearest first (list order reversed)."""
    rows: list[Contact] = []
    if anchor[0] is None:
        rows = _fetch(session, conds, sort, not desc, True, anchor, False, limit)
        if len(rows) < limit:
            rows += _fetch(session, conds, sort, not desc, False, None, False, limit - len(rows))
        return rows
    return _fetch(session, conds, sort, not desc, False, anchor, False, limit)


def list_page(session: Session, flt: ContactFilter, req: PageRequest, region: str = "DE") -> Page:
    total, capped = count_bounded(session, flt, region)
    sort_col = SORT_COLUMNS[req.sort]
    # The sort column's index drives a page and the filter checks the rows it yields, except for
    # a search with few matches (known from the total): those are fetched and sorted instead,
    # since walking the index for them would read most of it.
    walk = not flt.search or capped or total > DRIVE_LIMIT
    sort: Any = sort_col if walk else _Unindexed(sort_col, everywhere=True)
    conds = _conditions(session, flt, region, {sort_col.key} & {"active", "messenger"}, walk)

    listed = False  # the anchor itself is in the list: then there is a row before the page

    def anchor_of(contact_id: int | None) -> tuple[Any, int] | None:
        nonlocal listed
        if contact_id is None:
            return None
        found = session.execute(
            select(sort_col, col(Contact.active), col(Contact.blocked), col(Contact.messenger)).where(
                col(Contact.id) == contact_id
            )
        ).first()
        if found is None:
            return None
        value, active, blocked, messenger = found
        listed = (
            not flt.search
            and flt.audience_id is None
            and flt.status in ("all", "active" if active else "inactive")
            and flt.blocked in (None, blocked)
            and flt.messenger in (None, "", messenger)
        )
        return (value, contact_id)

    if req.before_id is not None and (anchor := anchor_of(req.before_id)) is not None:
        back = _walk_back(session, conds, sort, req.desc, anchor, req.limit + 1)
        has_prev = len(back) > req.limit
        rows = list(reversed(back[: req.limit]))
        if len(rows) < req.limit:  # fell off the start: show the first page instead
            rows = _walk(session, conds, sort, req.desc, None, True, req.limit + 1)
            has_prev = False
            has_next = len(rows) > req.limit
            rows = rows[: req.limit]
        else:
            has_next = True
    else:
        anchor, inclusive = None, True
        if req.after_id is not None:
            anchor, inclusive = anchor_of(req.after_id), False
        elif req.start_id is not None:
            anchor = anchor_of(req.start_id)
        rows = _walk(session, conds, sort, req.desc, anchor, inclusive, req.limit + 1)
        has_next = len(rows) > req.limit
        rows = rows[: req.limit]
        has_prev = (
            anchor is not None
            and bool(rows)
            and ((listed and not inclusive) or _has_before(session, conds, sort, sort_col.key, req.desc, rows))
        )
    return Page(
        rows=rows,
        total=total,
        total_capped=capped,
        has_prev=has_prev,
        has_next=has_next,
        first_id=rows[0].id if rows else None,
        last_id=rows[-1].id if rows else None,
    )


def _has_before(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: Any,
    key: str,
    desc: bool,
    rows: list[Contact],
) -> bool:
    if not rows:
        return False
    first = rows[0]
    assert first.id is not None  # a row read from the table
    return bool(_walk_back(session, conds, sort, desc, (getattr(first, key), first.id), 1))


def bulk_insert(conn: Connection, rows: Iterable[Mapping[str, Any]]) -> int:
    """Insert many contacts fast (demo data, benchmarks): COPY on PostgreSQL, one executemany on SQLite.

    No ORM objects, and bind values are converted once per column rather than per statement
    object; triggers (search index, tally) still run, so the rows are complete. Returns the count.
    """
    table = table_of(Contact)
    rows = list(rows)
    if not rows:
        return 0
    names = list(rows[0])
    dialect = conn.dialect
    procs = [table.c[n].type._cached_bind_processor(dialect) for n in names]
    values = [tuple(v if f is None else f(v) for f, v in zip(procs, (r[n] for n in names), strict=True)) for r in rows]
    if dialect.name == "postgresql":
        raw = conn.connection.driver_connection  # psycopg's own connection: its cursor has copy()
        assert raw is not None  # a checked-out connection always holds its driver's connection
        cur = raw.cursor()
        with cur, cur.copy(f"COPY contact ({', '.join(names)}) FROM STDIN") as copy:
            for row in values:
                copy.write_row(row)
        return len(values)
    if dialect.name == "sqlite":
        with bulk_cache(conn):  # 7 b-tree indexes take random inserts
            sql = f"INSERT INTO contact ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
            conn.exec_driver_sql(sql, values)
        return len(values)
    conn.execute(insert(table), rows)
    return len(rows)


def get(session: Session, contact_id: int) -> Contact | None:
    return session.get(Contact, contact_id)


def by_phone(session: Session, phone: str, messenger: str | None = None) -> list[Contact]:
    stmt = select(Contact).where(col(Contact.phone) == phone)
    if messenger:
        stmt = stmt.where(col(Contact.messenger) == messenger)
    return list(session.scalars(stmt).all())


def _note_erased(session: Session, contact_id: int) -> None:
    """The contact's broadcast deliveries go with it (nothing about the person is kept), so each broadcast counts
    them in `broadcast.excluded["erased"]`: its report still adds up, with "erased since" as the reason."""
    deliveries, broadcasts = table_of(Delivery), table_of(Broadcast)
    found = session.execute(
        select(deliveries.c.broadcast_id, func.count())
        .where(deliveries.c.contact_id == contact_id)
        .group_by(deliveries.c.broadcast_id)
    ).all()
    for broadcast_id, n in sorted(found):
        excluded = session.execute(
            select(broadcasts.c.excluded).where(broadcasts.c.id == broadcast_id).with_for_update()
        ).scalar_one()
        counted = dict(excluded or {})
        counted["erased"] = int(counted.get("erased") or 0) + int(n)
        session.execute(update(broadcasts).where(broadcasts.c.id == broadcast_id).values(excluded=counted))


def erase(session: Session, contact: Contact) -> dict[str, int]:
    """Delete a contact and every row about it (GDPR erasure); returns what kind of rows went."""
    counts: dict[str, int] = {}
    cid = contact.id
    counts["messages"] = session.exec(delete(Message).where(col(Message.contact_id) == cid)).rowcount
    counts["tickets"] = session.exec(delete(Ticket).where(col(Ticket.contact_id) == cid)).rowcount
    counts["import_rows"] = session.exec(
        delete(ImportRow).where(col(ImportRow.phone) == contact.phone, col(ImportRow.messenger) == contact.messenger)
    ).rowcount
    _note_erased(session, cid or 0)
    # Tables added by later features (attributes, deliveries, ...) reference contact.id with
    # ON DELETE CASCADE; delete their rows explicitly too, so erasure never depends on pragmas.
    for table in table_of(Contact).metadata.sorted_tables:
        if table.name in {"contact", "message", "ticket"}:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "contact":
                result = session.exec(delete(table).where(fk.parent == cid))
                counts[table.name] = counts.get(table.name, 0) + (result.rowcount or 0)
    session.execute(delete(Contact).where(col(Contact.id) == cid))
    session.flush()
    return {k: v for k, v in counts.items() if v}
