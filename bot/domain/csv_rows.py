"""A CSV row's validation: from the cells of one chunk to staging tuples, valid or rejected with a reason.

Pure Python (no database), so it runs in worker processes and is tested without one; storage
stages what it returns. The column map says which position holds which field or attribute.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.domain.attribute_values import AttributeValueError, normalize
from bot.domain.contacts import name_key
from bot.domain.csv_format import parse_flag, parse_messenger, stamp, unneutralise

MAX_NAME = 200
MAX_VALUE = 1000
Normaliser = Callable[[list[str], str], list[str]]


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


def validate_job(
    columns: list[list[str]], cols: ColumnMap, run_id: int, first_row: int, region: str, normalise: Normaliser
) -> tuple[list[Staged], list[Staged]]:
    """One chunk, start to end: what a worker process runs (top-level, so it pickles)."""
    numbers = [unneutralise(v) for v in columns[cols.core["phone"]]]
    return validate_chunk(columns, cols, run_id, first_row, normalise(numbers, region))


def validate_chunk(
    columns: list[list[str]], cols: ColumnMap, run_id: int, first_row: int, phones: list[str]
) -> tuple[list[Staged], list[Staged]]:
    """Rows of one chunk as staging tuples: (valid, rejected). `phones` = to_e164_many of the phone column.

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
