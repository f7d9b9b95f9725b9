"""The export opened by a real spreadsheet engine: LibreOffice Calc, headless, reading the file as German Excel
does (German locale, `;`, special numbers detected), then saving it again. The numbers must survive as text and
the saved file must import back without a change. Skipped where LibreOffice is not installed."""

from __future__ import annotations

import csv
import shutil
import subprocess
from pathlib import Path

import pytest

from bot.domain.contacts import ContactFilter
from bot.services import exports, imports
from storage.db import Engine
from tests.factories import BASE, add_contact

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None, reason="LibreOffice is not installed (apt-get install libreoffice-calc-nogui)"
)
# CSV filter options: `;` (59), `"` (34), UTF-8 (76), from line 1, no column types, German (1031), quoted fields
# not forced to text, detect special numbers: like German Excel opening a .csv with a double click.
# https://help.libreoffice.org/latest/en-US/text/shared/guide/csv_params.html
READ_AS_EXCEL = "CSV:59,34,76,1,,1031,false,true"
WRITE_CSV = "csv:Text - txt - csv (StarCalc):59,34,76,1"


def through_calc(path: Path, tmp_path: Path) -> list[list[str]]:
    """Open `path` in Calc and save it as CSV again; the cells as Calc shows them."""
    out_dir = tmp_path / "calc"
    subprocess.run(
        [
            str(SOFFICE),
            f"-env:UserInstallation=file://{tmp_path / 'lo-profile'}",  # its own profile: tests may run in parallel
            "--headless",
            f"--infilter={READ_AS_EXCEL}",
            "--convert-to",
            WRITE_CSV,
            "--outdir",
            str(out_dir),
            str(path),
        ],
        check=True,
        capture_output=True,
        timeout=300,
    )
    saved = out_dir / path.name
    return list(csv.reader(saved.read_text("utf-8-sig").splitlines(), delimiter=";"))


def test_calc_keeps_exported_numbers_as_text_and_the_file_imports_back(engine: Engine, tmp_path: Path) -> None:
    add_contact(engine, "+491737280285", "Özlem Yılmaz", last_chat_at=BASE)
    add_contact(engine, "+436641234567", "Jürgen Müller")
    add_contact(engine, "+41791234567", "Anna Weiß", blocked=True)
    out = tmp_path / "kontakte.csv"
    exports.export(engine, ContactFilter(status="all"), lang="de", delimiter=";", path=str(out))
    rows = through_calc(out, tmp_path)
    assert rows[0][:5] == ["Nummer", "Messenger", "Name", "Erstkontakt (UTC)", "Letzter Chat (UTC)"]
    assert {r[0] for r in rows[1:]} == {"+49 173 7280285", "+43 664 1234567", "+41 79 123 45 67"}
    assert {r[2] for r in rows[1:]} == {"Özlem Yılmaz", "Jürgen Müller", "Anna Weiß"}
    saved = tmp_path / "saved.csv"
    saved.write_text("\n".join(";".join(r) for r in rows) + "\n", encoding="utf-8")
    preview = imports.preview(engine, str(saved), saved.name, actor="cli:t", region="DE")
    c = preview.counts
    assert (c.created, c.updated, c.rejected, c.unchanged) == (0, 0, 0, 3), preview.errors


def test_the_engine_is_strict_enough_to_catch_the_old_format(tmp_path: Path) -> None:
    """Without spaces Calc (like Excel) takes a number for a number: the damage the importer rejects."""
    old = tmp_path / "alt.csv"
    old.write_text("Nummer;Name\n+491737280285;Özlem\n", encoding="utf-8")
    [_, [number, _name]] = through_calc(old, tmp_path)
    assert number != "+491737280285"  # e.g. 491737280285 or 4,91737E+11
