"""Big writes to `contact` without per-row index upkeep: drop the secondary indexes, write, rebuild.

Every contact row sits in 7 b-tree indexes plus the substring search index; a row written at a
random key costs a descent and a page write in each. Building an index afterwards sorts the whole
table once instead. At 1,000,000 new contacts on SQLite (docs/benchmarks.md) the insert took
14.8 s with the indexes and triggers in place, 2.4–3.7 s without them plus 3.5 s to build the 7
indexes and 2.0 s for the search index; on PostgreSQL the apply went from 26 s to 13 s.

It all happens in the caller's transaction (DDL is transactional in SQLite and PostgreSQL), so a
failed import restores the indexes with its rollback. While it runs, SQLite readers keep their WAL
snapshot, indexes included; PostgreSQL readers of `contact` wait for the commit (DROP INDEX takes
an exclusive lock), which is why it is only taken when an import rewrites a large share of the
table (`worth_it`), and never waits long for that lock (`LOCK_WAIT`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, func, select
from sqlalchemy.exc import OperationalError

from storage.models import ContactTally

log = logging.getLogger(__name__)

BULK_FROM_ROWS = 50_000
BULK_SHARE = 0.4  # rebuilding sorts every contact; upkeep costs a few random seeks per written row
LOCK_WAIT = "3s"  # PostgreSQL: rather the row-by-row path than a queue of readers behind the DROP

# SQLite triggers that keep the search index and the tally row by row; `_sqlite` drops them and
# does their work once for the whole table. The delete triggers stay (an import deletes nothing).
SQLITE_TRIGGERS = {
    "contact_fts_ai",
    "contact_fts_au",
    "contact_fts_ad",
    "contact_tally_ai",
    "contact_tally_au",
    "contact_tally_ad",
}
SQLITE_KEPT = {"contact_fts_ad", "contact_tally_ad"}
# PostgreSQL keeps the tally with statement triggers over transition tables: cheap per statement,
# but a million-row update still writes both row images to them (~1.5 s); recounting costs less.
POSTGRES_TALLY_TRIGGERS = ("contact_tally_ai", "contact_tally_au")
# `WHERE id > {}` is load-bearing even when it is `id > 0`: it makes SQLite read `contact` along its
# rowid b-tree, so FTS5 receives rowids in ascending order and appends them to its segments. Without
# it the planner prefers a covering index (phone, or name_sort), because it is smaller than the table,
# and feeds FTS5 in phone or name order: 7-8 s instead of 1.5 s per index at 1,000,000 contacts.
# tests/test_fts_fill_order.py checks the plan.
SQLITE_NEW_DIGITS = (
    "INSERT INTO contact_digits_fts(rowid, digits) SELECT id, substr(phone, 2) FROM contact WHERE id > {}"
)
SQLITE_NEW_NAMES = (
    "INSERT INTO contact_name_fts(rowid, name_sort) SELECT id, coalesce(name_sort, '') FROM contact WHERE id > {}"
)


# The pairs tables of migration 0014 (1-2 character terms): a contact's text is its character pairs and
# last character, separated by \x01, built with `search_position` (1..200); the digits' text also holds
# the number's first 1..6 digits as tokens `^4` ... `^49170`.
def _pairs(expr: str, starts: bool = False) -> str:
    start = f" || CASE WHEN i <= 6 THEN char(1) || '^' || substr({expr}, 1, i) ELSE '' END" if starts else ""
    return f"(SELECT group_concat(substr({expr}, i, 2){start}, char(1)) FROM search_position WHERE i <= length({expr}))"


SQLITE_NEW_DIGIT_PAIRS = (
    "INSERT INTO contact_digits_short_fts(rowid, pairs) SELECT id, "
    + _pairs("substr(phone, 2)", starts=True)
    + " FROM contact WHERE id > {}"
)
SQLITE_NEW_NAME_PAIRS = (
    "INSERT INTO contact_name_short_fts(rowid, pairs) SELECT id, "
    + _pairs("coalesce(name_sort, '')")
    + " FROM contact WHERE id > {}"
)
TALLY_RECOUNT = (
    "DELETE FROM contact_tally",
    "INSERT INTO contact_tally (active, blocked, messenger, n) "
    "SELECT active, blocked, messenger, count(*) FROM contact GROUP BY 1, 2, 3",
)


def worth_it(conn: Connection, written: int, created: int) -> bool:
    """True when `written` rows (`created` of them new) are a large enough share of the table."""
    if written < BULK_FROM_ROWS or conn.dialect.name not in ("sqlite", "postgresql"):
        return False
    existing = int(conn.scalar(select(func.coalesce(func.sum(ContactTally.n), 0))) or 0)
    return written >= BULK_SHARE * (existing + created)


@contextmanager
def indexes_rebuilt(conn: Connection, *, renames: bool) -> Iterator[bool]:
    """Inside: `contact` keeps only its primary key (and on SQLite its unique (phone, messenger)); yields
    whether it took that path.

    The block may insert contacts and update existing ones (`renames`: their names too), but must
    not change numbers or delete.
    """
    if conn.dialect.name == "sqlite":
        with _sqlite(conn, renames) as taken:
            yield taken
    elif conn.dialect.name == "postgresql":
        with _postgresql(conn) as taken:
            yield taken
    else:
        yield False


@contextmanager
def _sqlite(conn: Connection, renames: bool) -> Iterator[bool]:
    indexes = conn.exec_driver_sql(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contact' AND sql IS NOT NULL"
    ).all()
    triggers: dict[str, str] = dict(
        conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'contact'"
        ).all()
    )
    if set(triggers) != SQLITE_TRIGGERS:  # a trigger this module does not know how to stand in for
        log.warning("bulk load skipped: unexpected triggers on contact: %s", sorted(triggers))
        yield False
        return
    driver = conn.connection.driver_connection
    assert driver is not None  # a checked-out connection always holds its driver's connection
    if not driver.in_transaction:
        # pysqlite opens its transaction at the first INSERT/UPDATE/DELETE; DDL before that would
        # commit on its own, and a failure could not bring the indexes back.
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    before = int(conn.exec_driver_sql("SELECT coalesce(max(id), 0) FROM contact").scalar() or 0)
    for name, _ in indexes:
        conn.exec_driver_sql(f'DROP INDEX "{name}"')
    dropped = sorted(SQLITE_TRIGGERS - SQLITE_KEPT)
    for name in dropped:
        conn.exec_driver_sql(f'DROP TRIGGER "{name}"')
    log.info("bulk load: %d indexes and the search index are rebuilt afterwards", len(indexes))
    yield True
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
    # Imports never change a number: only new rows need their digits indexed. Names: the new rows,
    # or the whole index again when existing contacts may have been renamed (old names are gone).
    conn.exec_driver_sql(SQLITE_NEW_DIGITS.format(before))
    conn.exec_driver_sql(SQLITE_NEW_DIGIT_PAIRS.format(before))
    if renames:
        conn.exec_driver_sql("INSERT INTO contact_name_fts(contact_name_fts) VALUES ('delete-all')")
        conn.exec_driver_sql("INSERT INTO contact_name_short_fts(contact_name_short_fts) VALUES ('delete-all')")
    conn.exec_driver_sql(SQLITE_NEW_NAMES.format(0 if renames else before))
    conn.exec_driver_sql(SQLITE_NEW_NAME_PAIRS.format(0 if renames else before))
    for statement in TALLY_RECOUNT:
        conn.exec_driver_sql(statement)
    for name in dropped:
        conn.exec_driver_sql(triggers[name])


@contextmanager
def _postgresql(conn: Connection) -> Iterator[bool]:
    # Every index goes except the primary key (foreign keys point at it). The unique constraint
    # on (phone, messenger) goes too: nobody else can write meanwhile (the DROP locks the table),
    # the import inserts only numbers it does not have, and adding the constraint back checks it.
    # Updating 1M contacts: 16.8 s with it, 9.6 s without plus 1.8 s to add it back.
    indexes = conn.exec_driver_sql(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = 'contact'::regclass "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
    ).all()
    uniques = conn.exec_driver_sql(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = 'contact'::regclass AND contype = 'u'"
    ).all()
    triggers = list(
        conn.exec_driver_sql(
            "SELECT tgname FROM pg_trigger WHERE tgrelid = 'contact'::regclass AND tgname = ANY(%(names)s) "
            "AND tgenabled <> 'D' ORDER BY tgname",
            {"names": list(POSTGRES_TALLY_TRIGGERS)},
        ).scalars()
    )
    wait = conn.exec_driver_sql("SELECT current_setting('lock_timeout')").scalar()
    savepoint = conn.begin_nested()
    try:
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{LOCK_WAIT}'")
        for name, _ in indexes:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')
        for name, _ in uniques:
            conn.exec_driver_sql(f'ALTER TABLE contact DROP CONSTRAINT "{name}"')
        for name in triggers:
            conn.exec_driver_sql(f'ALTER TABLE contact DISABLE TRIGGER "{name}"')
        conn.exec_driver_sql(f"SET LOCAL lock_timeout = '{wait}'")
    except OperationalError:  # readers held the table: keep the indexes, write row by row
        savepoint.rollback()
        log.warning("bulk load skipped: contact was busy")
        yield False
        return
    savepoint.commit()
    log.info("bulk load: %d indexes are rebuilt afterwards", len(indexes))
    yield True
    conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
    for name, definition in uniques:
        conn.exec_driver_sql(f'ALTER TABLE contact ADD CONSTRAINT "{name}" {definition}')
    for _, sql in indexes:
        conn.exec_driver_sql(sql)
    if triggers:
        for statement in TALLY_RECOUNT:
            conn.exec_driver_sql(statement)
        for name in triggers:
            conn.exec_driver_sql(f'ALTER TABLE contact ENABLE TRIGGER "{name}"')
