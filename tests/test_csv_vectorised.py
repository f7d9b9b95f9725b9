"""The column-at-a-time validation (issue 21) is the row loop, only faster: same verdicts, numbers, values, errors.

The import stages what `validate_columns` returns; `validate_chunk` is the row-by-row reference it must equal
for every file. The rows are generated from the cells real files hold: German, Mexican and Brazilian numbers
written every usual way, umlauts and other marks in names, exported and German dates, cell words, and bad cells.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.domain.csv_format import stamp
from bot.domain.csv_rows import AttributeColumn, ColumnMap, phone_numbers, validate_chunk, validate_columns
from bot.domain.phone import canonical_many, to_e164, to_e164_bulk, to_e164_many

digits = st.text(alphabet="0123456789", min_size=1, max_size=12)


@st.composite
def german(draw: st.DrawFn) -> str:
    prefix = draw(st.sampled_from(["15", "151", "160", "170", "176", "179", "1521", "30", "89", "221", "40", "0"]))
    rest = draw(st.text(alphabet="0123456789", min_size=5, max_size=9))
    form = draw(st.sampled_from(["+49{}{}", "0{}{}", "0049{}{}", "+49 {} {}", "0{} {}", "+49 ({}) {}", "+49-{}-{}"]))
    return form.format(prefix, rest)


@st.composite
def mexican(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["55", "33", "81", "1 55", "222", "999"]))
    rest = draw(st.text(alphabet="0123456789", min_size=6, max_size=9))
    return draw(st.sampled_from(["+52{}{}", "+52 {} {}", "0052{}{}"])).format(area, rest)


@st.composite
def brazilian(draw: st.DrawFn) -> str:
    area = draw(st.sampled_from(["11", "21", "61", "85", "0"]))
    rest = draw(st.sampled_from(["9", "8", "3", ""])) + draw(st.text(alphabet="0123456789", min_size=6, max_size=8))
    return draw(st.sampled_from(["+55{}{}", "+55 {} {}", "+55 ({}) {}-"])).format(area, rest)


odd_numbers = st.one_of(
    st.just(""),
    st.just("   "),
    st.builds(lambda d: "+" + d, st.text(alphabet="0123456789", min_size=0, max_size=17)),
    digits,
    st.sampled_from(
        ["4,91701E+12", "4.91701E+12", "+49 170 12\n34567", "+４９１７０１２３４５６７", "+49170abc", "+0170"]
    ),
    st.sampled_from(["+12025550123", "+442071838750", "+79123456789", "+4915212345678", "+491521234567"]),
    st.text(max_size=8),
    st.builds(  # canonical numbers of other calling codes, some with a national 0 kept (Italy) or stripped
        "+{}{}".format,
        st.sampled_from([49, 52, 55, 39, 43, 41, 33, 44, 1, 7, 380, 972, 420, 225, 590]),
        st.text(alphabet="0123456789", min_size=4, max_size=13),
    ),
)
numbers = st.one_of(german(), mexican(), brazilian(), odd_numbers).flatmap(
    lambda n: st.sampled_from([n, f" {n} ", f"'{n}", f"\t{n}"])
)
names = st.one_of(
    st.sampled_from(["Jürgen Müller", "ÖZLEM YILMAZ", "Straße", "Ærø", "Zoë", "Ångström", "Ǆemal", "ﬁne", "İpek"]),
    st.text(alphabet="abcdefghijklmnopqrstuvwxyzäöüßÄÖÜ ÉéèçñŁł'=+- \u00a0\u3000", max_size=12),
    st.just("A" * 201),
    st.just(" " + "ä" * 200),
    st.text(max_size=6),
)
dates = st.one_of(
    st.sampled_from(
        [
            "",
            " ",
            "2025-01-01 10:00:00",
            "2024-02-29 23:59:59",
            "2023-02-29 10:00:00",
            "2025-04-31 10:00:00",
            "0000-01-01 00:00:00",
            "2025-13-01 00:00:00",
            "2025-01-01 24:00:00",
            "2025-01-01T10:00:00",
            "2025-01-01 10:00",
            "31.12.2025",
            "31.12.25 10:00",
            "12/31/2025",
            "2025-01-01 10:00:00Z",
            "2025-01-01 10:00:00+02:00",
            "morgen",
        ]
    ),
    st.builds(
        "{:04d}-{:02d}-{:02d} {:02d}:{:02d}:{:02d}".format,
        st.integers(0, 9999),
        st.integers(0, 13),
        st.integers(0, 32),
        st.integers(0, 25),
        st.integers(0, 60),
        st.integers(0, 60),
    ),
    st.text(alphabet="0123456789-: .T", max_size=20),
)
words = st.sampled_from(["", "ja", "nein", "Ja ", "aktiv", "inaktiv", "1", "0", "x", "yes", "vielleicht", " ", "AKTIV"])
messengers = st.sampled_from(["", "WhatsApp", "whatsapp ", "Telegram", "SMS", "Facebook Messenger", "fax", "Web_Chat"])
attribute_cells = st.one_of(
    st.sampled_from(["", " ", "12", "1.234,5", "abc", "ja", "nein", "2025-01-31", "31.01.2025", "Gold", "gold"]),
    st.text(max_size=6),
    st.just("x" * 1001),
)
OPTIONAL = ("messenger", "name", "first_contact", "last_chat", "blocked", "status", "activated")
CELLS = {
    "messenger": messengers,
    "name": names,
    "first_contact": dates,
    "last_chat": dates,
    "blocked": words,
    "status": words,
    "activated": words,
}
ATTRIBUTES = [
    AttributeColumn(0, "Notiz", "notiz", None),
    AttributeColumn(0, "Besuche", "besuche", 1, "number"),
    AttributeColumn(0, "Geburtstag", "geburtstag", 2, "date"),
    AttributeColumn(0, "Newsletter", "newsletter", 3, "bool"),
    AttributeColumn(0, "Stufe", "stufe", 4, "choice", ("Gold", "Silber")),
]


@st.composite
def chunks(draw: st.DrawFn) -> tuple[list[list[str]], ColumnMap]:
    fields = ["phone", *draw(st.lists(st.sampled_from(OPTIONAL), unique=True))]
    fields = draw(st.permutations(fields))
    attrs = draw(st.lists(st.sampled_from(ATTRIBUTES), unique_by=lambda a: a.key, max_size=3))
    rows = draw(st.integers(1, 90))
    strategies = [numbers if f == "phone" else CELLS[f] for f in fields] + [attribute_cells] * len(attrs)
    columns = [draw(st.lists(s, min_size=rows, max_size=rows)) for s in strategies]
    if draw(st.booleans()):  # a row of only delimiters, as Excel writes them
        for column in columns:
            column[draw(st.integers(0, rows - 1))] = ""
    headers = [f.title() for f in fields] + [a.header for a in attrs]
    placed = [
        AttributeColumn(len(fields) + k, a.header, a.key, a.attribute_id, a.type, a.choices)
        for k, a in enumerate(attrs)
    ]
    return columns, ColumnMap({f: k for k, f in enumerate(fields)}, placed, headers)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(chunk=chunks(), first_row=st.integers(2, 10**6))
def test_columns_give_the_rows_verdicts(chunk: tuple[list[list[str]], ColumnMap], first_row: int) -> None:
    columns, cols = chunk
    numbers_in = phone_numbers(columns, cols)
    good, bad = validate_chunk(columns, cols, 7, first_row, to_e164_many(numbers_in, "DE"))
    fast = validate_columns(columns, cols, 7, first_row, to_e164_bulk(numbers_in, "DE"))
    assert fast.rows(7) == good
    assert [tuple(map(type, r)) for r in fast.rows(7)] == [tuple(map(type, r)) for r in good]  # True, not 1
    assert fast.bad == bad


@settings(max_examples=300, deadline=None)
@given(values=st.lists(numbers, min_size=1, max_size=60), region=st.sampled_from(["DE", "MX", "BR"]))
def test_bulk_numbers_equal_phonenumbers_verdicts(values: list[str], region: str) -> None:
    assert to_e164_bulk(values, region) == to_e164_many(values, region)
    for value, quick in zip(values, canonical_many(values), strict=True):
        if quick is not None:  # what the regex accepts, to_e164 returns unchanged
            assert to_e164(value, region) == quick


@settings(max_examples=100, deadline=None)
@given(cells=st.lists(dates, min_size=64, max_size=200, unique=True), first_row=st.integers(2, 100))
def test_dates_through_the_column_regex_equal_stamp(cells: list[str], first_row: int) -> None:
    """64 distinct dates or more take the joined-column regex; the rows must still read as `stamp` reads them."""
    columns = [["+4917012345678"] * len(cells), cells]
    cols = ColumnMap({"phone": 0, "last_chat": 1}, [], ["Nummer", "Letzter Chat"])
    fast = validate_columns(columns, cols, 1, first_row, ["+4917012345678"] * len(cells))
    good, bad = validate_chunk(columns, cols, 1, first_row, ["+4917012345678"] * len(cells))
    assert (fast.rows(1), fast.bad) == (good, bad)
    assert [r[9] for r in good] == [stamp(c.strip()) for c in cells if stamp(c.strip()) is not None or not c.strip()]


def test_a_wide_german_chunk_is_decided_by_the_regex_alone() -> None:
    """The benchmark's shape: valid canonical mobile numbers never reach phonenumbers."""
    values = [f"+49170{i:07d}" for i in range(1000)]
    assert canonical_many(values) == values
