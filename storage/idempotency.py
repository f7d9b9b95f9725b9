"""Idempotency keys (`processed_event`): the first claim of a key wins, every later one is told no."""

from __future__ import annotations

from sqlalchemy import Engine, insert
from sqlalchemy.exc import IntegrityError

from storage.models import ProcessedEvent, table_of, utcnow

table = table_of(ProcessedEvent)


def claim(engine: Engine, key: str) -> bool:
    """True exactly once per key, across retries, threads and processes (primary key insert)."""
    try:
        with engine.begin() as conn:
            conn.execute(insert(table), {"key": key[:200], "at": utcnow()})
    except IntegrityError:
        return False
    return True
