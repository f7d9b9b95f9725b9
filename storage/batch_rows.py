"""A batch of rows as one statement parameter, for set-based statements whose text never changes.

The webhook inbox applies hundreds of statuses per batch. One `UPDATE ... FROM <rows>` per batch does
the work of hundreds of single-row UPDATEs in one round trip, and because the rows travel as a
parameter the text is the same for every batch size: built once at import, prepared once by the
driver (psycopg prepares a statement it has run 5 times; sqlite3 keeps compiled statements in its
cache), with no SQLAlchemy compilation per batch.

- PostgreSQL: `unnest(%s::text[], %s::integer[], ...) AS v(a, b, ...)`, one array per column.
- SQLite: `(SELECT json_extract(value, '$[0]') AS a, ... FROM json_each(?)) AS v`, one JSON array of rows
  (SQLite has no array parameters; JSON1 is built in).

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
    """`FROM` item named `v` with these (name, PostgreSQL type) columns; takes `bind(...)`'s parameters."""
    assert all(kind in TYPES for _, kind in columns)
    if dialect == "postgresql":
        arrays = ", ".join(f"%s::{kind}[]" for _, kind in columns)
        return f"unnest({arrays}) AS v({', '.join(name for name, _ in columns)})"
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


def bind(dialect: str, rows: Sequence[Sequence[Any]], width: int) -> tuple[Any, ...]:
    """The parameters for `source(...)`: one list per column (PostgreSQL) or one JSON text (SQLite).
    Timestamps must already be `stamp`ed."""
    if dialect == "postgresql":
        return tuple([row[i] for row in rows] for i in range(width))
    return (json.dumps([list(row) for row in rows], ensure_ascii=False),)


def rank_sql(column: str, ranks: dict[str, int]) -> str:
    """SQL: the rank of a stored status (0 when none), as storage.message_status.rank_of in Core."""
    whens = " ".join(f"WHEN '{name}' THEN {rank}" for name, rank in ranks.items())
    return f"(CASE {column} {whens} ELSE 0 END)"
