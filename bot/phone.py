"""Phone numbers: parse to E.164, format for people, mask for logs."""

from __future__ import annotations

import re

import phonenumbers

_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_SCIENTIFIC = re.compile(r"^\s*[+-]?\d+(?:[.,]\d+)?[eE][+-]?\d+\s*$")
_DIGITS = re.compile(r"\D+")


class PhoneError(ValueError):
    """A number that cannot be a phone number; `code` is an i18n key naming why."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


def to_e164(raw: str, region: str = "DE") -> str:
    """Canonical E.164 for a number written any usual way (`0170 1234567`, `+49 (170) 123...`, `0049...`)."""
    text = (raw or "").strip()
    if not text:
        raise PhoneError("phone.empty")
    if _SCIENTIFIC.match(text):
        raise PhoneError("phone.scientific")  # Excel turned it into 4.91701E+12: digits are lost
    if _E164.match(text):
        candidate = text
    else:
        if text.startswith("00"):
            text = "+" + text[2:]
        try:
            parsed = phonenumbers.parse(text, region)
        except phonenumbers.NumberParseException:
            raise PhoneError("phone.unparsable") from None
        if not phonenumbers.is_possible_number(parsed):
            raise PhoneError("phone.impossible")
        candidate = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
    try:
        parsed = phonenumbers.parse(candidate, None)
    except phonenumbers.NumberParseException:
        raise PhoneError("phone.unparsable") from None
    if not phonenumbers.is_valid_number(parsed):
        raise PhoneError("phone.invalid")
    return candidate


def display(e164: str) -> str:
    """International format for people (`+49 170 1234567`); falls back to the stored text."""
    try:
        return phonenumbers.format_number(
            phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL
        )
    except phonenumbers.NumberParseException:
        return e164


def mask(e164: str | None) -> str:
    """For logs: never a full number (`+49******567`)."""
    if not e164:
        return "-"
    return e164[:3] + "*" * max(len(e164) - 6, 0) + e164[-3:]


def search_digits(text: str, region: str = "DE") -> str | None:
    """Digits to look for in stored numbers, or None when the text is not number-like.

    `0170 123` -> `49170123` (national prefix replaced by the country code), `+49170...` and
    `0049170...` -> `49170...`, plain digits stay as typed.
    """
    stripped = text.strip()
    if not stripped or not re.fullmatch(r"[+\d\s()./-]+", stripped):
        return None
    digits = _DIGITS.sub("", stripped)
    if not digits:
        return None
    if stripped.startswith("+"):
        return digits
    if digits.startswith("00"):
        return digits[2:]
    if digits.startswith("0") and len(digits) > 1:
        country = phonenumbers.country_code_for_region(region)
        return f"{country}{digits[1:]}" if country else digits[1:]
    return digits
