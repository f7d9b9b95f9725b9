"""Name keys by DIN 5007: `Özlem` sorts with `Ozlem` (not after `Zeynep`), `ß` as `ss`, accents dropped.

`contact.name_sort` (and a staged row's) was the case-folded name; it is recomputed with
bot.domain.contacts.name_key. Only rows whose key changes are written (names with umlauts, ß or
accents); the `(name_sort, id)` index, the trigram indexes and SQLite's FTS triggers follow the
UPDATE by themselves. Downgrade writes the case-folded names back.

Revision ID: 0010_din5007_name_keys
Revises: 0009_inflight_marker
"""

from collections.abc import Callable

import sqlalchemy as sa
from alembic import op

from bot.domain.contacts import name_key

revision = "0010_din5007_name_keys"
down_revision = "0009_inflight_marker"
branch_labels = None
depends_on = None

BATCH = 10_000


def _rekey(table: str, key: Callable[[str | None], str | None]) -> None:
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.text(f"SELECT id, name, name_sort FROM {table} WHERE id > :last ORDER BY id LIMIT :n"),
            {"last": last, "n": BATCH},
        ).all()
        if not rows:
            return
        last = rows[-1][0]
        changed = [{"i": i, "k": key(name)} for i, name, old in rows if key(name) != old]
        if changed:
            conn.execute(sa.text(f"UPDATE {table} SET name_sort = :k WHERE id = :i"), changed)


def _casefolded(name: str | None) -> str | None:
    return name.strip().casefold() or None if name else None


def upgrade() -> None:
    for table in ("contact", "import_row"):
        _rekey(table, name_key)


def downgrade() -> None:
    for table in ("contact", "import_row"):
        _rekey(table, _casefolded)
