"""`contact.phone_display`: each number in its international format (`+49 170 1234567`), stored when written.

Formatting a number with phonenumbers costs ~70-100 µs; the list formatted 20 of them on every render, 13.5% of
the CPU during a burst of list clicks (issue 21). The stored column makes a render read it instead. Formatting
depends only on a number's first digits and its length (bot/domain/phone.py: grouping_key), so filling it is
set-based: one sample number per (prefix, length) is formatted in Python, its separator positions go into a
temporary table, and one UPDATE ... FROM cuts every matching number at those positions with substr(), in SQL on
both databases. A contact whose column is still NULL (written by a path that does not fill it) is formatted at
render time, the same way (bot/domain/phone.py: export_number), so NULL is never wrong, only slower.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from bot.domain.phone import GROUPING_PREFIX, separators

MAX_SEPARATORS = 6  # more than any format phonenumbers produces for a canonical number; beyond: left NULL
_TEMP = "display_grouping"


def _segments_sql() -> str:
    """phone cut at a1..aN with s1..sN between the pieces; unused slots are (length, ''), which add nothing."""
    parts = ["substr(c.phone, 1, g.a1)"]
    for i in range(1, MAX_SEPARATORS + 1):
        nxt = f"g.a{i + 1} - g.a{i}" if i < MAX_SEPARATORS else None
        parts.append(f"g.s{i}")
        parts.append(f"substr(c.phone, g.a{i} + 1, {nxt})" if nxt else f"substr(c.phone, g.a{i} + 1)")
    return " || ".join(parts)


def fill(conn: Connection, after_id: int = 0) -> int:
    """Fill `phone_display` where it is NULL, for contacts with id > after_id; returns how many were filled."""
    samples = conn.execute(
        text(
            f"SELECT substr(phone, 1, {GROUPING_PREFIX}), length(phone), min(phone) FROM contact "
            f"WHERE phone_display IS NULL AND id > :after GROUP BY substr(phone, 1, {GROUPING_PREFIX}), length(phone)"
        ),
        {"after": after_id},
    ).all()
    rows: list[dict[str, Any]] = []
    for prefix, length, sample in samples:
        seps = separators(str(sample))
        if len(seps) > MAX_SEPARATORS:
            continue
        padded = list(seps) + [(int(length), "")] * (MAX_SEPARATORS - len(seps))
        row: dict[str, Any] = {"prefix": prefix, "n": int(length)}
        for i, (at, ch) in enumerate(padded, start=1):
            row[f"a{i}"], row[f"s{i}"] = at, ch
        rows.append(row)
    if not rows:
        return 0
    slots = range(1, MAX_SEPARATORS + 1)
    cols = ", ".join(f"a{i} INTEGER NOT NULL, s{i} VARCHAR(1) NOT NULL" for i in slots)
    conn.execute(text(f"DROP TABLE IF EXISTS {_TEMP}"))
    conn.execute(text(f"CREATE TEMPORARY TABLE {_TEMP} (prefix VARCHAR(20) NOT NULL, n INTEGER NOT NULL, {cols})"))
    names = ["prefix", "n", *(f"{k}{i}" for i in slots for k in ("a", "s"))]
    conn.execute(text(f"INSERT INTO {_TEMP} ({', '.join(names)}) VALUES ({', '.join(':' + n for n in names)})"), rows)
    result = conn.execute(
        text(
            f"UPDATE contact AS c SET phone_display = {_segments_sql()} FROM {_TEMP} AS g "
            f"WHERE c.phone_display IS NULL AND c.id > :after "
            f"AND substr(c.phone, 1, {GROUPING_PREFIX}) = g.prefix AND length(c.phone) = g.n"
        ),
        {"after": after_id},
    )
    conn.execute(text(f"DROP TABLE {_TEMP}"))
    return int(result.rowcount or 0)
