"""A benchmark's own database, emptied and migrated before a run (shared by the webhook benchmarks).

The PostgreSQL variant drops schema `public`: point it only at a database of the benchmark's own.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text

from storage.db import make_engine, upgrade


def fresh_schema(url: str) -> None:
    """Delete the SQLite file (and its WAL), or drop and re-create PostgreSQL's `public`; then migrate."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
