"""What a contact list asks for: filter, sort and page types shared by Slack, CLI, export and storage."""

from __future__ import annotations

import itertools
import re
import unicodedata
from dataclasses import dataclass

MESSENGERS: tuple[str, ...] = ("whatsapp", "telegram", "facebook", "instagram", "sms", "webchat")
SORT_FIELDS = ("phone", "messenger", "first_contact", "last_chat", "name", "status")
STATUSES = ("active", "inactive", "all")
MAX_SEARCH = 80


@dataclass(frozen=True)
class ContactFilter:
    """What the list shows. Shared by Slack, CLI and export so all three agree."""

    status: str = "active"  # active|inactive|all
    blocked: bool | None = None
    messenger: str | None = None
    search: str | None = None
    audience_id: int | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"unknown status {self.status!r}")
        if self.search is not None:
            object.__setattr__(self, "search", self.search.strip()[:MAX_SEARCH] or None)


@dataclass(frozen=True)
class PageRequest:
    sort: str = "last_chat"
    desc: bool = True
    after_id: int | None = None  # next page: rows after this contact
    before_id: int | None = None  # previous page: rows before this contact
    start_id: int | None = None  # same page again (after a change): rows from this contact on
    limit: int = 20

    def __post_init__(self) -> None:
        if self.sort not in SORT_FIELDS:
            raise ValueError(f"unknown sort field {self.sort!r}")


def name_key(name: str | None) -> str | None:
    """The sort and search key of a name, by DIN 5007 (variant 1, dictionaries and lists of names): case-folded,
    umlauts and accents as their base letter (`Özlem` with `Ozlem`, between `Otto` and `Paul`), `ß` as `ss`.

    Both databases sort and search this column (indexed with the id), so the order is the same on SQLite and
    PostgreSQL and keyset paging stays on an index; no collation of the server is involved.
    """
    if not name:
        return None
    text = name.strip().casefold()  # casefold: ß -> ss, ẞ -> ss
    return _strip_latin_marks(text) or None


_LATIN_EXTRA = str.maketrans({"æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i"})


def _strip_latin_marks(text: str) -> str:
    """Drop the accents of Latin letters (é -> e, ä -> a); marks on other scripts stay (they carry meaning)."""
    out: list[str] = []
    base_is_latin = False
    for ch in unicodedata.normalize("NFKD", text):
        if unicodedata.combining(ch):
            if not base_is_latin:
                out.append(ch)
            continue
        base_is_latin = ch < "\u0250"
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out)).translate(_LATIN_EXTRA)


# German writes ä/ö/ü as ae/oe/ue where umlauts are missing (Mueller), so a search tries both spellings.
_SPELLINGS = {
    **{"ä": ("a", "ae"), "ö": ("o", "oe"), "ü": ("u", "ue")},
    **{"ae": ("ae", "a"), "oe": ("oe", "o"), "ue": ("ue", "u")},
}
_SPELLING = re.compile("ä|ö|ü|ae|oe|ue")
MAX_SPELLING_SPOTS = 3  # 2**3 keys at most: `Müller-Lüdenscheidt` stays a handful of LIKEs


def search_keys(term: str) -> list[str]:
    """The name keys a search term stands for: `mueller` and `müller` both find `Müller` and `Mueller`
    (ß and ss are one key already). At most 2**MAX_SPELLING_SPOTS keys, the plain spelling first."""
    text = term.strip().casefold()
    parts = _SPELLING.split(text)
    spots = _SPELLING.findall(text)
    options = [_SPELLINGS[s] if i < MAX_SPELLING_SPOTS else _SPELLINGS[s][:1] for i, s in enumerate(spots)]
    keys: list[str] = []
    for choice in itertools.product(*options):
        spelled = parts[0] + "".join(c + rest for c, rest in zip(choice, parts[1:], strict=True))
        key = name_key(spelled)
        if key and key not in keys:
            keys.append(key)
    return keys
