"""Phone numbers: parse to E.164, format for people, mask for logs."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable, Sequence
from functools import lru_cache

import phonenumbers
from phonenumbers.phonemetadata import PhoneMetadata

_E164 = re.compile(r"^\+[1-9][0-9]{6,14}$")  # ASCII digits: `\d` also matches "０" and "٣"
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
    canonical = _E164.match(text)
    if not canonical and _SCIENTIFIC.match(text):
        raise PhoneError("phone.scientific")  # Excel turned it into 4.91701E+12: digits are lost
    if canonical:
        fast = _fast_valid(text)
        if fast is not None:  # canonical input: one regex instead of a 17 µs parse (bulk imports)
            if not fast:
                raise PhoneError("phone.invalid")
            return text
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


_TYPES = (
    "mobile",
    "fixed_line",
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
)  # any match means valid; most numbers are mobile


def _desc_regex(desc: object) -> str | None:
    pattern = getattr(desc, "national_number_pattern", None)
    if not pattern:
        return None
    lengths = sorted({n for n in (getattr(desc, "possible_length", None) or ()) if n > 0})
    runs: list[list[int]] = []  # 4,5,...,15 as one `\d{4,15}`: the regex engine tries one branch, not twelve
    for n in lengths:
        if runs and runs[-1][1] == n - 1:
            runs[-1][1] = n
        else:
            runs.append([n, n])
    sizes = "|".join(f"\\d{{{a}}}" if a == b else f"\\d{{{a},{b}}}" for a, b in runs)
    guard = f"(?=(?:{sizes})$)" if lengths else ""
    return f"{guard}(?:{pattern})"


@lru_cache(maxsize=512)
def _validator(country_code: int) -> tuple[Callable[[str], object], Callable[[str], object] | None] | None:
    """One compiled regex equal to phonenumbers' is_valid_number for a single-region calling code."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code)
    if not regions or len(regions) != 1:
        return None  # shared codes (+1, +7, +44, ...) need phonenumbers' region lookup
    metadata = PhoneMetadata.metadata_for_region_or_calling_code(country_code, regions[0])
    if metadata is None:
        return None
    general = _desc_regex(metadata.general_desc)
    types = [r for r in (_desc_regex(getattr(metadata, name, None)) for name in _TYPES) if r]
    if general is None or not types:
        return None
    prefix = metadata.national_prefix_for_parsing  # parse() strips these (carrier codes) even after +cc
    return (re.compile(f"(?={general}$)(?:{'|'.join(types)})").fullmatch, re.compile(prefix).match if prefix else None)


@lru_cache(maxsize=1024)
def _calling_code(first_digits: str) -> tuple[int, int] | None:
    """(calling code, its length) for the first three digits of a canonical number."""
    for size in (1, 2, 3):
        code = int(first_digits[:size])
        if code in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return code, size
    return None


def _fast_valid(e164: str) -> bool | None:
    """Validity of a canonical `+<cc><nsn>` without parsing; None when only phonenumbers can tell."""
    found_code = _calling_code(e164[1:4])
    if found_code is None:
        return False
    national = e164[1 + found_code[1] :]
    found = _validator(found_code[0])
    if found is None or national.startswith("0") or (found[1] and found[1](national)):
        return None
    return found[0](national) is not None


def to_e164_many(values: Sequence[str], region: str = "DE") -> list[str]:
    """Bulk form of `to_e164` (picklable for a process pool): the number, or `!<error code>`."""
    out: list[str] = []
    for value in values:
        try:
            out.append(to_e164(value, region))
        except PhoneError as exc:
            out.append("!" + exc.code)
    return out


# --- bulk: canonical numbers decided by one regex pass over a whole column -----------------------------------
# A CSV column of a million `+49...` numbers through `to_e164` is a million Python calls. Instead the column is
# joined into one text and one compiled regex (per set of calling codes present) marks every line that
# `_fast_valid` would accept; only the other lines (formatted, national, shared calling codes, invalid) go to
# `to_e164`, once per distinct value. The regex is built from the same pieces as `_validator`, with `re.ASCII`
# (the canonical check admits ASCII digits only) and the `_E164` shape, the leading-zero and the
# national-prefix-for-parsing exclusions written as lookaheads, so a line it accepts is exactly one that
# `to_e164` returns unchanged (tests/test_csv_vectorised.py checks it against `to_e164` on generated numbers).
_PREFIX_DIGITS = 3  # calling codes have 1-3 digits
_HEAD = operator.itemgetter(slice(0, 1 + _PREFIX_DIGITS))


@lru_cache(maxsize=64)
def _bulk_regex(codes: frozenset[int]) -> re.Pattern[str] | None:
    branches = []
    for code in sorted(codes):
        regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(code)
        metadata = (
            PhoneMetadata.metadata_for_region_or_calling_code(code, regions[0])
            if regions and len(regions) == 1
            else None
        )
        if metadata is None or _validator(code) is None:
            continue
        general = _desc_regex(metadata.general_desc)
        types = [r for r in (_desc_regex(getattr(metadata, name, None)) for name in _TYPES) if r]
        prefix = metadata.national_prefix_for_parsing
        exclude = f"(?!(?:{prefix}))" if prefix else ""
        branches.append(f"{code}(?!0){exclude}(?={general}$)(?:{'|'.join(types)})")
    if not branches:
        return None
    return re.compile(f"^\\+(?=[1-9][0-9]{{6,14}}$)(?:{'|'.join(branches)})$", re.MULTILINE | re.ASCII)


def canonical_many(values: Sequence[str]) -> list[str | None]:
    """`to_e164(v)` for every value the bulk regex can decide (valid canonical numbers), else None.

    A None is not a verdict: the caller asks `to_e164` for those (`to_e164_bulk`).
    """
    stripped = list(map(str.strip, values))
    if "\n" in "".join(stripped):  # a quoted cell with a line break: keep such lines out of the joined text
        stripped = ["" if "\n" in s else s for s in stripped]
    codes: set[int] = set()
    for head in set(map(_HEAD, stripped)):  # distinct "+ddd" starts; the regex itself checks every line
        digits = head[1:]
        if head[:1] == "+" and len(digits) == _PREFIX_DIGITS and digits.isdigit() and digits.isascii():
            found = _calling_code(digits)
            if found is not None:
                codes.add(found[0])
    pattern = _bulk_regex(frozenset(codes)) if codes else None
    if pattern is None:
        return [None] * len(stripped)
    marked = pattern.sub("", "\n".join(stripped)).split("\n")
    return [s if s and not m else None for s, m in zip(stripped, marked, strict=True)]


def to_e164_bulk(values: Sequence[str], region: str = "DE") -> list[str]:
    """Equal to `to_e164_many(values, region)`: the bulk regex first, `to_e164` once per other distinct value."""
    out = canonical_many(values)
    if None not in out:
        return out  # type: ignore[return-value]  # no None left
    distinct = list({v for v, p in zip(values, out, strict=True) if p is None})
    known = dict(zip(distinct, to_e164_many(distinct, region), strict=True))
    return [p if p is not None else known[v] for v, p in zip(values, out, strict=True)]


def display(e164: str) -> str:
    """International format for people (`+49 170 1234567`); falls back to the stored text."""
    try:
        return phonenumbers.format_number(phonenumbers.parse(e164, None), phonenumbers.PhoneNumberFormat.INTERNATIONAL)
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


# --- export: the international format, fast ------------------------------------------------------------------
# `display` parses every number (~100 µs): 100 s for a million-row export. The grouping depends only on the
# calling code, the first digits (phonenumbers' format rules look at a few leading digits) and the length, so
# it is computed once per such prefix and applied to the others by inserting the same separators.
GROUPING_PREFIX = 7  # "+" and 6 digits: no difference to `display` over 20,000 random numbers of 9 countries
_GROUPINGS: dict[tuple[str, int], tuple[tuple[int, str], ...]] = {}
MAX_GROUPINGS = 100_000


def grouping_key(e164: str) -> tuple[str, int]:
    """What the grouping of a number depends on: its first GROUPING_PREFIX characters and its length."""
    return e164[:GROUPING_PREFIX], len(e164)


def separators(e164: str) -> tuple[tuple[int, str], ...]:
    """Where `display` puts spaces (or dashes) into `e164`, as (index into e164, separator); () when it only
    keeps the canonical form. The same for every number with the same `grouping_key`."""
    return _separators(e164)


def _separators(e164: str) -> tuple[tuple[int, str], ...]:
    """Where `display` puts spaces (or dashes) into `e164`, as (index into e164, separator)."""
    formatted, found, at = display(e164), [], 0
    for ch in formatted:
        if at < len(e164) and ch == e164[at]:
            at += 1
        elif ch in " -":
            found.append((at, ch))
        else:
            return ()  # anything but added separators: keep the canonical form
    return tuple(found) if at == len(e164) else ()


def export_number(e164: str) -> str:
    """`+491737280285` -> `+49 173 7280285`: spreadsheets keep it as text (a bare `+49...` becomes
    4,91737E+11 in Excel), and the importer reads it back. Equal to `display` (tests check it)."""
    key = (e164[:GROUPING_PREFIX], len(e164))
    seps = _GROUPINGS.get(key)
    if seps is None:
        seps = _separators(e164)
        if len(_GROUPINGS) < MAX_GROUPINGS:
            _GROUPINGS[key] = seps
    if not seps:
        return e164
    parts, last = [], 0
    for at, ch in seps:
        parts.append(e164[last:at])
        parts.append(ch)
        last = at
    parts.append(e164[last:])
    return "".join(parts)
