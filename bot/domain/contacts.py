"""What a contact list asks for: filter, sort and page types shared by Slack, CLI, export and storage."""

from __future__ import annotations

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
    """The sort and search key of a name: case-folded, so `Ärger` and `ärger` sort together."""
    return name.strip().casefold() or None if name else None
