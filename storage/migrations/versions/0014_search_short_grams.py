"""Search index for 1-2 character terms: every character pair of the name key and of the number's digits.

A trigram index cannot answer a term under three characters, so `7`, `a`, `01` or `xa` scanned all
contacts (0.3-2.8 s at 1,000,000). Each contact's name key and digits are now also indexed as their
character pairs (bigrams) plus the last character, so every character starts one of them:

- SQLite: two contentless FTS5 tables (`contact_name_short_fts`, `contact_digits_short_fts`) whose text
  is the pairs separated by \\x01, with the `ascii` tokenizer told that every printable character is part
  of a token (only control characters separate), and a prefix index of length 1: a two-character term
  is one token, a one-character term the prefix query `"x"*`. The digits' text also holds the start
  of the number up to 6 digits as tokens (`^49170`): counting the numbers that start with `0170` reads
  that token's rowids in table order (the `(phone, id)` index yields them in phone order, and reading
  10,000 rows scattered over the table took 10x as long). The triggers of migration 0004 are
  re-created to keep them in step; SQL builds the pairs with `search_position` (1..200, one row per
  character position), because SQLite allows no recursive CTE in a trigger.
- PostgreSQL: GIN indexes on `contact_grams(name_sort)` and `contact_grams(substr(phone, 2))`, an
  immutable function returning the characters and pairs as a text[] (three regexp_replace, in C);
  a search asks `@> ARRAY[term]`.

The backfill is one INSERT ... SELECT per table (SQLite) or the index build (PostgreSQL).

Revision ID: 0014_search_short_grams
Revises: 0013_display_number
"""

from alembic import op

revision = "0014_search_short_grams"
down_revision = "0013_display_number"
branch_labels = None
depends_on = None

# Every printable ASCII character that is not a letter or digit: the ascii tokenizer keeps them in tokens.
TOKENCHARS = "".join(chr(i) for i in range(32, 127) if not chr(i).isalnum())
_TOKENIZE = "ascii tokenchars '" + TOKENCHARS.replace("'", "''") + "'"
OPTIONS = "content='', detail=none, columnsize=0, prefix='1', tokenize='" + _TOKENIZE.replace("'", "''") + "'"
# search_position holds 1..200: contact.name_sort is at most 200 characters, phone 20


def pairs_sql(expr: str, starts: bool = False) -> str:
    """SQL for the indexed text of `expr`: its character pairs and last character, separated by \x01; with
    `starts` (digits) also its first 1..PREFIX characters as tokens `^4`, `^49`, ... `^49170`."""
    start = f" || CASE WHEN i <= {PREFIX} THEN char(1) || '^' || substr({expr}, 1, i) ELSE '' END" if starts else ""
    return f"(SELECT group_concat(substr({expr}, i, 2){start}, char(1)) FROM search_position WHERE i <= length({expr}))"


PREFIX = 6  # digits: the start of a number up to 6 digits (`0170` -> `^49170`) is a token of its own
NAME = "coalesce({t}.name_sort, '')"
DIGITS = "substr({t}.phone, 2)"
TRIGGERS = ("contact_fts_ai", "contact_fts_ad", "contact_fts_au")


def _insert(t: str) -> str:
    return f"""INSERT INTO contact_name_fts(rowid, name_sort) VALUES ({t}.id, {NAME.format(t=t)});
         INSERT INTO contact_digits_fts(rowid, digits) VALUES ({t}.id, {DIGITS.format(t=t)});
         INSERT INTO contact_name_short_fts(rowid, pairs) VALUES ({t}.id, {pairs_sql(NAME.format(t=t))});
         INSERT INTO contact_digits_short_fts(rowid, pairs)
         VALUES ({t}.id, {pairs_sql(DIGITS.format(t=t), starts=True)});"""


def _delete(t: str) -> str:
    return f"""INSERT INTO contact_name_fts(contact_name_fts, rowid, name_sort)
         VALUES ('delete', {t}.id, {NAME.format(t=t)});
         INSERT INTO contact_digits_fts(contact_digits_fts, rowid, digits)
         VALUES ('delete', {t}.id, {DIGITS.format(t=t)});
         INSERT INTO contact_name_short_fts(contact_name_short_fts, rowid, pairs)
         VALUES ('delete', {t}.id, {pairs_sql(NAME.format(t=t))});
         INSERT INTO contact_digits_short_fts(contact_digits_short_fts, rowid, pairs)
         VALUES ('delete', {t}.id, {pairs_sql(DIGITS.format(t=t), starts=True)});"""


SQLITE_NEW = [
    "CREATE TABLE search_position (i INTEGER PRIMARY KEY)",
    "INSERT INTO search_position (i) SELECT value FROM json_each('[" + ",".join(map(str, range(1, 201))) + "]')",
    f"CREATE VIRTUAL TABLE contact_name_short_fts USING fts5(pairs, {OPTIONS})",
    f"CREATE VIRTUAL TABLE contact_digits_short_fts USING fts5(pairs, {OPTIONS})",
    f"CREATE TRIGGER contact_fts_ai AFTER INSERT ON contact BEGIN {_insert('new')} END",
    f"CREATE TRIGGER contact_fts_ad AFTER DELETE ON contact BEGIN {_delete('old')} END",
    "CREATE TRIGGER contact_fts_au AFTER UPDATE OF name_sort, phone ON contact "
    f"BEGIN {_delete('old')} {_insert('new')} END",
    # `WHERE id > 0` makes SQLite read contact in rowid order (see storage/bulk_load.py)
    f"INSERT INTO contact_name_short_fts(rowid, pairs) SELECT id, {pairs_sql(NAME.format(t='contact'))} "
    "FROM contact WHERE id > 0",
    "INSERT INTO contact_digits_short_fts(rowid, pairs) "
    f"SELECT id, {pairs_sql(DIGITS.format(t='contact'), starts=True)} FROM contact WHERE id > 0",
]

SQLITE_OLD = [  # the triggers of migration 0004
    """CREATE TRIGGER contact_fts_ai AFTER INSERT ON contact BEGIN
         INSERT INTO contact_name_fts(rowid, name_sort) VALUES (new.id, coalesce(new.name_sort, ''));
         INSERT INTO contact_digits_fts(rowid, digits) VALUES (new.id, substr(new.phone, 2));
       END""",
    """CREATE TRIGGER contact_fts_ad AFTER DELETE ON contact BEGIN
         INSERT INTO contact_name_fts(contact_name_fts, rowid, name_sort)
         VALUES ('delete', old.id, coalesce(old.name_sort, ''));
         INSERT INTO contact_digits_fts(contact_digits_fts, rowid, digits)
         VALUES ('delete', old.id, substr(old.phone, 2));
       END""",
    """CREATE TRIGGER contact_fts_au AFTER UPDATE OF name_sort, phone ON contact BEGIN
         INSERT INTO contact_name_fts(contact_name_fts, rowid, name_sort)
         VALUES ('delete', old.id, coalesce(old.name_sort, ''));
         INSERT INTO contact_name_fts(rowid, name_sort) VALUES (new.id, coalesce(new.name_sort, ''));
         INSERT INTO contact_digits_fts(contact_digits_fts, rowid, digits)
         VALUES ('delete', old.id, substr(old.phone, 2));
         INSERT INTO contact_digits_fts(rowid, digits) VALUES (new.id, substr(new.phone, 2));
       END""",
]

# The characters and pairs of s: the pairs from the first character on, from the second character on,
# and every single character, each list joined by \x01 by one regexp_replace (C code, no loop per
# character); GIN stores each distinct element once per row.
POSTGRES_NEW = [
    r"""CREATE FUNCTION contact_grams(s text) RETURNS text[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
        AS $$ SELECT array_remove(string_to_array(
            regexp_replace(s, '(..)', E'\\1\x01', 'g') || E'\x01'
            || regexp_replace(substr(s, 2), '(..)', E'\\1\x01', 'g') || E'\x01'
            || regexp_replace(s, '(.)', E'\\1\x01', 'g'), E'\x01'), '') $$""",
    "CREATE INDEX ix_contact_name_grams ON contact USING gin (contact_grams(name_sort))",
    "CREATE INDEX ix_contact_digit_grams ON contact USING gin (contact_grams(substr(phone, 2)))",
]
POSTGRES_OLD = [
    "DROP INDEX IF EXISTS ix_contact_digit_grams",
    "DROP INDEX IF EXISTS ix_contact_name_grams",
    "DROP FUNCTION IF EXISTS contact_grams(text)",
]


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for statement in SQLITE_NEW:
            op.execute(statement)
    else:
        op.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for statement in POSTGRES_NEW:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        for name in TRIGGERS:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")
        for table in ("contact_name_short_fts", "contact_digits_short_fts", "search_position"):
            op.execute(f"DROP TABLE IF EXISTS {table}")
        for statement in SQLITE_OLD:
            op.execute(statement)
    else:
        for statement in POSTGRES_OLD:
            op.execute(statement)
