"""A benchmark's own database, emptied and migrated before a run (shared by the webhook benchmarks).

The PostgreSQL variant drops schema `public`: it refuses a database whose name lacks "bench", so a
benchmark pointed at the app's own database by mistake stops before deleting anything.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from storage.db import make_engine, upgrade


def refuse_unless_bench(url: str) -> None:
    """Stop the benchmark unless the PostgreSQL database it is about to empty is named as a benchmark's."""
    if url.startswith("sqlite"):
        return
    name = make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop the schema of database {name!r}: its name lacks 'bench' (use --url)")


def fresh_schema(url: str) -> None:
    """Delete the SQLite file (and its WAL), or drop and re-create PostgreSQL's `public`; then migrate."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
    else:
        refuse_unless_bench(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)
