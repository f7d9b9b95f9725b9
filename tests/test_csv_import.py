"""The nasty-file corpus (tests/data/csv) through the import service on a real database."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import Session

from bot.services import imports
from storage.models import Attribute, AuditEntry, Contact, ContactAttribute, ImportRow
from tests.factories import BASE, add_contact

CORPUS = Path(__file__).parent / "data" / "csv"


def _import(engine: Engine, name: str, *, consent: bool = True) -> imports.Preview:
    preview = imports.preview(engine, str(CORPUS / name), name, actor="slack:UADMIN01", region="DE")
    return imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=consent)


def _contacts(engine: Engine) -> dict[str, Contact]:
    with Session(engine) as session:
        return {f"{c.phone}/{c.messenger}": c for c in session.scalars(select(Contact)).all()}


def _errors(preview: imports.Preview) -> list[tuple[int, str, str]]:
    return [(e["row"], e["column"], e["code"]) for e in preview.errors]


def test_german_excel_file_with_bom_crlf_and_multiline_name(engine: Engine) -> None:
    preview = imports.preview(engine, str(CORPUS / "excel_de_bom_crlf.csv"), "kunden.csv", actor="cli:t", region="DE")
    assert preview.rows == 3 and preview.counts.created == 3 and preview.counts.rejected == 0
    assert _contacts(engine) == {}  # a preview writes nothing
    imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=True)
    found = _contacts(engine)
    juergen = found["+4917011111111/whatsapp"]
    assert juergen.name == "Jürgen Weiß" and juergen.active and not juergen.blocked
    assert juergen.first_contact_at.isoformat() == "2025-03-01T10:00:00+00:00"
    assert juergen.consent_by == "slack:UADMIN01" and "kunden.csv" in (juergen.consent_source or "")
    assert juergen.consent_at is not None
    second = found["+4917022222222/telegram"]
    assert second.name == "Zeile eins\r\nZeile zwei"  # a quoted cell is kept as the file holds it (RFC 4180)
    assert second.blocked and not second.active
    assert found["+4917033333333/whatsapp"].name is None


def test_english_headers_any_case_and_order(engine: Engine) -> None:
    result = _import(engine, "english_any_order.csv")
    assert result.counts.created == 2
    found = _contacts(engine)
    assert found["+447911123456/whatsapp"].name == "Anna Smith"
    assert found["+447911123456/whatsapp"].last_chat_at.isoformat() == "2026-01-02T09:00:00+00:00"
    sms = found["+4915112345678/sms"]
    assert sms.name == "Doe, John" and sms.blocked and not sms.active


def test_windows_1252_national_numbers_and_new_attribute(engine: Engine) -> None:
    preview = imports.preview(engine, str(CORPUS / "windows1252_rufnummer.csv"), "alt.csv", actor="cli:t", region="DE")
    assert preview.new_attributes == ["Kundennummer"]
    imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=True)
    found = _contacts(engine)
    assert found["+491704444444/whatsapp"].name == "Björn Größe"
    assert found["+491715555555/whatsapp"].name == "Zoë Ärmel"
    with Session(engine) as session:
        attribute = session.scalars(select(Attribute)).one()
        values = sorted(v.value for v in session.scalars(select(ContactAttribute)).all())
    assert attribute.label_de == "Kundennummer" and values == ["K-17", "K-18"]


def test_tab_delimiter_and_00_prefix(engine: Engine) -> None:
    _import(engine, "tab_delimited.csv")
    found = _contacts(engine)
    assert set(found) == {"+4917066666666/instagram", "+491727777777/facebook"}


def test_numbers_excel_destroyed_are_row_errors_never_imported(engine: Engine) -> None:
    result = imports.preview(engine, str(CORPUS / "excel_scientific.csv"), "x.csv", actor="cli:t", region="DE")
    assert _errors(result) == [(2, "Nummer", "phone.scientific"), (3, "Nummer", "phone.scientific")]
    assert result.counts.created == 1 and result.counts.rejected == 2
    imports.apply_run(engine, result.run_id, "cli:t", consent_confirmed=True)
    assert list(_contacts(engine)) == ["+4917088888888/whatsapp"]


def test_duplicates_inside_the_file_are_reported(engine: Engine) -> None:
    result = imports.preview(engine, str(CORPUS / "duplicates.csv"), "d.csv", actor="cli:t", region="DE")
    assert _errors(result) == [(3, "Nummer", "duplicate")]
    assert result.errors[0]["value"] == "2"  # names the first row
    imports.apply_run(engine, result.run_id, "cli:t", consent_confirmed=True)
    assert _contacts(engine)["+4917012121212/whatsapp"].name == "Erste"


def test_bulk_activation_changes_only_the_active_flag(engine: Engine) -> None:
    a = add_contact(engine, "+4917011111111", "Anna", active=False, blocked=True)
    b = add_contact(engine, "+4917022222222", "Bernd", active=True)
    preview = imports.preview(engine, str(CORPUS / "bulk_activation.csv"), "b.csv", actor="cli:t", region="DE")
    c = preview.counts
    assert (c.created, c.updated, c.activated, c.deactivated) == (0, 2, 1, 1)
    imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=False)  # no new contacts: no consent needed
    found = _contacts(engine)
    anna, bernd = found["+4917011111111/whatsapp"], found["+4917022222222/whatsapp"]
    assert (anna.id, anna.active, anna.blocked, anna.name) == (a, True, True, "Anna")
    assert (bernd.id, bernd.active, bernd.name) == (b, False, "Bernd")
    assert anna.first_contact_at == BASE and anna.last_chat_at == BASE


def test_opted_out_contact_is_flagged_and_stays_inactive(engine: Engine) -> None:
    add_contact(engine, "+4917011111111", "Stop Stefan", active=False, opted_out_at=BASE)
    preview = imports.preview(engine, str(CORPUS / "bulk_activation.csv"), "b.csv", actor="cli:t", region="DE")
    assert preview.counts.opted_out == 1 and preview.counts.activated == 0
    imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=True)
    assert _contacts(engine)["+4917011111111/whatsapp"].active is False


def test_empty_cells_never_erase_and_reimport_changes_nothing(engine: Engine) -> None:
    add_contact(engine, "+4917033333333", "Schon Da", blocked=True)
    first = _import(engine, "excel_de_bom_crlf.csv")
    assert (first.counts.created, first.counts.updated, first.counts.unchanged) == (2, 0, 1)
    kept = _contacts(engine)["+4917033333333/whatsapp"]
    assert kept.name == "Schon Da" and kept.blocked
    again = _import(engine, "excel_de_bom_crlf.csv")
    assert (again.counts.created, again.counts.updated, again.counts.unchanged) == (0, 0, 3)


def test_bad_cells_are_rejected_with_row_column_and_reason(engine: Engine) -> None:
    preview = imports.preview(engine, str(CORPUS / "bad_cells.csv"), "bad.csv", actor="cli:t", region="DE")
    assert _errors(preview) == [
        (2, "Messenger", "messenger"),
        (3, "Erstkontakt", "date"),
        (4, "Blockiert", "flag"),
        (5, "Status", "status"),
        (6, "Nummer", "phone.invalid"),
    ]  # row 7 holds only delimiters (Excel writes them): skipped, not an error
    assert preview.counts.created == 1
    reasons = {e["code"]: imports.reason(e, "de") for e in preview.errors}
    assert reasons["phone.invalid"] == "keine gültige Nummer"


def test_formula_cells_come_back_as_typed(engine: Engine) -> None:
    _import(engine, "formulas.csv")
    found = _contacts(engine)
    assert found["+4917099999999/whatsapp"].name == "=SUMME(A1:A2)"
    assert found["+4917099999998/whatsapp"].name == "-minus"
    with Session(engine) as session:
        notes = sorted(v.value for v in session.scalars(select(ContactAttribute)).all())
    assert notes == ["''=doppelt", "@Chef"]


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("empty.csv", "import.error.empty"),
        ("header_only.csv", "import.error.no_rows"),
        ("no_phone_column.csv", "import.error.no_phone"),
        ("login_page.csv", "import.error.html"),
        ("binary_junk.csv", "import.error.binary"),
        ("spreadsheet.xlsx", "import.error.spreadsheet"),
        ("malformed.csv", "import.error.malformed"),
    ],
)
def test_unreadable_files_get_one_reason_and_write_nothing(engine: Engine, name: str, code: str) -> None:
    with pytest.raises(imports.FileProblem) as caught:
        imports.preview(engine, str(CORPUS / name), name, actor="cli:t", region="DE")
    assert caught.value.code == code
    with Session(engine) as session:
        assert session.scalars(select(ImportRow)).first() is None
        assert session.scalars(select(Contact)).first() is None


def test_new_contacts_need_consent_and_nothing_is_written_without(engine: Engine) -> None:
    preview = imports.preview(engine, str(CORPUS / "tab_delimited.csv"), "t.csv", actor="cli:t", region="DE")
    with pytest.raises(imports.ImportRefused) as caught:
        imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=False)
    assert caught.value.code == "import.consent_needed"
    assert _contacts(engine) == {}
    assert imports.load(engine, preview.run_id).status == "preview"  # can still be confirmed


def test_a_run_is_applied_once_and_audited(engine: Engine) -> None:
    preview = imports.preview(engine, str(CORPUS / "tab_delimited.csv"), "t.csv", actor="cli:t", region="DE")
    imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=True)
    with pytest.raises(imports.ImportRefused) as caught:
        imports.apply_run(engine, preview.run_id, "slack:UADMIN01", consent_confirmed=True)
    assert caught.value.code == "import.already"
    with Session(engine) as session:
        entries: list[Any] = list(session.scalars(select(AuditEntry).where(AuditEntry.action == "import.apply")))
        assert session.scalars(select(ImportRow)).first() is None  # staging cleaned up
    assert len(entries) == 1 and entries[0].detail["created"] == 2
    assert "+49" not in str(entries[0].detail)


def test_big_files_are_validated_on_both_cores_with_the_same_result(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The same file read in one process and split across two: the same counts, errors and contacts."""
    monkeypatch.setattr("storage.csv_import.CHUNK_ROWS", 40)
    lines = [f"0170 {i:07d};Person {i}" for i in range(150)] + ["4,91701E+12;Kaputt", "0170 0000001;Doppelt"]
    path = tmp_path / "gross.csv"
    path.write_text("Nummer;Name\n" + "\n".join(lines) + "\n", encoding="utf-8")
    assert imports._pool(str(path)) is None  # a small file: read in this process
    serial = imports.preview(engine, str(path), "gross.csv", actor="cli:t", region="DE")
    monkeypatch.setattr(imports, "POOL_FROM_BYTES", 0)  # as if the file were large
    if (os.cpu_count() or 1) >= 2:
        assert imports._pool(str(path)) is not None  # now split across worker processes
    pooled = imports.preview(engine, str(path), "gross.csv", actor="cli:t", region="DE")
    for preview in (serial, pooled):
        assert (preview.rows, preview.counts.created, preview.counts.rejected) == (152, 150, 2)
        assert _errors(preview) == [(152, "Nummer", "phone.scientific"), (153, "Nummer", "duplicate")]
    imports.apply_run(engine, pooled.run_id, "cli:t", consent_confirmed=True)
    names = {key: c.name for key, c in _contacts(engine).items()}
    assert names == {f"+49170{i:07d}/whatsapp": f"Person {i}" for i in range(150)}  # the refused rows: no trace


def test_previews_left_open_for_a_week_are_cancelled_and_their_rows_dropped(engine: Engine) -> None:
    from datetime import timedelta

    from sqlalchemy import update

    from storage.models import ImportRun

    old = imports.preview(engine, str(CORPUS / "tab_delimited.csv"), "alt.csv", actor="cli:t", region="DE")
    with engine.begin() as conn:
        conn.execute(update(ImportRun.__table__).values(created_at=BASE - timedelta(days=30)))  # type: ignore[attr-defined]
    imports.preview(engine, str(CORPUS / "duplicates.csv"), "neu.csv", actor="cli:t", region="DE")
    assert imports.load(engine, old.run_id).status == "cancelled"
    with pytest.raises(imports.ImportRefused):
        imports.apply_run(engine, old.run_id, "cli:t", consent_confirmed=True)
    with Session(engine) as session:
        assert {r.run_id for r in session.scalars(select(ImportRow))} == {old.run_id + 1}


def test_typed_attribute_values_are_checked_and_stored_canonically(engine: Engine, tmp_path: Path) -> None:
    from bot.services import attributes

    visits = attributes.create(engine, "Besuche", "Visits", "number", "test")
    member = attributes.create(engine, "Mitglied", "Member", "bool", "test")
    path = tmp_path / "typed.csv"
    path.write_text(
        "Nummer;Besuche;Mitglied\n0170 1111111;1.234,5;ja\n0170 2222222;abc;nein\n0170 3333333;7;vielleicht\n",
        encoding="utf-8",
    )
    preview = imports.preview(engine, str(path), "typed.csv", actor="cli:t", region="DE")
    assert _errors(preview) == [(3, "Besuche", "attr.not_number"), (4, "Mitglied", "attr.not_bool")]
    assert imports.reason(preview.errors[0], "de") == "keine Zahl"
    imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=True)
    with Session(engine) as session:
        stored = {(v.attribute_id, v.value) for v in session.scalars(select(ContactAttribute))}
    assert stored == {(visits.id, "1234.5"), (member.id, "1")}
