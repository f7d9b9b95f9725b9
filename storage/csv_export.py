"""CSV export: one streamed query into the stdlib csv writer (flat memory at any size).

The file opens correctly in Excel (UTF-8 with BOM, `;` for German readers) and `csv_import` reads
it back unchanged. Formula-like cells are neutralised (see csv_format.neutralise).
"""

from __future__ import annotations

import codecs
import csv
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import IO, Any

from sqlalchemy import Connection, String, and_, case, func, literal, or_, select, type_coerce
from sqlmodel import Session

from bot.domain.contacts import ContactFilter
from bot.domain.csv_format import (
    BOOL_WORDS,
    EXPORT_HEADERS,
    EXPORT_MESSENGER,
    STATUS_WORDS,
    neutralise,
)
from bot.domain.phone import export_number
from storage.contacts import SORT_COLUMNS, filter_conditions
from storage.models import Contact, ContactAttribute, table_of

contact = table_of(Contact)
contact_attrs = table_of(ContactAttribute)
CORE_COLUMNS = ("phone", "messenger", "name", "first_contact", "last_chat", "blocked", "status")
_SOURCE = {
    "phone": "phone",
    "messenger": "messenger",
    "name": "name",
    "first_contact": "first_contact_at",
    "last_chat": "last_chat_at",
    "blocked": "blocked",
    "status": "active",
}


def _plain(value: Any) -> str:
    return str(value)


def _text(value: Any) -> str:
    return neutralise(str(value))


@dataclass(frozen=True)
class ExportColumn:
    key: str  # a CORE_COLUMNS name or `attr:<key>`
    header: str
    attribute_id: int | None = None


def columns_for(keys: Iterable[str], lang: str, attributes: dict[str, tuple[int, str]]) -> list[ExportColumn]:
    """Number and messenger always first (the import needs them), then the chosen columns in order.

    `attributes` maps attribute key -> (id, label in the reader's language).
    """
    headers = EXPORT_HEADERS["en" if lang == "en" else "de"]
    out = [ExportColumn("phone", headers["phone"]), ExportColumn("messenger", headers["messenger"])]
    seen = {"phone", "messenger"}
    for key in keys:
        if key in seen:
            continue
        seen.add(key)
        if key in headers:
            out.append(ExportColumn(key, headers[key]))
        elif key.startswith("attr:") and key[5:] in attributes:
            aid, label = attributes[key[5:]]
            out.append(ExportColumn(key, label, aid))
    return out


def write(
    conn: Connection,
    out: IO[str],
    flt: ContactFilter,
    columns: list[ExportColumn],
    *,
    sort: str = "last_chat",
    desc: bool = True,
    lang: str = "de",
    delimiter: str = ";",
    region: str = "DE",
) -> int:
    """Write the header and every matching contact in list order; returns the number of contacts."""
    flags = BOOL_WORDS["en" if lang == "en" else "de"]
    statuses = STATUS_WORDS["en" if lang == "en" else "de"]
    yes, no = flags
    active_word, inactive_word = statuses
    sqlite = conn.dialect.name == "sqlite"
    selected: list[Any] = []
    convert: list[Callable[[Any], str]] = []
    frm: Any = contact
    for col in columns:
        if col.attribute_id is not None:
            ca = contact_attrs.alias(f"a{col.attribute_id}")
            frm = frm.outerjoin(ca, and_(ca.c.contact_id == contact.c.id, ca.c.attribute_id == col.attribute_id))
            selected.append(ca.c.value)
            convert.append(_text)
            continue
        source = contact.c[_SOURCE[col.key]]
        if col.key in ("first_contact", "last_chat"):
            # Formatted by the database: parsing and formatting a million datetimes in Python
            # costs more than the whole rest of the export.
            selected.append(
                func.substr(type_coerce(source, String), 1, 19)
                if sqlite
                else func.to_char(source, "YYYY-MM-DD HH24:MI:SS")
            )
            convert.append(_plain)
            continue
        selected.append(source)
        if col.key == "blocked":
            convert.append(lambda v: yes if v else no)
        elif col.key == "status":
            convert.append(lambda v: active_word if v else inactive_word)
        elif col.key == "messenger":
            convert.append(lambda v: EXPORT_MESSENGER.get(v, v))
        elif col.key == "phone":
            convert.append(export_number)  # `+49 173 7280285`: text to a spreadsheet, not 4,91737E+11
        else:
            convert.append(_text)
    with Session(bind=conn) as session:
        conds = filter_conditions(session, flt, region)
    order_col = contact.c[SORT_COLUMNS[sort].key]
    order = (
        [order_col.desc().nulls_last(), contact.c.id.desc()]
        if desc
        else [order_col.asc().nulls_last(), contact.c.id.asc()]
    )
    header = [neutralise(c.header) for c in columns]
    if conn.dialect.name == "postgresql" and delimiter in COPY_DELIMITERS:
        formatted = [_in_sql(col, expr, flags, statuses) for col, expr in zip(columns, selected, strict=True)]
        stmt = select(*formatted).select_from(frm).where(*conds).order_by(*order)
        return _copy_out(conn, out, stmt, header, delimiter)
    stmt = select(*selected).select_from(frm).where(*conds).order_by(*order)
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerow(header)
    count = 0
    result = conn.execution_options(stream_results=True, yield_per=5000).execute(stmt)
    for partition in result.partitions():
        writer.writerows([["" if v is None else f(v) for f, v in zip(convert, row, strict=True)] for row in partition])
        count += len(partition)
    return count


# --- PostgreSQL: the rows formatted by the database and streamed with COPY ----------------------
# At 1,000,000 rows psycopg's row tuples and the csv module cost ~4 s; `COPY ... TO STDOUT` of the
# same SELECT writes the file at the speed of the server (docs/benchmarks.md).

COPY_DELIMITERS = {";": "';'", ",": "','", "\t": "E'\\t'"}


def _neutralised(value: Any) -> Any:
    """csv_format.neutralise in SQL: a leading `'` before formula-like text (plain numbers stay)."""
    risky = and_(func.left(value, 1).in_(["=", "+", "-", "@", "\t", "\r"]), ~value.regexp_match(r"^\+[0-9]{7,15}$"))
    return case((or_(risky, value.regexp_match("^'+[-=+@\t\r]")), literal("'") + value), else_=value)


def _in_sql(col: ExportColumn, expr: Any, flags: tuple[str, str], statuses: tuple[str, str]) -> Any:
    """The column exactly as the Python path writes it (same words from `write`), computed by PostgreSQL."""
    (yes, no), (active_word, inactive_word) = flags, statuses
    if col.attribute_id is not None or col.key == "name":
        return _neutralised(expr)
    if col.key == "messenger":
        return case(EXPORT_MESSENGER, value=expr, else_=expr)
    if col.key == "blocked":
        return case((expr, literal(yes)), else_=literal(no))
    if col.key == "status":
        return case((expr, literal(active_word)), else_=literal(inactive_word))
    return expr  # the number; dates are formatted already


def _copy_out(conn: Connection, out: IO[str], stmt: Any, header: list[str], delimiter: str) -> int:
    compiled = stmt.compile(dialect=conn.dialect, compile_kwargs={"render_postcompile": True})
    sql = f"COPY ({compiled.string}) TO STDOUT WITH (FORMAT csv, DELIMITER {COPY_DELIMITERS[delimiter]})"
    csv.writer(out, delimiter=delimiter, lineterminator="\n").writerow(header)  # COPY ends its rows with LF
    decode = codecs.getincrementaldecoder("utf-8")()  # a block may end inside a character
    numbers = _NumberColumn(out, delimiter)
    raw = conn.connection.driver_connection
    assert raw is not None  # a checked-out connection always holds its driver's connection
    with raw.cursor() as cur:
        with cur.copy(sql, compiled.params) as copy:
            for block in copy:
                numbers.write(decode.decode(block))
        numbers.write(decode.decode(b"", final=True))
        numbers.close()
        return int(cur.rowcount)


class _NumberColumn:
    """Writes COPY's CSV text through, the first field of each row (the number, always first and never
    quoted) in export format. A row is a line unless a quoted field holds a line break: the count of
    quotes (doubled when escaped) says whether a line ends inside one."""

    def __init__(self, out: IO[str], delimiter: str) -> None:
        self.out, self.delimiter = out, delimiter
        self.pending = ""
        self.inside = False  # the previous line ended inside a quoted field

    def write(self, text_: str) -> None:
        lines = (self.pending + text_).split("\n")
        self.pending = lines.pop()
        self.out.write("".join(self._line(line) for line in lines))

    def close(self) -> None:
        if self.pending:
            self.out.write(self._line(self.pending).removesuffix("\n"))
            self.pending = ""

    def _line(self, line: str) -> str:
        starts_row = not self.inside
        if line.count('"') % 2:
            self.inside = not self.inside
        if starts_row:
            cut = line.find(self.delimiter)
            if cut > 0:
                return export_number(line[:cut]) + line[cut:] + "\n"
        return line + "\n"
