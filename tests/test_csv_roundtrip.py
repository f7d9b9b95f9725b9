"""Export writes what Excel opens correctly, and importing an export back changes nothing."""

from __future__ import annotations

import csv
import io
import random
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, delete, insert, select
from sqlmodel import Session

from bot.domain.contacts import ContactFilter, name_key
from bot.domain.csv_format import BOOL_WORDS, EXPORT_MESSENGER, STATUS_WORDS, unneutralise
from bot.domain.phone import display, export_number
from bot.services import exports, imports
from storage.models import Attribute, AuditEntry, Contact, ContactAttribute, ImportRun
from tests.factories import BASE, add_contact

MESSENGERS = ("whatsapp", "telegram", "facebook", "instagram", "sms", "webchat")
TEXT = st.text(
    alphabet=st.one_of(st.characters(blacklist_categories=("Cs", "Cc")), st.sampled_from(list("\n\t;,\"'=+-@ "))),
    max_size=40,
)
CONTACT = st.fixed_dictionaries(
    {
        "n": st.integers(0, 5000),
        "messenger": st.sampled_from(MESSENGERS),
        "name": st.one_of(st.none(), TEXT),
        "blocked": st.booleans(),
        "active": st.booleans(),
        "opted_out": st.booleans(),
        "note": st.one_of(st.none(), TEXT),
    }
)


def phone_for(n: int) -> str:
    return f"+49170{n:07d}"  # valid German mobile numbers


def _snapshot(engine: Engine) -> list[tuple[Any, ...]]:
    with Session(engine) as session:
        rows = [
            tuple(getattr(c, k) for k in Contact.model_fields)
            for c in session.scalars(select(Contact).order_by(Contact.id))
        ]
        values = [(v.contact_id, v.attribute_id, v.value) for v in session.scalars(select(ContactAttribute))]
    return rows + sorted(values)


def _reset(engine: Engine) -> None:
    with engine.begin() as conn:
        for model in (ContactAttribute, ImportRun, AuditEntry, Contact, Attribute):
            conn.execute(delete(model.__table__))  # type: ignore[attr-defined]


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    people=st.lists(CONTACT, max_size=12, unique_by=lambda c: (c["n"], c["messenger"])),
    lang=st.sampled_from(["de", "en"]),
)
def test_export_then_import_is_a_no_op(engine: Engine, tmp_path: Path, people: list[dict[str, Any]], lang: str) -> None:
    _reset(engine)
    with engine.begin() as conn:
        aid = conn.execute(
            insert(Attribute.__table__).returning(Attribute.__table__.c.id),
            {  # type: ignore[attr-defined]
                "key": "notiz",
                "label_de": "Notiz",
                "label_en": "Note",
                "type": "text",
                "created_at": BASE,
            },
        ).scalar_one()
    for p in people:
        cid = add_contact(
            engine,
            phone_for(p["n"]),
            p["name"],
            messenger=p["messenger"],
            blocked=p["blocked"],
            active=p["active"],
            opted_out_at=BASE if p["opted_out"] else None,
        )
        if p["note"]:
            with engine.begin() as conn:
                conn.execute(
                    insert(ContactAttribute.__table__),  # type: ignore[attr-defined]
                    {"contact_id": cid, "attribute_id": aid, "value": p["note"]},
                )
    before = _snapshot(engine)
    out = tmp_path / f"export-{lang}.csv"
    result = exports.export(
        engine, ContactFilter(status="all"), lang=lang, delimiter=exports.delimiter_for(lang), path=str(out)
    )
    assert result.count == len(people)
    if not people:
        return
    preview = imports.preview(engine, str(out), out.name, actor="cli:t", region="DE")
    c = preview.counts
    assert (c.created, c.updated, c.rejected, c.unchanged) == (0, 0, 0, len(people)), preview.errors
    assert preview.new_attributes == []
    imports.apply_run(engine, preview.run_id, "cli:t", consent_confirmed=False)
    assert _snapshot(engine) == before


def test_export_opens_in_german_excel_and_neutralises_formulas(engine: Engine, tmp_path: Path) -> None:
    add_contact(engine, "+4917012345678", '=HYPERLINK("http://evil")', last_chat_at=BASE)
    add_contact(engine, "+4917012345679", 'Jürgen; "Jo" Weiß', blocked=True, active=False)
    out = tmp_path / "k.csv"
    result = exports.export(engine, ContactFilter(status="all"), lang="de", delimiter=";", path=str(out))
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf") and result.count == 2
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig")), delimiter=";"))
    headers = ["Nummer", "Messenger", "Name", "Erstkontakt (UTC)", "Letzter Chat (UTC)", "Blockiert", "Status"]
    assert rows[0] == headers  # the times are UTC, and the header says so
    assert {r[0] for r in rows[1:]} == {"+49 170 12345678", "+49 170 12345679"}  # text to Excel, not 4,917E+12
    by_phone = {r[0].replace(" ", ""): r for r in rows[1:]}
    assert by_phone["+4917012345678"][2] == '\'=HYPERLINK("http://evil")'  # a phone number stays as it is
    assert by_phone["+4917012345679"][2:] == [
        'Jürgen; "Jo" Weiß',
        "2026-01-01 09:00:00",
        "2026-01-01 09:00:00",
        "ja",
        "inaktiv",
    ]


def test_export_is_exactly_the_filtered_list_in_english(engine: Engine, tmp_path: Path) -> None:
    add_contact(engine, "+4917011111111", "Active Anna", last_chat_at=BASE)
    add_contact(engine, "+4917022222222", "Sleeping Sam", active=False)
    add_contact(engine, "+4917033333333", "Telegram Tom", messenger="telegram")
    out = tmp_path / "e.csv"
    result = exports.export(
        engine,
        ContactFilter(status="active", messenger="whatsapp"),
        lang="en",
        delimiter=",",
        path=str(out),
        keys=["name", "status"],
    )
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"))))
    assert result.count == 1
    header = ["Number", "Messenger", "Name", "Status"]
    assert rows == [header, ["+49 170 11111111", "WhatsApp", "Active Anna", "active"]]
    assert name_key("Active Anna") == "active anna"


@pytest.mark.parametrize("lang", ["de", "en"])
def test_formula_guard_is_the_same_whichever_database_writes_the_file(
    engine: Engine, tmp_path: Path, lang: str
) -> None:
    """PostgreSQL formats the rows itself (COPY), SQLite rows go through Python: the same cells either way.

    The expected cells are written out here, not computed by the exporter's own helper: a cell a spreadsheet
    would run as a formula (first character = + - @ tab CR) gets one leading `'`, a plain number `+<digits>`
    stays as it is, and a cell that already looks guarded gets one more `'`, so the import can undo exactly one
    (https://owasp.org/www-community/attacks/CSV_Injection).
    """
    cells = [
        ("=1+2", "'=1+2"),
        ("+4917012345678", "+4917012345678"),  # a plain phone number stays a number
        ("+49 170 123", "'+49 170 123"),
        ("-minus", "'-minus"),
        ("@at", "'@at"),
        ("'=schon", "''=schon"),
        ("''+zwei", "'''+zwei"),
        ("\tTab", "'\tTab"),
        ("'normal", "'normal"),  # a quote before a letter is nothing a spreadsheet would run
        ('Jürgen; "Jo"', 'Jürgen; "Jo"'),
        ("Zeile\neins", "Zeile\neins"),
        ("ok", "ok"),
        ("+4917012345678\n", "'+4917012345678\n"),  # not the whole cell a number
        ("+١٢٣٤٥٦٧٨٩", "'+١٢٣٤٥٦٧٨٩"),  # Arabic-Indic digits are no plain number
    ]
    names = [name for name, _ in cells]
    for i, name in enumerate(names):
        add_contact(
            engine,
            f"+49170000000{i:02d}",
            name,
            blocked=i % 2 == 0,
            active=i % 3 != 0,
            messenger=("whatsapp", "telegram", "sms")[i % 3],
        )
    out = tmp_path / "f.csv"
    delimiter = exports.delimiter_for(lang)
    exports.export(engine, ContactFilter(status="all"), lang=lang, delimiter=delimiter, path=str(out))
    rows = list(csv.reader(io.StringIO(out.read_text("utf-8-sig"), newline=""), delimiter=delimiter))
    by_phone = {r[0].replace(" ", ""): r for r in rows[1:]}
    assert all(r[0].startswith("+49 170 ") for r in rows[1:])  # COPY's rows too, also after a multi-line cell
    yes, no = BOOL_WORDS[lang]
    on, off = STATUS_WORDS[lang]
    for i, name in enumerate(names):
        row = by_phone[f"+49170000000{i:02d}"]
        assert row[1] == EXPORT_MESSENGER[("whatsapp", "telegram", "sms")[i % 3]]
        assert row[2] == cells[i][1] and unneutralise(row[2]) == name
        assert row[5:] == [yes if i % 2 == 0 else no, on if i % 3 != 0 else off]


def test_export_numbers_are_the_international_format_of_phonenumbers() -> None:
    """The fast formatter (grouping cached per prefix) writes exactly what phonenumbers would."""
    rng = random.Random(7)
    prefixes = ["49151", "49170", "49176", "4930", "4989", "496221", "4933203", "43664", "431", "4179", "4144"]
    prefixes += ["1650", "1212", "336", "331", "90532", "447700", "4420", "393", "316", "312", "48601"]
    for prefix in prefixes:
        for _ in range(200):
            number = "+" + prefix + "".join(rng.choice("0123456789") for _ in range(rng.randint(5, 9)))
            assert export_number(number) == display(number), number
