"""A batch of rows as one statement parameter, for set-based statements whose text never changes.

The webhook inbox applies hundreds of statuses per batch. One `UPDATE ... FROM <rows>` per batch does
the work of hundreds of single-row UPDATEs in one round trip, and because the rows travel as a
parameter the text is the same for every batch size: built once at import, prepared once by the
driver (psycopg prepares a statement it has run 5 times; sqlite3 keeps compiled statements in its
cache), with no SQLAlchemy compilation per batch.

- PostgreSQL: `(SELECT (e->>0)::text AS a, ... FROM jsonb_array_elements(%s::jsonb) AS e) AS v`;
- SQLite: `(SELECT json_extract(value, '$[0]') AS a, ... FROM json_each(?)) AS v`;
  both take one JSON array of rows (SQLite has no array parameters; JSON1 is built in).

Timestamps are bound as storage.types.UtcDateTime stores them: naive UTC (PostgreSQL `timestamp`),
text `YYYY-MM-DD HH:MM:SS.ffffff` on SQLite.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

TYPES = ("text", "integer", "bigint", "smallint", "timestamp", "bytea")


def source(dialect: str, columns: Sequence[tuple[str, str]]) -> str:
    """`FROM` item named `v` with these (name, PostgreSQL type) columns; takes `bind(...)`'s one parameter."""
    assert all(kind in TYPES for _, kind in columns)
    if dialect == "postgresql":
        picks = ", ".join(f"(e->>{i})::{kind} AS {name}" for i, (name, kind) in enumerate(columns))
        return f"(SELECT {picks} FROM jsonb_array_elements(%s::jsonb) AS e) AS v"
    picks = ", ".join(f"json_extract(value, '$[{i}]') AS {name}" for i, (name, _) in enumerate(columns))
    return f"(SELECT {picks} FROM json_each(?)) AS v"


def mark(dialect: str) -> str:
    """The driver's positional parameter marker."""
    return "%s" if dialect == "postgresql" else "?"


def stamp(dialect: str, value: datetime | None) -> Any:
    """A timestamp as UtcDateTime writes it (naive UTC; SQLAlchemy's text form on SQLite)."""
    if value is None:
        return None
    naive = value.astimezone(UTC).replace(tzinfo=None) if value.tzinfo is not None else value
    return naive.strftime("%Y-%m-%d %H:%M:%S.%f") if dialect == "sqlite" else naive


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    raise TypeError(type(value).__name__)


def bind(dialect: str, rows: Sequence[Sequence[Any]]) -> tuple[Any, ...]:
    """The parameter for `source(...)`: the rows as one JSON array of arrays (timestamps `stamp`ed). JSON
    because both databases read it natively and json.dumps is C, where psycopg adapts an array per
    element in Python (the arrays cost more than the UPDATE they fed)."""
    return (json.dumps(rows, ensure_ascii=False, default=_text),)


def rank_sql(column: str, ranks: dict[str, int]) -> str:
    """SQL: the rank of a stored status (0 when none), as storage.message_status.rank_of in Core."""
    whens = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in ranks.items())
    return f"(CASE {column} {whens} ELSE 0 END)"
