"""Typed user attribute values: the canonical text form each type is stored in.

Pure functions, shared by the contact details modal (bot/attributes.py) and the CSV import, so a
value means the same whichever way it came in: number -> `12.5`, date -> `2026-11-25`,
bool -> `1`/`0`, choice -> one of the allowed values as defined.
"""

from __future__ import annotations

import re
from datetime import date, datetime

TYPES = ("text", "number", "date", "bool", "choice")
TRUE = {"1", "ja", "yes", "true", "wahr", "x", "j", "y"}
FALSE = {"0", "nein", "no", "false", "falsch", "n", ""}
DATE_FORMATS = ("%Y-%m-%d", "%d.%m.%Y", "%d.%m.%y", "%d/%m/%Y")


class AttributeValueError(ValueError):
    """A definition or value that does not fit; `code` is an i18n key."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


def normalize(attribute_type: str, raw: str, choices: list[str] | None = None) -> str:
    """The canonical stored text for a value, or AttributeValueError naming why it does not fit."""
    value = raw.strip()
    if value == "" or attribute_type == "text":
        return value
    if attribute_type == "number":
        candidate = value.replace(" ", "")
        if re.fullmatch(r"-?\d{1,3}(\.\d{3})+(,\d+)?", candidate):  # German 1.234,5
            candidate = candidate.replace(".", "").replace(",", ".")
        else:
            candidate = candidate.replace(",", ".")
        try:
            number = float(candidate)
        except ValueError:
            raise AttributeValueError("attr.not_number", value=raw) from None
        return str(int(number)) if number.is_integer() else repr(number)
    if attribute_type == "date":
        for fmt in DATE_FORMATS:
            try:
                return datetime.strptime(value, fmt).date().isoformat()
            except ValueError:
                continue
        try:
            return date.fromisoformat(value[:10]).isoformat()
        except ValueError:
            raise AttributeValueError("attr.not_date", value=raw) from None
    if attribute_type == "bool":
        lowered = value.lower()
        if lowered in TRUE:
            return "1"
        if lowered in FALSE:
            return "0"
        raise AttributeValueError("attr.not_bool", value=raw)
    if attribute_type == "choice":
        allowed = {c.lower(): c for c in choices or []}
        if value.lower() not in allowed:
            raise AttributeValueError("attr.not_choice", value=raw, choices=", ".join(choices or []))
        return allowed[value.lower()]
    raise AttributeValueError("attr.bad_type", type=attribute_type)
