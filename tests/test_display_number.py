"""Issue 21, item 3: numbers are formatted once, when stored (`contact.phone_display`), not on every list render.

The migration fills the column for every contact stored before it (set-based: one sample per number prefix and
length is formatted, SQL cuts the rest), an import fills it for the contacts it creates, a number change moves it
with the number, and the list shows it. Every stored form equals phonenumbers' international format.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import Engine, select, text
from sqlmodel import Session

from bot.domain.phone import display
from storage.db import engine_for, make_engine, upgrade
from storage.models import Contact
from storage.number_change import number_change
from tests.conftest import PG_URL, RunningApp
from tests.factories import add_contact

# Numbers of several countries and lengths: German mobiles and landlines of different area-code lengths,
# a shared calling code (+1), the UK, Austria, Luxembourg's short numbers, Turkey.
NUMBERS = [
    "+4917012345678",
    "+491701234567",
    "+4930123456",
    "+49301234567",
    "+4989123456",
    "+4940123456789",
    "+12015550123",
    "+14155550199",
    "+447911123456",
    "+442071838750",
    "+436641234567",
    "+352621123456",
    "+35226123456",
    "+905321234567",
    "+4915112345678",
]


def _stored(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as conn:
        return {p: d for p, d in conn.execute(text("SELECT phone, phone_display FROM contact"))}


@pytest.mark.parametrize("kind", ["sqlite"] + (["postgresql"] if PG_URL else []))
def test_the_migration_fills_every_stored_number(kind: str, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}" if kind == "sqlite" else PG_URL
    if kind == "postgresql":  # from scratch; the schema is at the head again afterwards (tests truncate it)
        with make_engine(url).begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    upgrade(url, "0010_din5007_name_keys")
    engine = engine_for(url) if kind == "sqlite" else make_engine(url)
    try:
        with engine.begin() as conn:  # as the code before 0013 wrote them
            conn.execute(
                text(
                    "INSERT INTO contact (phone, messenger, blocked, active, blocked_messages, first_contact_at,"
                    " created_at, updated_at) VALUES (:p, 'whatsapp', false, true, 0, :t, :t, :t)"
                ),
                [{"p": p, "t": "2026-01-01 00:00:00"} for p in NUMBERS],
            )
        upgrade(url)
        assert _stored(engine) == {p: display(p) for p in NUMBERS}
    finally:
        engine.dispose()


def _run(db_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LC_"))}
    environ |= {"DATABASE_URL": db_url, "USER": "tester", "LANG": "C.UTF-8"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_an_import_stores_the_new_contacts_display_numbers(db_url: str, engine: Engine, tmp_path: Path) -> None:
    add_contact(engine, NUMBERS[0], "Schon da")  # written without the column: left alone, formatted when shown
    csv = tmp_path / "kunden.csv"
    csv.write_text("Nummer;Name\n" + "".join(f"{p};Kunde {i}\n" for i, p in enumerate(NUMBERS)), encoding="utf-8")
    done = _run(db_url, "import", str(csv), "--consent-confirmed")
    assert done.returncode == 0, done.stderr
    stored = _stored(engine)
    assert stored.pop(NUMBERS[0]) is None
    assert stored == {p: display(p) for p in NUMBERS[1:]}


def test_a_number_change_moves_the_display_number(engine: Engine) -> None:
    cid = add_contact(engine, "+4917011111111", "Max")
    with Session(engine) as session:
        assert number_change(session, "+4917011111111", "+4915112345678", "whatsapp", "test")
        session.commit()
    with Session(engine) as session:
        assert session.scalars(select(Contact.phone_display).where(Contact.id == cid)).one() == "+49 1511 2345678"


def test_the_list_shows_stored_and_unstored_numbers_alike(running_app: RunningApp) -> None:
    add_contact(running_app.engine, "+4917011111111", "Ohne Spalte")  # NULL: formatted when shown
    add_contact(running_app.engine, "+4930123456", "Mit Spalte")
    with running_app.engine.begin() as conn:
        conn.execute(text("UPDATE contact SET phone_display = '+49 30 123456' WHERE phone = '+4930123456'"))
    running_app.command("", response_url=running_app.fake.response_url("list"))
    blocks = json.dumps(running_app.fake.wait_for("response_url")[0].body["blocks"], ensure_ascii=False)
    assert "`+49 170 11111111`" in blocks and "`+49 30 123456`" in blocks
