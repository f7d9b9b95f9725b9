"""Engine and session factory; SQLite gets the pragmas that make it a real multi-threaded store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DatabaseError, DataError, IntegrityError, OperationalError, SQLAlchemyError
from sqlalchemy.pool import NullPool
from sqlmodel import Session

if TYPE_CHECKING:  # alembic itself loads only when migrating or checking (start-up cost)
    from alembic.config import Config

# The layers above name the database handle (Engine, Session) and catch these errors through this
# module: storage is the only package that imports SQLAlchemy/SQLModel (checked by import-linter).

__all__ = [  # what the layers above import from here, re-exported names included
    "DatabaseError",
    "DataError",
    "Engine",
    "IntegrityError",
    "OperationalError",
    "SQLAlchemyError",
    "Session",
    "bulk_cache",
    "current_revision",
    "database_password",
    "engine_for",
    "head_revision",
    "make_engine",
    "ping",
    "session_scope",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:  # the DB-API connection: sqlite3's
            cur = dbapi_conn.cursor()
            if parsed.database not in (None, "", ":memory:"):
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.close()

        return engine
    # hide_parameters: an error's text (logged) never carries the values (a search, a number, a name).
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20, hide_parameters=True)


BULK_CACHE_KIB = 256 * 1024


@contextmanager
def bulk_cache(conn: Connection) -> Iterator[None]:
    """SQLite: a 256 MB page cache on this connection while it writes or joins a million rows.

    The 2 MB default makes random index seeks and the sorter of CREATE INDEX go to the OS for
    most pages; the cache is only allocated as it fills and is set back afterwards.
    """
    if conn.dialect.name != "sqlite":
        yield
        return
    size = conn.exec_driver_sql("PRAGMA cache_size").scalar()
    conn.exec_driver_sql(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
    try:
        yield
    finally:
        conn.exec_driver_sql(f"PRAGMA cache_size = {int(size or -2000)}")


@lru_cache(maxsize=8)
def engine_for(url: str) -> Engine:
    """One engine (and connection pool) per URL per process."""
    return make_engine(url)


def database_password(url: str) -> str:
    """The password inside a database URL (the log filter redacts it), or ""."""
    return make_url(url).password or ""


def database_location(url: str) -> dict[str, str]:
    """Host, port, database name (or SQLite path) and password of a database URL, for error messages
    that name what could not be reached (the password only to keep it out of them)."""
    parsed = make_url(url)
    return {
        "host": parsed.host or "",
        "port": str(parsed.port or ""),
        "database": parsed.database or "",
        "password": parsed.password or "",
    }


def ping(engine: Engine) -> None:
    """One round trip to the database; raises when it cannot be reached."""
    with engine.connect() as conn:
        conn.execute(text("SELECT 1"))


@contextmanager
def session_scope(engine: Engine) -> Iterator[Session]:
    """A unit of work: commit on success, roll back on any error."""
    with Session(engine, expire_on_commit=False) as session:
        try:
            yield session
            session.commit()
        except BaseException:
            session.rollback()
            raise


# Any constant shared by every contactbot process: the key of the PostgreSQL advisory lock that
# serialises migrations when several processes start at once.
MIGRATION_LOCK_KEY = 0x636F6E74  # "cont"


def _alembic_config(url: str) -> Config:
    from alembic.config import Config  # start-up cost: alembic loads only when migrating or checking

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Apply Alembic migrations; `serve` calls this on start, `contactbot db upgrade` on demand.

    On PostgreSQL several web processes may start together: each takes a transaction-scoped
    advisory lock first, so one migrates while the others wait and then find nothing to do.
    """
    from alembic import command  # start-up cost: alembic loads only when migrating or checking

    cfg = _alembic_config(url)
    if make_url(url).get_backend_name() != "postgresql":
        command.upgrade(cfg, revision)
        return
    engine = create_engine(url, poolclass=NullPool, hide_parameters=True)
    try:
        with engine.begin() as conn:  # migrations run in this transaction; the lock ends with it
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)
    finally:
        engine.dispose()


@lru_cache(maxsize=1)
def head_revision() -> str | None:
    """The newest migration this code ships; `/readyz` compares the database with it."""
    from alembic.script import ScriptDirectory  # start-up cost: alembic loads only when migrating or checking

    return ScriptDirectory.from_config(_alembic_config("sqlite://")).get_current_head()


def current_revision(engine: Engine) -> str | None:
    from alembic.runtime.migration import (
        MigrationContext,  # start-up cost: alembic loads only when migrating or checking
    )

    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
