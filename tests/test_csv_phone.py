"""The bulk import's fast path for canonical numbers gives phonenumbers' own verdict, only faster."""

from __future__ import annotations

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.domain.phone import PhoneError, to_e164, to_e164_many

CODES = [49, 43, 41, 33, 39, 31, 48, 90, 34, 30, 420, 352, 44, 1, 7, 380, 61, 55, 972]


@settings(max_examples=400, deadline=None)
@given(code=st.sampled_from(CODES), national=st.from_regex(r"[1-9][0-9]{3,12}", fullmatch=True))
def test_canonical_numbers_are_judged_like_phonenumbers(code: int, national: str) -> None:
    number = f"+{code}{national}"[:16]
    expected = phonenumbers.is_valid_number(phonenumbers.parse(number, None))
    try:
        assert to_e164(number) == number and expected
    except PhoneError as exc:
        assert not expected and exc.code in ("phone.invalid", "phone.impossible", "phone.unparsable")


def test_bulk_form_marks_errors_instead_of_raising() -> None:
    assert to_e164_many(["+4917012345678", "0170 1234567", "4,91701E+12", ""], "DE") == [
        "+4917012345678",
        "+491701234567",
        "!phone.scientific",
        "!phone.empty",
    ]
