"""The bulk load's search-index fill reads contacts in id order (issue 21): FTS5 appends rowids that
arrive ascending cheaply; in phone or name order (a covering index) the same fill took 5x as long."""

from __future__ import annotations

from pathlib import Path

import pytest

from storage import bulk_load
from storage.db import make_engine
from tests.factories import add_many


@pytest.mark.parametrize(
    "statement",
    [
        bulk_load.SQLITE_NEW_DIGITS,
        bulk_load.SQLITE_NEW_NAMES,
        bulk_load.SQLITE_NEW_DIGIT_PAIRS,
        bulk_load.SQLITE_NEW_NAME_PAIRS,
    ],
)
@pytest.mark.parametrize("after", [0, 5])
def test_the_search_index_fill_walks_contacts_by_id(sqlite_template: Path, tmp_path: Path, statement: str, after: int):
    path = tmp_path / "fill.db"
    path.write_bytes(sqlite_template.read_bytes())
    engine = make_engine(f"sqlite:///{path}")
    add_many(engine, 20)
    select = statement.format(after).split(") ", 1)[1]  # the SELECT that feeds the FTS table
    with engine.connect() as conn:
        conn.exec_driver_sql("ANALYZE")  # with statistics, as after a real import, the planner prefers small indexes
        plan = " | ".join(row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {select}"))
    engine.dispose()
    assert "INTEGER PRIMARY KEY" in plan and "COVERING INDEX" not in plan, plan
