"""A CSV row's validation: from the cells of one chunk to staging tuples, valid or rejected with a reason.

Pure Python (no database), so it runs in worker processes and is tested without one; storage
stages what it returns. The column map says which position holds which field or attribute.
"""

from __future__ import annotations

import json
import json.encoder
import re
from collections.abc import Callable
from dataclasses import dataclass
from operator import itemgetter, methodcaller
from typing import Any

from bot.domain.attribute_values import AttributeValueError, normalize
from bot.domain.contacts import name_key
from bot.domain.csv_format import parse_flag, parse_messenger, stamp, unneutralise
from bot.domain.phone import canonical_many

MAX_NAME = 200
MAX_VALUE = 1000
Normaliser = Callable[[list[str], str], list[str]]  # bot.domain.phone.to_e164_many


@dataclass(frozen=True)
class AttributeColumn:
    position: int
    header: str
    key: str
    attribute_id: int | None  # None: created on confirm
    type: str = "text"  # an existing attribute's type: its values are checked and stored canonically
    choices: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ColumnMap:
    core: dict[str, int]  # field -> position
    attributes: list[AttributeColumn]
    headers: list[str]

    @property
    def new_attributes(self) -> list[AttributeColumn]:
        return [a for a in self.attributes if a.attribute_id is None]


STAGE_COLUMNS = (
    "run_id",
    "row_no",
    "phone",
    "messenger",
    "action",
    "data",
    "name",
    "name_sort",
    "first_contact_at",
    "last_chat_at",
    "blocked",
    "active",
)
Staged = tuple[Any, ...]  # one import_row in STAGE_COLUMNS order, ready for executemany / COPY


def error_row(run_id: int, row_no: int, column: str, code: str, value: str, phone: str = "") -> Staged:
    data = json.dumps({"column": column[:100], "code": code, "value": value[:200]}, ensure_ascii=False)
    return (run_id, row_no, phone[:20], "", "error", data, None, None, None, None, None, None)


def validate_chunk(
    columns: list[list[str]], cols: ColumnMap, run_id: int, first_row: int, phones: list[str]
) -> tuple[list[Staged], list[Staged]]:
    """Rows of one chunk as staging tuples: (valid, rejected). `phones` = to_e164_many of the phone column.

    The reference: the import stages `validate_columns`, which must give exactly this (tested).

    Plain tuples and pre-formatted timestamps: at a million rows, per-row work is the budget.
    """
    n = len(phones)
    headers = cols.headers
    core = cols.core

    def at(pos: int | None) -> list[str] | None:
        return columns[pos] if pos is not None and pos < len(columns) else None

    def column(name: str) -> list[str] | None:
        return at(core.get(name))

    messengers, names = column("messenger"), column("name")
    firsts, lasts = column("first_contact"), column("last_chat")
    blockeds, statuses, activateds = column("blocked"), column("status"), column("activated")
    attr_cells = [(a, at(a.position)) for a in cols.attributes]
    raw_phones = column("phone") or [""] * n
    good: list[Staged] = []
    bad: list[Staged] = []
    for i in range(n):
        row_no = first_row + i
        phone = phones[i]
        if phone == "!phone.empty" and not any(c[i].strip() for c in columns):
            continue  # a row of only delimiters (Excel writes them for formatted blank rows)
        if phone.startswith("!"):
            bad.append(error_row(run_id, row_no, headers[core["phone"]], phone[1:], raw_phones[i]))
            continue
        problem: tuple[str, str, str] | None = None
        messenger, name, name_sort, active = "whatsapp", None, None, None
        blocked: bool | None = None
        when: list[str | None] = [None, None]
        if messengers is not None and (text := messengers[i].strip()):
            try:
                messenger = parse_messenger(text)
            except ValueError:
                problem = ("messenger", "messenger", text)
        # Names and attribute values are kept exactly as written (a round trip must be a no-op);
        # only a cell of nothing but spaces counts as empty.
        if names is not None and (text := unneutralise(names[i])).strip():
            if len(text) > MAX_NAME:
                problem = problem or ("name", "too_long", text)
            name, name_sort = text, name_key(text)
        for k, (fld, cells) in enumerate((("first_contact", firsts), ("last_chat", lasts))):
            if cells is not None and (text := cells[i].strip()):
                when[k] = stamp(text)
                if when[k] is None:
                    problem = problem or (fld, "date", text)
        if blockeds is not None and (text := blockeds[i].strip()):
            try:
                blocked = parse_flag(text)
            except ValueError:
                problem = problem or ("blocked", "flag", text)
        for fld, cells in (("status", statuses), ("activated", activateds)):
            if cells is not None and (text := cells[i].strip()):
                try:
                    flag = parse_flag(text)
                except ValueError:
                    problem = problem or (fld, "status" if fld == "status" else "flag", text)
                    continue
                if active is not None and active != flag:
                    problem = problem or (fld, "status_conflict", text)
                active = flag
        data = "{}"
        if attr_cells:
            values = {}
            for attr, cells in attr_cells:
                if cells is not None and (text := unneutralise(cells[i])).strip():
                    if len(text) > MAX_VALUE:
                        problem = problem or (attr.header, "too_long", text)
                    elif attr.type != "text":
                        try:
                            text = normalize(attr.type, text, list(attr.choices or ()))
                        except AttributeValueError as exc:
                            problem = problem or (attr.header, exc.code, text)
                    values[str(attr.position)] = text
            data = json.dumps(values, ensure_ascii=False)
        if problem is not None:
            fld, code, value = problem
            header = headers[core[fld]] if fld in core else fld
            bad.append(error_row(run_id, row_no, header, code, value))
            continue
        good.append((run_id, row_no, phone, messenger, "row", data, name, name_sort, when[0], when[1], blocked, active))
    return good, bad


# --- the same rules, a column at a time -----------------------------------------------------------------
# At a million rows the loop above costs ~5 µs per row in Python. `validate_columns` gives exactly the same
# verdicts, values and errors (tests/test_csv_vectorised.py compares both on generated rows) by working on
# whole columns: each distinct cell of a column is judged once (a messenger or status column holds a handful
# of words), per-cell work is done by C-level `map`s of str methods, and the stored date form is recognised
# by one regex over the joined column. Python loops only visit the rows that have a problem.
GOOD_COLUMNS = (
    "row_no",
    "phone",
    "messenger",
    "data",
    "name",
    "name_sort",
    "first_contact_at",
    "last_chat_at",
    "blocked",
    "active",
)
_QUOTED = methodcaller("startswith", "'")
_ERROR = methodcaller("startswith", "!")
# What `stamp` returns unchanged (plus ".000000"): the export's `YYYY-MM-DD HH:MM:SS` for a date that exists
# (29 February and year 0 are left to `stamp`).
_STORED_STAMP = re.compile(
    r"^(?!0000)[0-9]{4}-(?:(?:0[13578]|1[02])-(?:0[1-9]|[12][0-9]|3[01])|(?:0[469]|11)-(?:0[1-9]|[12][0-9]|30)"
    r"|02-(?:0[1-9]|1[0-9]|2[0-8])) (?:[01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]$",
    re.MULTILINE | re.ASCII,
)
_STAMP_REGEX_FROM = 64  # distinct values in a column; below, `stamp` each is as quick


class _Problem(tuple[str, str, str]):
    """(field, code, value) of a cell that rejects its row; a type of its own so a cell value is never one."""

    __slots__ = ()


@dataclass(frozen=True)
class Validated:
    good: list[list[Any]]  # one list per GOOD_COLUMNS entry, rows in file order
    bad: list[Staged]  # error rows, in file order

    def rows(self, run_id: int) -> list[Staged]:
        """The valid rows as staging tuples (STAGE_COLUMNS order), as `validate_chunk` returns them."""
        row_no, phone, messenger, data, name, name_sort, first, last, blocked, active = self.good
        return [
            (run_id, r, p, m, "row", d, n, s, f, la, b, a)
            for r, p, m, d, n, s, f, la, b, a in zip(
                row_no, phone, messenger, data, name, name_sort, first, last, blocked, active, strict=True
            )
        ]


def phone_numbers(columns: list[list[str]], cols: ColumnMap) -> list[str]:
    """The phone column as `validate_job` hands it to the normaliser (one exported `'` removed)."""
    return _unquoted(columns[cols.core["phone"]])


def split_numbers(numbers: list[str]) -> tuple[list[str | None], list[str]]:
    """(the bulk regex's numbers, None where undecided; the distinct undecided values for `to_e164_many`)."""
    quick = canonical_many(numbers)
    if None not in quick:
        return quick, []
    return quick, list({v for v, q in zip(numbers, quick, strict=True) if q is None})


def merge_numbers(numbers: list[str], quick: list[str | None], rest: list[str], resolved: list[str]) -> list[str]:
    """The phone column as `to_e164_many(numbers)` gives it: `resolved` = to_e164_many(rest)."""
    if not rest:
        return quick  # type: ignore[return-value]  # nothing undecided: no None in it
    known = dict(zip(rest, resolved, strict=True))
    return [q if q is not None else known[v] for v, q in zip(numbers, quick, strict=True)]


def _unquoted(cells: list[str]) -> list[str]:
    return list(map(unneutralise, cells)) if any(map(_QUOTED, cells)) else cells


def _mapped(cells: list[str], judge: Callable[[str], Any]) -> tuple[list[Any], list[int]]:
    """`judge` once per distinct cell; returns the column of results and the rows whose result is a _Problem."""
    table = {value: judge(value) for value in set(cells)}
    out = list(map(table.__getitem__, cells))
    if not any(type(v) is _Problem for v in table.values()):
        return out, []
    return out, [i for i, v in enumerate(out) if type(v) is _Problem]


def _flag_judge(field: str, code: str) -> Callable[[str], Any]:
    def judge(cell: str) -> Any:
        text = cell.strip()
        if not text:
            return None
        try:
            return parse_flag(text)
        except ValueError:
            return _Problem((field, code, text))

    return judge


def _messenger(cell: str) -> Any:
    text = cell.strip()
    if not text:
        return "whatsapp"
    try:
        return parse_messenger(text)
    except ValueError:
        return _Problem(("messenger", "messenger", text))


def _stamps(field: str, cells: list[str]) -> tuple[list[Any], list[int]]:
    def judge(text: str) -> Any:
        if not text:
            return None
        found = stamp(text)
        return found if found is not None else _Problem((field, "date", text))

    distinct = list(set(cells))
    stripped = list(map(str.strip, distinct))
    joined = "\n".join(stripped)
    if len(distinct) < _STAMP_REGEX_FROM or joined.count("\n") != len(stripped) - 1:
        table = {v: judge(s) for v, s in zip(distinct, stripped, strict=True)}
    else:
        marked = _STORED_STAMP.sub("", joined).split("\n")
        table = {
            v: s + ".000000" if s and not m else judge(s) for v, s, m in zip(distinct, stripped, marked, strict=True)
        }
    out = list(map(table.__getitem__, cells))
    if not any(type(v) is _Problem for v in table.values()):
        return out, []
    return out, [i for i, v in enumerate(out) if type(v) is _Problem]


def _names(cells: list[str]) -> tuple[list[str | None], list[str | None], list[int]]:
    """(name, name_sort, rows whose name is too long): `name_key` is `lower()` for ASCII names."""
    texts = _unquoted(cells)
    stripped = list(map(str.strip, texts))
    names = [t if s else None for t, s in zip(texts, stripped, strict=True)]
    keys = [k or None for k in map(str.lower, stripped)]
    if not all(map(str.isascii, stripped)):
        found: dict[str, str | None] = {}
        for i in [i for i, s in enumerate(stripped) if not s.isascii()]:
            text = texts[i]
            if text not in found:
                found[text] = name_key(text)
            keys[i] = found[text] if stripped[i] else None
    too_long = []
    if max(map(len, texts), default=0) > MAX_NAME:
        too_long = [i for i, t in enumerate(texts) if len(t) > MAX_NAME and stripped[i]]
    return names, keys, too_long


def validate_columns(
    columns: list[list[str]], cols: ColumnMap, run_id: int, first_row: int, phones: list[str]
) -> Validated:
    """`validate_chunk`, a column at a time: the same rows, values, errors and order."""
    n = len(phones)
    headers, core = cols.headers, cols.core

    def at(pos: int | None) -> list[str] | None:
        return columns[pos] if pos is not None and pos < len(columns) else None

    def column(name: str) -> list[str] | None:
        return at(core.get(name))

    problems: dict[int, _Problem] = {}

    def note(values: list[Any], rows: list[int]) -> None:
        for i in rows:
            problems.setdefault(i, values[i])

    # Problems are noted in the order the row loop checks the cells: the first one names the row.
    messenger_cells = column("messenger")
    if messenger_cells is not None:
        messengers, rows = _mapped(messenger_cells, _messenger)
        note(messengers, rows)
    else:
        messengers = ["whatsapp"] * n
    name_cells = column("name")
    if name_cells is not None:
        names, name_sorts, too_long = _names(name_cells)
        for i in too_long:
            problems.setdefault(i, _Problem(("name", "too_long", names[i] or "")))
    else:
        names = name_sorts = [None] * n
    stamped: list[list[Any]] = []
    for fld in ("first_contact", "last_chat"):
        cells = column(fld)
        if cells is None:
            stamped.append([None] * n)
            continue
        values, rows = _stamps(fld, cells)
        note(values, rows)
        stamped.append(values)
    blocked_cells = column("blocked")
    if blocked_cells is not None:
        blocked, rows = _mapped(blocked_cells, _flag_judge("blocked", "flag"))
        note(blocked, rows)
    else:
        blocked = [None] * n
    active: list[Any] = [None] * n
    status_cells, activated_cells = column("status"), column("activated")
    if status_cells is not None:
        active, rows = _mapped(status_cells, _flag_judge("status", "status"))
        note(active, rows)
    if activated_cells is not None:
        activated, rows = _mapped(activated_cells, _flag_judge("activated", "flag"))
        if status_cells is not None:
            conflicts = [
                i
                for i, (s, a) in enumerate(zip(active, activated, strict=True))
                if type(s) is bool and type(a) is bool and s != a
            ]
            for i in conflicts:
                activated[i] = _Problem(("activated", "status_conflict", activated_cells[i].strip()))
            rows = sorted(rows + conflicts)
            pairs = zip(active, activated, strict=True)
            active = [a if type(a) is bool else s if type(s) is bool else None for s, a in pairs]
        else:
            active = activated
        note(activated, rows)
    data = _attribute_data(cols, at, problems, n) if cols.attributes else ["{}"] * n

    drop: set[int] = set(problems)
    bad: list[tuple[int, Staged]] = []
    raw_phones = column("phone") or [""] * n
    if any(map(_ERROR, phones)):
        blank = "!phone.empty"
        phone_header = headers[core["phone"]]
        for i in [i for i, p in enumerate(phones) if p[:1] == "!"]:
            drop.add(i)
            problems.pop(i, None)
            if phones[i] == blank and not any(c[i].strip() for c in columns):
                continue  # a row of only delimiters (Excel writes them for formatted blank rows)
            bad.append((i, error_row(run_id, first_row + i, phone_header, phones[i][1:], raw_phones[i])))
    for i, (fld, code, value) in problems.items():
        bad.append((i, error_row(run_id, first_row + i, headers[core[fld]] if fld in core else fld, code, value)))
    bad.sort(key=itemgetter(0))
    good: list[list[Any]] = [list(range(first_row, first_row + n)), phones, messengers, data, names, name_sorts]
    good += [*stamped, blocked, active]
    if drop:
        keep = [i for i in range(n) if i not in drop]
        good = [[col[i] for i in keep] for col in good]
    return Validated(good, [row for _, row in bad])


def _attribute_data(
    cols: ColumnMap, at: Callable[[int | None], list[str] | None], problems: dict[int, _Problem], n: int
) -> list[str]:
    """The `data` JSON of every row: `json.dumps({position: value})` of its non-empty attribute cells."""
    present: list[tuple[str, list[str | None]]] = []
    for attr in cols.attributes:
        cells = at(attr.position)
        if cells is None:
            continue
        texts = _unquoted(cells)
        stripped = list(map(str.strip, texts))
        values: list[str | None] = [t if s else None for t, s in zip(texts, stripped, strict=True)]
        long_rows = [i for i, t in enumerate(values) if t is not None and len(t) > MAX_VALUE]
        for i in long_rows:
            problems.setdefault(i, _Problem((attr.header, "too_long", values[i] or "")))
        if attr.type != "text":
            choices = list(attr.choices or ())
            found: dict[str, Any] = {}
            skip = set(long_rows)
            for i, text in enumerate(values):
                if text is None or i in skip:
                    continue
                if text not in found:
                    try:
                        found[text] = normalize(attr.type, text, choices)
                    except AttributeValueError as exc:
                        found[text] = _Problem((attr.header, exc.code, text))
                value = found[text]
                if type(value) is _Problem:
                    problems.setdefault(i, value)
                else:
                    values[i] = value
        present.append((f"{json.dumps(str(attr.position))}: ", values))
    if not present:
        return ["{}"] * n
    encode = json.encoder.encode_basestring  # json.dumps(str, ensure_ascii=False), as the dict encoder writes it
    prefixes = [p for p, _ in present]
    return [
        "{" + ", ".join(p + encode(v) for p, v in zip(prefixes, row, strict=True) if v is not None) + "}"
        for row in zip(*(v for _, v in present), strict=True)
    ]
