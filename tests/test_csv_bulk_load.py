"""Large imports drop the contact indexes and rebuild them: afterwards nothing may tell the difference.

`BULK_FROM_ROWS` is lowered so that a small file takes the path a million-row file takes.
"""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sqlalchemy import Engine, insert, select, text
from sqlmodel import Session

from bot.domain.contacts import ContactFilter, PageRequest
from bot.services import imports
from storage import bulk_load
from storage.contacts import count, list_page, trigram_query
from storage.models import Contact, ContactTally
from tests.factories import BASE, add_contact


def _catalog(engine: Engine) -> list[tuple[str, str]]:
    """Every index, trigger and constraint on `contact` with its definition."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            rows = conn.execute(
                text(
                    "SELECT name, coalesce(sql, '') FROM sqlite_master WHERE tbl_name = 'contact' AND type IN "
                    "('index', 'trigger')"
                )
            ).all()
        else:
            rows = conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'contact' UNION ALL "
                    "SELECT tgname, pg_get_triggerdef(oid) || ' ' || tgenabled::text FROM pg_trigger "
                    "WHERE tgrelid = 'contact'::regclass UNION ALL "
                    "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'contact'::regclass"
                )
            ).all()
    return sorted((str(a), str(b)) for a, b in rows)


def _names(engine: Engine, search: str, status: str = "all") -> list[str]:
    with Session(engine) as session:
        page = list_page(
            session, ContactFilter(status=status, search=search), PageRequest(sort="name", desc=False, limit=50)
        )
    return [c.name or "" for c in page.rows]


def _file(path: Path, rows: list[str]) -> str:
    path.write_text("Nummer;Messenger;Name;Status\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


@pytest.fixture
def bulk(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_load, "BULK_FROM_ROWS", 1)


def test_a_bulk_import_leaves_indexes_search_and_totals_as_row_by_row_would(
    engine: Engine, tmp_path: Path, bulk: None, caplog: pytest.LogCaptureFixture
) -> None:
    add_contact(engine, "+4917000000001", "Alte Anna")
    add_contact(engine, "+4917000000002", "Bleibt Bernd", active=False)
    before = _catalog(engine)
    rows = [f"+491520000{i:04d};WhatsApp;Neu {i:02d} O'Hara;aktiv" for i in range(30)]
    rows += ["+4917000000001;WhatsApp;Neue Berta;inaktiv"]
    caplog.set_level(logging.INFO, logger="storage.bulk_load")
    preview = imports.preview(engine, _file(tmp_path / "kunden.csv", rows), "kunden.csv", actor="t", region="DE")
    stages: list[str] = []
    result = imports.apply_run(
        engine,
        preview.run_id,
        "slack:UADMIN01",
        consent_confirmed=True,
        progress=lambda stage, _rows: stages.append(stage),
    )

    assert result.counts.created == 30 and result.counts.updated == 1 and result.counts.deactivated == 1
    assert any("bulk load" in r.getMessage() for r in caplog.records)  # the path under test was taken
    assert stages[-2:] == ["create", "index"]  # the thread says why the last step takes a while
    assert _catalog(engine) == before  # every index and trigger is back, exactly as defined
    # The search index knows the new contacts and the new name, and forgot the old one.
    assert _names(engine, "berta") == ["Neue Berta"] and _names(engine, "alte anna") == []
    assert _names(engine, "neu 07 o'h") == ["Neu 07 O'Hara"]
    assert len(_names(engine, "o'hara")) == 30
    assert _names(engine, "1520000002") == [f"Neu {i:02d} O'Hara" for i in range(20, 30)]
    assert _names(engine, "bernd") == ["Bleibt Bernd"]
    # ... and so does the pairs index of 1-2 character terms (migration 0014): new rows, the new name
    assert _names(engine, "'h") == [f"Neu {i:02d} O'Hara" for i in range(30)]
    assert _names(engine, "ta") == ["Neue Berta"] and _names(engine, "lt") == []
    assert len(_names(engine, "52")) == 30 and _names(engine, "b") == ["Bleibt Bernd", "Neue Berta"]
    # The tally behind the list header matches a real count, per status.
    with Session(engine) as session:
        for status, expected in (("active", 30), ("inactive", 2), ("all", 32)):
            assert count(session, ContactFilter(status=status)) == expected
            real = session.scalar(
                select(text("count(*)"))
                .select_from(Contact)
                .where(*(() if status == "all" else (Contact.active == (status == "active"),)))
            )
            assert real == expected
    # Row-by-row writes after the bulk load keep everything in step again (the triggers are back).
    add_contact(engine, "+4917000000099", "Später Sabine")
    assert _names(engine, "sabine") == ["Später Sabine"]
    with Session(engine) as session:
        assert count(session, ContactFilter(status="active")) == 31


def test_a_failed_bulk_write_rolls_the_indexes_back_with_it(engine: Engine) -> None:
    add_contact(engine, "+4917000000001", "Anna")
    before = _catalog(engine)
    with pytest.raises(RuntimeError), engine.begin() as conn, bulk_load.indexes_rebuilt(conn, renames=True) as taken:
        assert taken
        conn.execute(
            insert(Contact.__table__),
            {  # type: ignore[attr-defined]
                "phone": "+4917000000002",
                "messenger": "whatsapp",
                "name": "Halb",
                "name_sort": "halb",
                "first_contact_at": BASE,
                "blocked": False,
                "active": True,
                "blocked_messages": 0,
                "created_at": BASE,
                "updated_at": BASE,
            },
        )
        raise RuntimeError("the import failed halfway")
    assert _catalog(engine) == before
    assert _names(engine, "halb") == [] and _names(engine, "anna") == ["Anna"]
    with Session(engine) as session:
        assert session.scalar(select(ContactTally.n).where(ContactTally.active.is_(True))) == 1  # type: ignore[union-attr]


def test_small_imports_into_a_big_table_keep_the_indexes(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for i in range(5):
        add_contact(engine, f"+491700000000{i}", f"Kontakt {i}")
    caplog.set_level(logging.INFO, logger="storage.bulk_load")
    preview = imports.preview(
        engine, _file(tmp_path / "a.csv", ["+4915200000001;WhatsApp;Eine;aktiv"]), "a.csv", actor="t", region="DE"
    )
    imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=True)
    assert not any("bulk load" in r.getMessage() for r in caplog.records)  # 1 row: not worth a rebuild
    assert _names(engine, "eine") == ["Eine"]


def test_postgresql_waits_briefly_for_a_busy_table_then_writes_row_by_row(
    engine: Engine, tmp_path: Path, bulk: None, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite readers never block a writer's DDL (WAL snapshots)")
    monkeypatch.setattr(bulk_load, "LOCK_WAIT", "300ms")
    add_contact(engine, "+4917000000001", "Anna")
    before = _catalog(engine)
    preview = imports.preview(
        engine, _file(tmp_path / "b.csv", ["+4915200000001;WhatsApp;Berta;aktiv"]), "b.csv", actor="t", region="DE"
    )
    caplog.set_level(logging.INFO, logger="storage.bulk_load")
    with engine.connect() as reader:
        reader.execute(text("BEGIN"))
        reader.execute(text("SELECT count(*) FROM contact")).scalar()  # holds a lock DROP INDEX must wait for
        result = imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=True)
        reader.execute(text("ROLLBACK"))
    assert result.counts.created == 1
    assert any("contact was busy" in r.getMessage() for r in caplog.records)
    assert _catalog(engine) == before and _names(engine, "berta") == ["Berta"]


def test_trigram_query_asks_for_every_distinct_trigram_quoted() -> None:
    assert trigram_query("anna") == '"ann" AND "nna"'
    assert trigram_query('o"ha') == '"o""h" AND """ha"'
    assert trigram_query("aaaa") == '"aaa"'
