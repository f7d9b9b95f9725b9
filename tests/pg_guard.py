"""Before the tests wipe a PostgreSQL database (DROP SCHEMA public CASCADE), make sure it is a test database of ours.

CONTACTBOT_TEST_DATABASE_URL pointing at the wrong database would otherwise destroy someone's data. We refuse
unless the database's name says "test" and every table in it (any schema) is one the project creates.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Connection, text
from sqlalchemy.engine import make_url

# Tables the migrations create beside the models' tables: alembic's bookkeeping, and the job store of the
# scheduler (migration 0002; bot/scheduler.py, apscheduler's SQLAlchemyJobStore).
EXTRA_TABLES = frozenset({"alembic_version", "apscheduler_jobs"})


def owned_tables() -> frozenset[str]:
    """The project's tables in schema public: every model's table, and the extras above."""
    from sqlmodel import SQLModel

    import storage.models  # noqa: F401  (registers the broadcast tables in the metadata)  # noqa: F401

    return frozenset(SQLModel.metadata.tables) | EXTRA_TABLES


def existing_tables(conn: Connection) -> list[tuple[str, str]]:
    """(schema, name) of every table, view, materialized view and foreign table outside the system schemas."""
    rows = conn.execute(
        text(
            "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')"
            " AND n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')"
            " AND n.nspname NOT LIKE 'pg_temp_%' AND n.nspname NOT LIKE 'pg_toast_temp_%'"
            " ORDER BY 1, 2"
        )
    )
    return [(str(schema), str(name)) for schema, name in rows]


def wipe_refusal(url: str, tables: Iterable[tuple[str, str]], owned: frozenset[str]) -> str | None:
    """Why the tests must not wipe this database, or None when it is safe."""
    database = make_url(url).database or ""
    if "test" not in database.lower():
        return (
            f"refusing to wipe database {database!r}: CONTACTBOT_TEST_DATABASE_URL must name a database whose"
            " name contains 'test' (e.g. contactbot_test); the tests drop its schema public"
        )
    foreign = [f"{schema}.{name}" for schema, name in tables if schema != "public" or name not in owned]
    if foreign:
        shown = ", ".join(foreign[:10]) + (f" and {len(foreign) - 10} more" if len(foreign) > 10 else "")
        return (
            f"refusing to wipe database {database!r}: it holds tables this project does not own ({shown});"
            " point CONTACTBOT_TEST_DATABASE_URL at a database of its own"
        )
    return None
