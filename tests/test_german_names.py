"""German names sort by DIN 5007 and are found however they are spelled, on SQLite and PostgreSQL alike."""

from __future__ import annotations

import json

from sqlmodel import Session

from bot.domain.contacts import ContactFilter, PageRequest, name_key, search_keys
from storage import contacts as store
from storage.db import Engine
from tests.factories import add_contact
from tests.test_cli import run

PEOPLE = ["Zeynep Kaya", "Özlem Yılmaz", "Otto Ober", "Paul Peters", "Jürgen Müller", "Klaus Mueller", "Max Muller"]
PEOPLE += ["Heinz Straße", "Ute Strasse", "Ärger Ärna", "anton", "Bertha", "José Álvarez", "éclair"]


def _names(engine: Engine, search: str | None = None, desc: bool = False) -> list[str]:
    with Session(engine) as session:
        page = store.list_page(
            session, ContactFilter(status="all", search=search), PageRequest(sort="name", desc=desc, limit=40)
        )
    return [c.name or "" for c in page.rows]


def _add_people(engine: Engine) -> None:
    for i, name in enumerate(PEOPLE):
        add_contact(engine, f"+4917055500{i:03d}", name)


def test_din_5007_keys() -> None:
    assert name_key("Özlem") == "ozlem" and name_key("STRAßE") == name_key("Strasse") == "strasse"
    assert name_key("  José ") == "jose" and name_key("") is None and name_key("Дмитрий") == "дмитрий"
    assert set(search_keys("Mueller")) == set(search_keys("müller")) == {"mueller", "muller"}


def test_names_sort_by_din_5007_on_both_databases(engine: Engine) -> None:
    _add_people(engine)
    assert _names(engine) == [
        "anton",
        "Ärger Ärna",  # Ä with A, case-insensitive
        "Bertha",
        "éclair",
        "Heinz Straße",  # ß as ss
        "José Álvarez",
        "Jürgen Müller",
        "Klaus Mueller",
        "Max Muller",
        "Otto Ober",
        "Özlem Yılmaz",  # with O: after Otto, long before Zeynep
        "Paul Peters",
        "Ute Strasse",
        "Zeynep Kaya",
    ]
    assert _names(engine, desc=True)[:2] == ["Zeynep Kaya", "Ute Strasse"]


def test_search_treats_umlauts_and_their_spellings_alike(engine: Engine) -> None:
    _add_people(engine)
    # The key holds ü as u (DIN 5007 variant 1, as the list sorts), so "Muller" is found too.
    every = {"Jürgen Müller", "Klaus Mueller", "Max Muller"}
    assert set(_names(engine, "mueller")) == set(_names(engine, "MÜLLER")) == every
    assert set(_names(engine, "muller")) == {"Jürgen Müller", "Max Muller"}  # u alone is not ue
    assert set(_names(engine, "strasse")) == set(_names(engine, "Straße")) == {"Heinz Straße", "Ute Strasse"}
    assert set(_names(engine, "özlem")) == set(_names(engine, "oezlem")) == {"Özlem Yılmaz"}
    assert set(_names(engine, "alvarez")) == {"José Álvarez"}


def test_the_command_line_sorts_and_searches_the_same_way(db_url: str, engine: Engine) -> None:
    _add_people(engine)
    listed = run(db_url, "contacts", "list", "--status", "all", "--sort", "name", "--limit", "40", "--json")
    names = [c["name"] for c in json.loads(listed.stdout)["contacts"]]
    assert names.index("Özlem Yılmaz") == names.index("Otto Ober") + 1 and names[-1] == "Zeynep Kaya"
    found = run(db_url, "contacts", "list", "--status", "all", "--search", "mueller")
    assert found.returncode == 0 and "3 of 3 contacts" in found.stdout, found.stdout


def test_the_migration_rekeys_names_stored_before_it(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from sqlalchemy import text

    from storage.db import engine_for, upgrade

    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0005_staging_without_fk")
    engine = engine_for(url)
    with engine.begin() as conn:  # as the code before DIN 5007 wrote them: the case-folded name
        for i, name in enumerate(["Zeynep Kaya", "Özlem Yılmaz", "Otto Ober"]):
            conn.execute(
                text(
                    "INSERT INTO contact (phone, messenger, name, name_sort, blocked, active, blocked_messages,"
                    " first_contact_at, created_at, updated_at) VALUES (:p, 'whatsapp', :n, :k, 0, 1, 0, :t, :t, :t)"
                ),
                {"p": f"+491705550{i:04d}", "n": name, "k": name.casefold(), "t": "2026-01-01 00:00:00"},
            )
    upgrade(url)
    assert _names(engine) == ["Otto Ober", "Özlem Yılmaz", "Zeynep Kaya"]
    assert _names(engine, "oezlem") == ["Özlem Yılmaz"]  # the search index followed the new key
    engine.dispose()
