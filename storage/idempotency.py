"""Idempotency keys (`processed_event`): the first claim of a key wins, every later one is told no."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import Engine, delete, insert, update
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


def hold(engine: Engine, key: str, stale_after: timedelta) -> bool:
    """Take a lock named `key` shared by every process: True when taken. A holder that died (its
    claim older than `stale_after`) does not keep it forever: the lock is taken over."""
    if claim(engine, key):
        return True
    with engine.begin() as conn:
        taken = conn.execute(
            update(table).where(table.c.key == key[:200], table.c.at < utcnow() - stale_after).values(at=utcnow())
        ).rowcount
    return taken == 1


def release(engine: Engine, key: str) -> None:
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.key == key[:200]))


def forget_older(engine: Engine, prefix: str, older_than: timedelta) -> None:
    """Delete the keys under `prefix` claimed longer ago than `older_than` (a range on the primary key)."""
    cutoff = utcnow() - older_than
    upper = prefix[:-1] + chr(ord(prefix[-1]) + 1)  # the first key after every key with this prefix
    with engine.begin() as conn:
        conn.execute(delete(table).where(table.c.key >= prefix, table.c.key < upper, table.c.at < cutoff))
