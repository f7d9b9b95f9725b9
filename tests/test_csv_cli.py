"""`contactbot import` / `contactbot export` as real subprocesses on a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import Engine, select
from sqlmodel import Session

from storage.models import Contact
from tests.factories import add_contact

CORPUS = Path(__file__).parent / "data" / "csv"


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LC_"))}
    environ |= {"DATABASE_URL": db_url, "USER": "tester", "LANG": "C.UTF-8", **(env or {})}  # English output
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def _phones(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return sorted(c.phone for c in session.scalars(select(Contact)))


def test_dry_run_json_lists_counts_and_row_errors_and_writes_nothing(db_url: str, engine: Engine) -> None:
    result = run(db_url, "import", str(CORPUS / "excel_scientific.csv"), "--dry-run", "--json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["applied"] is False and data["counts"]["created"] == 1 and data["counts"]["rejected"] == 2
    assert data["errors"][0] == {
        "row": 2,
        "column": "Nummer",
        "code": "phone.scientific",
        "value": "4,91701E+12",
        "reason": "number destroyed by Excel (scientific notation): digits are lost",
    }
    assert _phones(engine) == []


def test_import_needs_consent_for_new_contacts(db_url: str, engine: Engine) -> None:
    refused = run(db_url, "import", str(CORPUS / "tab_delimited.csv"))
    assert refused.returncode == 3 and "--consent-confirmed" in refused.stderr
    assert _phones(engine) == []
    done = run(db_url, "import", str(CORPUS / "tab_delimited.csv"), "--consent-confirmed")
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("applied: 2 new")
    assert _phones(engine) == ["+4917066666666", "+491727777777"]
    again = run(db_url, "import", str(CORPUS / "tab_delimited.csv"), "--consent-confirmed")
    assert again.stdout.startswith("applied: 0 new, 0 changed, 2 unchanged")


def test_unreadable_file_is_one_line_on_stderr(db_url: str, engine: Engine) -> None:
    result = run(db_url, "import", str(CORPUS / "login_page.csv"), env={"CONTACTBOT_LANG": "de"})
    assert result.returncode == 1
    assert "login_page.csv kann ich nicht importieren: statt einer CSV-Datei kam eine HTML-Seite" in result.stderr
    too_big = run(db_url, "import", str(CORPUS / "duplicates.csv"), env={"CONTACTBOT_MAX_UPLOAD_BYTES": "10"})
    assert too_big.returncode == 1 and "larger than 10 B" in too_big.stderr


def test_export_with_list_filters_then_import_back_unchanged(db_url: str, engine: Engine, tmp_path: Path) -> None:
    add_contact(engine, "+4917011111111", "Anna Aktiv")
    add_contact(engine, "+4917022222222", "Ina Inaktiv", active=False)
    add_contact(engine, "+4917033333333", "Tom Telegram", messenger="telegram")
    out = tmp_path / "out.csv"
    result = run(
        db_url,
        *("export", "--status", "all", "--messenger", "WhatsApp", "--sort", "name:asc", "-o", str(out)),
        env={"LANG": "de_DE.UTF-8"},  # the header's language and delimiter follow the locale
    )
    assert result.returncode == 0, result.stderr
    lines = out.read_text("utf-8-sig").splitlines()
    assert lines[0].startswith("Nummer;Messenger;") and len(lines) == 3
    assert "Anna Aktiv" in lines[1] and "Ina Inaktiv" in lines[2]
    english = run(db_url, "export", "--search", "tom", "--lang", "en", env={"CONTACTBOT_CSV_DELIMITER": ";"})
    assert english.stdout.splitlines()[0].lstrip("\ufeff").startswith("Number;Messenger;Name")
    assert len(english.stdout.splitlines()) == 2 and "Tom Telegram" in english.stdout
    back = run(db_url, "import", str(out))
    assert back.returncode == 0 and back.stdout.startswith("applied: 0 new, 0 changed, 2 unchanged"), back.stderr
