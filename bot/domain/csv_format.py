"""The CSV dialect contactbot reads and writes: header names, cell encodings, file sniffing.

One module so export and import can never disagree: what `export` writes, `import` reads back.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache

# Header names people use (normalised: case-folded, `_`/`-` as spaces); German and English.
HEADER_ALIASES: dict[str, tuple[str, ...]] = {
    "phone": (
        "nummer",
        "rufnummer",
        "telefon",
        "telefonnummer",
        "handy",
        "handynummer",
        "mobil",
        "mobilnummer",
        "tel",
        "tel nr",
        "phone",
        "phone number",
        "number",
        "mobile",
        "msisdn",
        "whatsapp nummer",
    ),
    "messenger": ("messenger", "kanal", "channel"),
    "name": ("name", "kontakt", "kontaktname", "contact", "contact name", "full name", "vollständiger name"),
    "first_contact": (
        *("erstkontakt", "erster kontakt", "first contact", "first contact at", "created"),
        *("erstkontakt (utc)", "first contact (utc)"),  # the export's headers: the times are UTC
    ),
    "last_chat": (
        *("letzter chat", "letzter kontakt", "last chat", "last chat at", "last contact"),
        *("letzter chat (utc)", "last chat (utc)"),
    ),
    "blocked": ("blockiert", "gesperrt", "blocked"),
    "status": ("status", "status mia", "mia status"),
    "activated": ("activated", "aktiviert", "active", "aktiv"),
}
_ALIAS_TO_FIELD = {alias: field for field, aliases in HEADER_ALIASES.items() for alias in aliases}

EXPORT_HEADERS = {
    "de": {
        "phone": "Nummer",
        "messenger": "Messenger",
        "name": "Name",
        "first_contact": "Erstkontakt (UTC)",
        "last_chat": "Letzter Chat (UTC)",
        "blocked": "Blockiert",
        "status": "Status",
    },
    "en": {
        "phone": "Number",
        "messenger": "Messenger",
        "name": "Name",
        "first_contact": "First contact (UTC)",
        "last_chat": "Last chat (UTC)",
        "blocked": "Blocked",
        "status": "Status",
    },
}
BOOL_WORDS = {"de": ("ja", "nein"), "en": ("yes", "no")}
STATUS_WORDS = {"de": ("aktiv", "inaktiv"), "en": ("active", "inactive")}
TRUE_WORDS = frozenset({"1", "ja", "j", "yes", "y", "true", "wahr", "x", "aktiv", "active", "aktiviert", "activated"})
FALSE_WORDS = frozenset(
    {"0", "nein", "n", "no", "false", "falsch", "inaktiv", "inactive", "deaktiviert", "deactivated"}
)
MESSENGER_ALIASES = {
    "whatsapp": "whatsapp",
    "wa": "whatsapp",
    "telegram": "telegram",
    "facebook": "facebook",
    "facebook messenger": "facebook",
    "messenger": "facebook",
    "instagram": "instagram",
    "sms": "sms",
    "webchat": "webchat",
    "web chat": "webchat",
    "website": "webchat",
}
EXPORT_MESSENGER = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "sms": "SMS",
    "webchat": "Webchat",
}

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_RISKY_FIRST = frozenset("=+-@\t\r'")
_GUARDED = re.compile(r"^'+[=+\-@\t\r]")
_PLAIN_PHONE = re.compile(r"\+[0-9]{7,15}")  # fullmatch, ASCII digits: the SQL export does the same
_SPACES = re.compile(r"[\s_\-]+")
DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%d.%m.%y %H:%M",
    "%d.%m.%y",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
)


class FileProblem(ValueError):
    """The whole file cannot be read; `code` is an i18n key, `values` fill its placeholders."""

    def __init__(self, code: str, **values: object) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


def header_key(name: str) -> str:
    """`  Letzter_Chat ` -> `letzter chat`: how headers are compared (also for attribute keys)."""
    return _SPACES.sub(" ", name.replace("\ufeff", "").strip().casefold()).strip()


def core_field(header: str) -> str | None:
    return _ALIAS_TO_FIELD.get(header_key(header))


def attribute_key(header: str) -> str:
    """A stable attribute key for a column header: `Kundennummer (alt)` -> `kundennummer_alt`."""
    key = re.sub(r"[^0-9a-zäöüß]+", "_", header_key(header)).strip("_")
    return key[:64] or "attribute"


def neutralise(value: str) -> str:
    """Export: a cell a spreadsheet would run as a formula gets a leading `'` (valid numbers stay)."""
    if not value or value[0] not in _RISKY_FIRST:
        return value
    if (value.startswith(_FORMULA_START) and not _PLAIN_PHONE.fullmatch(value)) or _GUARDED.match(value):
        return "'" + value
    return value


def unneutralise(value: str) -> str:
    """Import: undo `neutralise` exactly (one `'` before a formula character)."""
    return value[1:] if value[:1] == "'" and _GUARDED.match(value) else value


def parse_when(text: str) -> datetime | None:
    """A date as people and Excel write it, read as UTC; None when it is not a date."""
    value = text.strip().removesuffix("Z").removesuffix(" UTC")
    for fmt in DATE_FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC)
        except ValueError:
            continue
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def stamp(text: str) -> str | None:
    """A date cell as the naive-UTC text both databases store (`2026-01-31 14:00:00.000000`), or None.

    ISO dates (what export writes) take the C fast path; German and US forms fall back to strptime.
    """
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        parsed = parse_when(text)
        if parsed is None:
            return None
        when = parsed
    if when.tzinfo is not None:
        when = when.astimezone(UTC).replace(tzinfo=None)
    elif len(text) == 19 and text[10] == " ":
        return text + ".000000"  # already the stored form (what export writes)
    return when.isoformat(" ", "microseconds")


@lru_cache(maxsize=256)  # a column holds a handful of distinct words: look each up once
def parse_flag(text: str) -> bool | None:
    word = text.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(word)


@lru_cache(maxsize=256)
def parse_messenger(text: str) -> str:
    found = MESSENGER_ALIASES.get(header_key(text))
    if found is None:
        raise ValueError(text)
    return found


@dataclass(frozen=True)
class Sniffed:
    encoding: str  # a Python codec name for pandas / open()
    delimiter: str
    header: list[str]


def sniff(path: str, sample_bytes: int = 256 * 1024) -> Sniffed:
    """Encoding (UTF-8 with/without BOM, else Windows-1252), delimiter and header of a CSV file.

    Raises FileProblem for anything that is not a CSV (empty, HTML, a spreadsheet, binary).
    """
    with open(path, "rb") as handle:
        head = handle.read(sample_bytes)
        if not head.strip(b"\xef\xbb\xbf \t\r\n"):
            raise FileProblem("import.error.empty")
        lowered = head[:512].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
        if lowered.startswith((b"<!doctype html", b"<html", b"<head", b"<?xml")):
            raise FileProblem("import.error.html")
        if head.startswith((b"PK\x03\x04", b"\xd0\xcf\x11\xe0")):
            raise FileProblem("import.error.spreadsheet")
        if b"\x00" in head or _control_share(head) > 0.01:
            raise FileProblem("import.error.binary")
        encoding = _encoding(handle, head)
    text = head.decode(encoding, errors="replace")
    if len(head) == sample_bytes:  # drop a possibly cut last line
        text = text[: text.rfind("\n") + 1] or text
    delimiter = _delimiter(text)
    rows = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next((r for r in rows if any(c.strip() for c in r)), None)
    except csv.Error as exc:
        raise FileProblem("import.error.malformed", detail=str(exc)[:80]) from None
    if header is None:
        raise FileProblem("import.error.empty")
    return Sniffed(encoding, delimiter, [h.replace("\ufeff", "").strip() for h in header])


def _encoding(handle: io.BufferedReader, head: bytes) -> str:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise FileProblem("import.error.encoding")
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        decoder.decode(head)
        while chunk := handle.read(1024 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        try:
            head.decode("cp1252")
        except UnicodeDecodeError:
            raise FileProblem("import.error.binary") from None
        return "cp1252"
    return "utf-8"


def _control_share(head: bytes) -> float:
    controls = sum(1 for b in head[:8192] if b < 32 and b not in (9, 10, 13))
    return controls / max(len(head[:8192]), 1)


def _delimiter(text: str) -> str:
    """The candidate that splits the header most while giving the first lines a steady field count."""
    lines = text.splitlines()[:50]
    best, best_score = ",", 0.0
    for candidate in (";", ",", "\t"):
        rows = [r for r in csv.reader(io.StringIO("\n".join(lines)), delimiter=candidate) if r]
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        steady = sum(1 for r in rows if len(r) == width) / len(rows)
        score = width * steady
        if score > best_score:
            best, best_score = candidate, score
    return best
