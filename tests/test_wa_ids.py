"""The forms of one WhatsApp account's number (bot/domain/wa_ids.py): a table per country."""

from __future__ import annotations

import pytest

from bot.domain.wa_ids import digits, equivalent_forms
from tests.fakes.graph_api import wa_id_for

TABLE = [
    # Mexico: +52 + 10 digits is the number, 521 + 10 digits what WhatsApp often reports
    ("+525512345678", ("+525512345678", "+5215512345678")),
    ("+5215512345678", ("+5215512345678", "+525512345678")),
    ("5215512345678", ("+5215512345678", "+525512345678")),
    # Brazil: mobiles with and without the ninth digit (9 after the two-digit area code)
    ("+5511987654321", ("+5511987654321", "+551187654321")),
    ("+551187654321", ("+551187654321", "+5511987654321")),
    ("+552198765432", ("+552198765432", "+5521998765432")),
    # Brazil landlines (8 digits starting 2-5) have no ninth digit
    ("+551132345678", ("+551132345678",)),
    # Argentina: 54 9 + 10 digits (mobile, international) and 54 + 10 digits
    ("+541112345678", ("+541112345678", "+5491112345678")),
    ("+5491112345678", ("+5491112345678", "+541112345678")),
    # Everyone else: one form
    ("+4917612345678", ("+4917612345678",)),
    ("+16505551234", ("+16505551234",)),
    ("not a number", ()),
]


@pytest.mark.parametrize(("number", "forms"), TABLE)
def test_equivalent_forms(number: str, forms: tuple[str, ...]) -> None:
    assert equivalent_forms(number) == forms


@pytest.mark.parametrize(
    "number", ["+525512345678", "+5511987654321", "+541112345678", "+4917612345678", "+16505551234"]
)
def test_the_wa_id_the_fake_answers_is_always_one_of_the_forms(number: str) -> None:
    """The fake answers like Meta; whatever it answers, matching must find the same person."""
    assert "+" + wa_id_for(number) in equivalent_forms(number)
    assert digits("+" + wa_id_for(number)) == wa_id_for(number)
