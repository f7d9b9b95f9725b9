"""CSV import in SQL: stage validated rows, count what would change, apply in one transaction.

A file is read in chunks (pandas, every cell a string), each row validated in Python and staged in
`import_row` with Core bulk inserts (COPY on PostgreSQL); rejects are staged too (action `error`),
so neither memory nor a Slack message has to hold them. The preview counts and the apply are
set-based statements joining `import_row` to `contact` on (phone, messenger).

Rules: an empty cell never erases a stored value; first contact / last chat are only taken for new
contacts (an old export must not rewind them); a contact who opted out is never re-activated.
"""

from __future__ import annotations

import csv
import io
import operator
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import BrokenExecutor, Executor, Future
from contextlib import nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from itertools import chain, repeat
from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy import (
    ColumnElement,
    Connection,
    and_,
    case,
    delete,
    exists,
    false,
    func,
    insert,
    literal,
    null,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql import Select

from bot.domain.csv_format import (
    FileProblem,
    Sniffed,
    attribute_key,
    core_field,
    header_key,
    neutralise,
)
from bot.domain.csv_rows import (
    GOOD_COLUMNS,
    STAGE_COLUMNS,
    AttributeColumn,
    ColumnMap,
    Normaliser,
    Staged,
    error_row,
    merge_numbers,
    phone_numbers,
    split_numbers,
    validate_columns,
)
from bot.domain.statuses import ImportStatus
from storage import bulk_load, display_numbers, suppression
from storage.models import Attribute, AuditEntry, Contact, ContactAttribute, ImportRow, ImportRun, table_of

CHUNK_ROWS = 50_000
POOL_FROM_NUMBERS = 5_000  # distinct numbers phonenumbers must parse in a chunk (~17 µs each): worth the pool
contact = table_of(Contact)
staged = table_of(ImportRow)
runs = table_of(ImportRun)
attributes = table_of(Attribute)
contact_attrs = table_of(ContactAttribute)
Progress = Callable[[str, int], None]


@dataclass
class StageResult:
    rows: int = 0  # data rows read
    staged: int = 0  # valid rows staged
    rejected: int = 0


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    activated: int = 0
    deactivated: int = 0
    opted_out: int = 0  # opted-out contacts the file would activate: they stay inactive
    rejected: int = 0
    extra: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, int]:
        return {
            k: getattr(self, k)
            for k in ("created", "updated", "unchanged", "activated", "deactivated", "opted_out", "rejected")
        }


def map_columns(conn: Connection, headers: list[str]) -> ColumnMap:
    """Core fields by their German/English names, every other named column a user attribute."""
    core: dict[str, int] = {}
    extra: list[tuple[int, str]] = []
    for pos, header in enumerate(headers):
        if not header.strip():
            continue
        found = core_field(header)
        if found is None:
            extra.append((pos, header.strip()))
        elif found in core:
            raise FileProblem("import.error.duplicate_column", column=header.strip())
        else:
            core[found] = pos
    if "phone" not in core:
        raise FileProblem("import.error.no_phone", columns=", ".join(h for h in headers if h.strip())[:300])
    known: dict[str, tuple[int, str]] = {}
    types: dict[int, tuple[str, tuple[str, ...] | None]] = {}
    for aid, key, label_de, label_en, kind, choices in conn.execute(
        select(
            attributes.c.id,
            attributes.c.key,
            attributes.c.label_de,
            attributes.c.label_en,
            attributes.c.type,
            attributes.c.choices,
        )
    ):
        types[int(aid)] = (kind or "text", tuple(choices) if choices else None)
        for name in (label_en, label_de, key):
            known[header_key(name)] = (int(aid), key)
    used: set[str] = {key for _, key in known.values()}
    cols: list[AttributeColumn] = []
    seen: set[str] = set()
    for pos, header in extra:
        norm = header_key(header)
        if norm in seen:
            raise FileProblem("import.error.duplicate_column", column=header)
        seen.add(norm)
        if norm in known:
            aid, key = known[norm]
            cols.append(AttributeColumn(pos, header, key, aid, *types[aid]))
            continue
        key, n = attribute_key(header), 2
        while key in used:
            key, n = f"{attribute_key(header)[:60]}_{n}", n + 1
        used.add(key)
        cols.append(AttributeColumn(pos, header, key, None))
    return ColumnMap(core, cols, headers)


def read_chunks(path: str, sniffed: Sniffed, chunk_rows: int | None = None) -> Iterator[pd.DataFrame]:
    """Every cell as the text the user wrote (`dtype=str`: no lost `+` or leading zeros)."""
    try:
        reader = pd.read_csv(
            path,
            sep=sniffed.delimiter,
            encoding=sniffed.encoding,
            dtype=str,
            keep_default_na=False,
            na_filter=False,
            chunksize=chunk_rows or CHUNK_ROWS,
            header=0,
            skip_blank_lines=True,
            engine="c",
            quotechar='"',
            doublequote=True,
        )
        with reader:
            yield from reader
    except pd.errors.ParserError as exc:
        raise FileProblem("import.error.malformed", detail=str(exc).strip()[:200]) from None
    except UnicodeDecodeError:
        raise FileProblem("import.error.encoding") from None


def _insert_staged(conn: Connection, rows: list[Staged]) -> None:
    """Rejected rows (few): one executemany on SQLite, COPY on PostgreSQL."""
    if not rows:
        return
    names = ", ".join(STAGE_COLUMNS)
    if conn.dialect.name != "postgresql":
        marks = ", ".join("?" * len(STAGE_COLUMNS))
        conn.exec_driver_sql(f"INSERT INTO import_row ({names}) VALUES ({marks})", rows)
        return
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection always holds its driver's connection
    with raw.cursor() as cur, cur.copy(f"COPY import_row ({names}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


ROWS_PER_INSERT = 50  # SQLite: pysqlite's per-statement cost (bind, step, reset) shared by 50 rows


def _stage_valid(conn: Connection, run_id: int, good: list[list[Any]]) -> None:
    """Valid rows, given as columns (GOOD_COLUMNS): COPY on PostgreSQL; on SQLite one prepared multi-row
    INSERT run by executemany, 50 rows per execution (half the time of one row per execution), with the
    run id and action written into the statement instead of bound 50 times."""
    count = len(good[0])
    if not count:
        return
    names = f"run_id, action, {', '.join(GOOD_COLUMNS)}"
    width = len(GOOD_COLUMNS)
    if conn.dialect.name == "postgresql":
        raw = conn.connection.driver_connection
        assert raw is not None  # a checked-out connection always holds its driver's connection
        with raw.cursor() as cur, cur.copy(f"COPY import_row ({names}) FROM STDIN") as copy:
            for row in zip(repeat(run_id), repeat("row"), *good, strict=False):
                copy.write_row(row)
        return
    full = count - count % ROWS_PER_INSERT
    if full:
        # Parameters numbered column by column (?1-?50 the first column of the 50 rows, ...), so each
        # execution's parameters are slices of the columns, never a row tuple built in Python.
        groups = [
            tuple(chain.from_iterable(column[start : start + ROWS_PER_INSERT] for column in good))
            for start in range(0, full, ROWS_PER_INSERT)
        ]
        conn.exec_driver_sql(f"INSERT INTO import_row ({names}) VALUES {_many_rows(run_id, width)}", groups)
    if full < count:
        rest = list(zip(*(column[full:] for column in good), strict=True))
        marks = ", ".join("?" * width)
        conn.exec_driver_sql(f"INSERT INTO import_row ({names}) VALUES ({int(run_id)}, 'row', {marks})", rest)


def _many_rows(run_id: int, width: int) -> str:
    rows = (
        f"({int(run_id)}, 'row', {', '.join(f'?{c * ROWS_PER_INSERT + r + 1}' for c in range(width))})"
        for r in range(ROWS_PER_INSERT)
    )
    return ", ".join(rows)


def _keys(good: list[list[Any]]) -> Any:
    """A 64-bit hash of (number, messenger) per valid row: in-file duplicates are looked for among equal hashes."""
    phones, messengers = good[GOOD_COLUMNS.index("phone")], good[GOOD_COLUMNS.index("messenger")]
    keys = np.array(list(map(operator.add, map(operator.add, phones, repeat("|")), messengers)), dtype=object)
    return pd.util.hash_array(keys, categorize=False)


def _may_repeat(hashes: list[Any]) -> bool:
    """False when no two valid rows share a hash, so no two share (number, messenger): no duplicate query."""
    if not hashes:
        return False
    joined = np.sort(np.concatenate(hashes))
    return bool((joined[1:] == joined[:-1]).any())


def stage(
    conn: Connection,
    run_id: int,
    path: str,
    sniffed: Sniffed,
    cols: ColumnMap,
    region: str,
    normalise: Normaliser,
    pool: Executor | None = None,
    progress: Progress | None = None,
) -> StageResult:
    """Read, validate and stage the whole file; rows in the file twice are rejected after the first.

    `normalise(numbers, region)` is bot.domain.phone.to_e164_many, the authority for every number the
    bulk regex (`split_numbers`) cannot decide, asked once per distinct such value (passed in: storage
    knows no phone rules). With a pool and many such numbers in a chunk (formatted or national numbers:
    phonenumbers costs ~17 µs each), they are parsed there (both cores) while this process reads and
    stages; rows are staged in file order either way.
    """
    result = StageResult()
    row_no = 2  # the header is row 1, as a spreadsheet counts
    queue: deque[tuple[Any, list[list[str]], list[str], list[str | None], list[str], int]] = deque()
    in_flight = 2 if pool is not None else 0
    hashes: list[Any] = []

    def finish(
        job: Any, columns: list[list[str]], numbers: list[str], quick: list[str | None], rest: list[str], first: int
    ) -> None:
        if isinstance(job, Future):
            try:
                job = job.result()
            except BrokenExecutor:  # a pool that cannot run costs speed only
                job = normalise(rest, region)
        checked = validate_columns(columns, cols, run_id, first, merge_numbers(numbers, quick, rest, job))
        _stage_valid(conn, run_id, checked.good)
        _insert_staged(conn, checked.bad)
        hashes.append(_keys(checked.good))
        result.staged += len(checked.good[0])
        result.rejected += len(checked.bad)
        if progress is not None:
            progress("read", result.rows)

    for df in read_chunks(path, sniffed):
        columns = [df.iloc[:, k].tolist() for k in range(df.shape[1])]
        result.rows += len(df)
        numbers = phone_numbers(columns, cols)
        quick, rest = split_numbers(numbers)
        job: Any = None
        if pool is not None and len(rest) >= POOL_FROM_NUMBERS:
            try:
                job = pool.submit(normalise, rest, region)
            except BrokenExecutor:
                job = None
        if job is None:
            job = normalise(rest, region) if rest else []
        queue.append((job, columns, numbers, quick, rest, row_no))
        row_no += len(df)
        while len(queue) > in_flight:
            finish(*queue.popleft())
    while queue:
        finish(*queue.popleft())
    if result.rows == 0:
        raise FileProblem("import.error.no_rows")
    if conn.dialect.name == "postgresql":
        # Fresh statistics, else the planner guesses a handful of staged rows and joins a million
        # of them to `contact` by nested loops (minutes instead of seconds).
        conn.exec_driver_sql("ANALYZE import_row")
    if _may_repeat(hashes):
        result.rejected += _reject_duplicates(conn, run_id, cols.headers[cols.core["phone"]])
    result.staged = result.rows - result.rejected
    return result


def _reject_duplicates(conn: Connection, run_id: int, phone_header: str) -> int:
    """Second and later rows for the same (number, messenger) become errors naming the first row."""
    firsts = (
        select(staged.c.phone, staged.c.messenger, func.min(staged.c.row_no).label("first"))
        .where(staged.c.run_id == run_id, staged.c.action == "row")
        .group_by(staged.c.phone, staged.c.messenger)
        .having(func.count() > 1)
        .subquery()
    )
    dupes = conn.execute(
        select(staged.c.id, staged.c.row_no, staged.c.phone, firsts.c.first)
        .join(firsts, and_(staged.c.phone == firsts.c.phone, staged.c.messenger == firsts.c.messenger))
        .where(staged.c.run_id == run_id, staged.c.action == "row", staged.c.row_no > firsts.c.first)
    ).all()
    for start in range(0, len(dupes), 10_000):
        part = dupes[start : start + 10_000]
        conn.execute(delete(staged).where(staged.c.id.in_([d.id for d in part])))
        _insert_staged(
            conn, [error_row(run_id, d.row_no, phone_header, "duplicate", str(d.first), d.phone) for d in part]
        )
    return len(dupes)


# --- preview and apply -------------------------------------------------------------------------


def _attr_value(r: Any, attr: AttributeColumn) -> ColumnElement[Any]:
    """Staged values are keyed by column position: attribute ids/keys may change before confirm."""
    value: ColumnElement[Any] = r.c.data[str(attr.position)].as_string()
    return value


def _changes(r: Any, c: Any, attr_joins: list[tuple[AttributeColumn, Any]]) -> ColumnElement[bool]:
    """True when applying the staged row would change the matched contact."""
    conds: list[ColumnElement[bool]] = [
        and_(r.c.name.is_not(None), or_(c.c.name.is_(None), c.c.name != r.c.name)),
        and_(r.c.blocked.is_not(None), c.c.blocked != r.c.blocked),
        and_(r.c.active.is_not(None), c.c.active != r.c.active, or_(r.c.active == false(), c.c.opted_out_at.is_(None))),
    ]
    for attr, ca in attr_joins:
        value = _attr_value(r, attr)
        if ca is None:
            conds.append(value.is_not(None))
        else:
            conds.append(and_(value.is_not(None), or_(ca.c.value.is_(None), ca.c.value != value)))
    return or_(*conds)


def _joined(run_id: int, cols: ColumnMap, columns: list[Any]) -> Select[Any]:
    r, c = staged.alias("r"), contact.alias("c")
    joins: list[tuple[AttributeColumn, Any]] = []
    frm = r.outerjoin(c, and_(c.c.phone == r.c.phone, c.c.messenger == r.c.messenger))
    for attr in cols.attributes:
        if attr.attribute_id is None:
            joins.append((attr, None))
            continue
        ca = contact_attrs.alias(f"ca_{len(joins)}")
        frm = frm.outerjoin(ca, and_(ca.c.contact_id == c.c.id, ca.c.attribute_id == attr.attribute_id))
        joins.append((attr, ca))
    matched = c.c.id.is_not(None)
    wakes = and_(matched, r.c.active == true(), c.c.active == false())
    exprs = {
        "created": c.c.id.is_(None),
        "updated": and_(matched, _changes(r, c, joins)),
        "unchanged": and_(matched, ~_changes(r, c, joins)),
        "activated": and_(wakes, c.c.opted_out_at.is_(None)),
        "deactivated": and_(matched, r.c.active == false(), c.c.active == true()),
        "opted_out": and_(matched, r.c.active == true(), c.c.opted_out_at.is_not(None)),
    }
    sums = [func.coalesce(func.sum(case((e, 1), else_=0)), 0).label(k) for k, e in exprs.items()]
    return select(*sums, *columns).select_from(frm).where(r.c.run_id == run_id, r.c.action == "row")


def preview_counts(conn: Connection, run_id: int, cols: ColumnMap) -> Counts:
    row = conn.execute(_joined(run_id, cols, [])).one()
    rejected = conn.scalar(
        select(func.count()).select_from(staged).where(staged.c.run_id == run_id, staged.c.action == "error")
    )
    # the sums are labelled with Counts' int fields; Any because Counts also has the dict field `extra`
    sums: dict[str, Any] = {str(k): int(v or 0) for k, v in row._mapping.items()}
    return Counts(**sums, rejected=int(rejected or 0))


def rejected_rows(conn: Connection, run_id: int, limit: int | None = None) -> list[dict[str, Any]]:
    stmt = (
        select(staged.c.row_no, staged.c.phone, staged.c.data)
        .where(staged.c.run_id == run_id, staged.c.action == "error")
        .order_by(staged.c.row_no)
    )
    if limit is not None:
        stmt = stmt.limit(limit)
    return [{"row": r.row_no, **(r.data or {})} for r in conn.execute(stmt)]


def rejected_csv(
    conn: Connection, run_id: int, headers: tuple[str, str, str, str], reason: Callable[[dict[str, Any]], str]
) -> bytes:
    """The rejected rows as a CSV (row, column, reason, value) to attach to a long preview."""
    buf = io.StringIO()
    out = csv.writer(buf, delimiter=";", lineterminator="\r\n")
    out.writerow(headers)
    for err in rejected_rows(conn, run_id):
        out.writerow([err["row"], neutralise(err.get("column", "")), reason(err), neutralise(err.get("value", ""))])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def claim(conn: Connection, run_id: int, from_status: str, to_status: str) -> bool:
    """Move a run between states once (a double click or a retry finds it already moved)."""
    done = conn.execute(update(runs).where(runs.c.id == run_id, runs.c.status == from_status).values(status=to_status))
    return done.rowcount == 1


def apply(
    conn: Connection,
    run_id: int,
    cols: ColumnMap,
    *,
    now: datetime,
    consent_source: str,
    consent_by: str,
    progress: Progress | None = None,
    counts: Counts | None = None,
) -> Counts:
    """Apply every staged row in the caller's transaction; returns what changed.

    `counts`: `preview_counts` of this run taken in the same transaction (saves a second pass).
    """
    counts = counts or preview_counts(conn, run_id, cols)
    cols = _create_attributes(conn, cols, now)
    bulk = bulk_load.worth_it(conn, counts.created + counts.updated, counts.created)
    with bulk_load.indexes_rebuilt(conn, renames=counts.updated > 0) if bulk else nullcontext(False) as rebuilt:
        _write_contacts(
            conn, run_id, counts, now=now, consent_source=consent_source, consent_by=consent_by, progress=progress
        )
        if rebuilt and progress is not None:
            progress("index", 0)
    for attr in cols.attributes:
        if progress is not None:
            progress("attributes", 0)
        _upsert_attribute(conn, run_id, attr)
    return counts  # the staged rows go in a separate, later transaction (see discard)


def _write_contacts(
    conn: Connection,
    run_id: int,
    counts: Counts,
    *,
    now: datetime,
    consent_source: str,
    consent_by: str,
    progress: Progress | None,
) -> None:
    """Update the matched contacts, then insert the new ones: a set-based statement each, skipped when
    the counts (taken in this transaction) say it has nothing to do."""
    r = staged.alias("r")
    same = and_(r.c.phone == contact.c.phone, r.c.messenger == contact.c.messenger)
    wake_ok = or_(r.c.active == false(), contact.c.opted_out_at.is_(None))
    core_change = or_(
        and_(r.c.name.is_not(None), or_(contact.c.name.is_(None), contact.c.name != r.c.name)),
        and_(r.c.blocked.is_not(None), contact.c.blocked != r.c.blocked),
        and_(r.c.active.is_not(None), contact.c.active != r.c.active, wake_ok),
    )
    if progress is not None:
        progress("update", 0)
    if counts.updated:
        conn.execute(
            update(contact)
            .where(r.c.run_id == run_id, r.c.action == "row", same, core_change)
            .values(
                name=func.coalesce(r.c.name, contact.c.name),
                name_sort=func.coalesce(r.c.name_sort, contact.c.name_sort),
                blocked=func.coalesce(r.c.blocked, contact.c.blocked),
                active=case((and_(r.c.active.is_not(None), wake_ok), r.c.active), else_=contact.c.active),
                updated_at=now,
            )
        )
    if progress is not None:
        progress("create", 0)
    if not counts.created:
        return
    before = int(conn.execute(select(func.max(contact.c.id))).scalar() or 0)
    new_rows = select(
        r.c.phone,
        r.c.messenger,
        r.c.name,
        r.c.name_sort,
        func.coalesce(r.c.first_contact_at, literal(now, table_of(Contact).c.first_contact_at.type)),
        r.c.last_chat_at,
        func.coalesce(r.c.blocked, false()),
        func.coalesce(r.c.active, true()),
        literal(now, contact.c.consent_at.type),
        literal(consent_source),
        literal(consent_by),
        null(),
        literal(0),
        literal(now, contact.c.created_at.type),
        literal(now, contact.c.updated_at.type),
    ).where(
        r.c.run_id == run_id,
        r.c.action == "row",
        ~exists().where(contact.c.phone == r.c.phone, contact.c.messenger == r.c.messenger),
    )
    conn.execute(
        insert(contact).from_select(
            [
                "phone",
                "messenger",
                "name",
                "name_sort",
                "first_contact_at",
                "last_chat_at",
                "blocked",
                "active",
                "consent_at",
                "consent_source",
                "consent_by",
                "opted_out_at",
                "blocked_messages",
                "created_at",
                "updated_at",
            ],
            new_rows,
        )
    )
    suppression.reapply_created(conn, now)  # a number that once said stop comes back opted out
    display_numbers.fill(conn, after_id=before)  # the new contacts' display numbers, set-based


def _create_attributes(conn: Connection, cols: ColumnMap, now: datetime) -> ColumnMap:
    if not cols.new_attributes:
        return cols
    out: list[AttributeColumn] = []
    for attr in cols.attributes:
        if attr.attribute_id is None:
            label = attr.header[:100]
            aid = conn.execute(
                insert(attributes).returning(attributes.c.id),
                {
                    "key": attr.key,
                    "label_de": label,
                    "label_en": label,
                    "type": "text",
                    "choices": None,
                    "created_at": now,
                },
            ).scalar_one()
            attr = AttributeColumn(attr.position, attr.header, attr.key, int(aid))
        out.append(attr)
    return ColumnMap(cols.core, out, cols.headers)


def _upsert_attribute(conn: Connection, run_id: int, attr: AttributeColumn) -> None:
    r = staged.alias("r")
    value = _attr_value(r, attr)
    rows = (
        select(contact.c.id, literal(attr.attribute_id), value)
        .select_from(r.join(contact, and_(contact.c.phone == r.c.phone, contact.c.messenger == r.c.messenger)))
        .where(r.c.run_id == run_id, r.c.action == "row", value.is_not(None))
    )
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    stmt = dialect.insert(contact_attrs).from_select(["contact_id", "attribute_id", "value"], rows)
    stmt = stmt.on_conflict_do_update(
        index_elements=[contact_attrs.c.contact_id, contact_attrs.c.attribute_id],
        set_={"value": stmt.excluded.value},
        where=contact_attrs.c.value != stmt.excluded.value,
    )
    conn.execute(stmt)


def discard(conn: Connection, run_id: int) -> None:
    """Drop a run's staged rows (a million rows take seconds: kept out of the apply transaction)."""
    conn.execute(delete(staged).where(staged.c.run_id == run_id))


# --- the run row -------------------------------------------------------------------------------


def create_run(conn: Connection, **values: Any) -> int:
    return int(conn.execute(insert(runs).returning(runs.c.id), {"summary": {}, **values}).scalar_one())


def get_run(conn: Connection, run_id: int) -> Any:
    return conn.execute(select(runs).where(runs.c.id == run_id)).first()


def update_run(conn: Connection, run_id: int, **values: Any) -> None:
    conn.execute(update(runs).where(runs.c.id == run_id).values(**values))


def stale_previews(conn: Connection, before: datetime) -> list[int]:
    """Previews nobody confirmed or cancelled since `before`: their staged rows only take space."""
    return [
        int(i)
        for i in conn.execute(
            select(runs.c.id).where(runs.c.status == ImportStatus.PREVIEW, runs.c.created_at < before)
        ).scalars()
    ]


def audit(conn: Connection, actor: str, action: str, run_id: int, detail: dict[str, Any], at: datetime) -> None:
    """Same row as storage.audit.record, written on this connection (inside the import's transaction)."""
    conn.execute(
        insert(table_of(AuditEntry)),
        {
            "at": at,
            "actor": actor[:50],
            "action": action,
            "object_type": "import_run",
            "object_id": str(run_id),
            "detail": detail,
        },
    )
