"""The contact list's view state, carried in block_ids so any process can answer the next click.

Compact and strictly parsed: `l|d|a|whatsapp||123|40|müller` = sort, direction, status,
messenger, audience, first contact id of the page, offset of the page, search (always last).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from bot.domain.contacts import MAX_SEARCH, MESSENGERS, SORT_FIELDS, ContactFilter

SORT_CODES = {"p": "phone", "m": "messenger", "f": "first_contact", "l": "last_chat", "n": "name", "s": "status"}
SORT_KEYS = {v: k for k, v in SORT_CODES.items()}
STATUS_CODES = {"a": "active", "i": "inactive", "b": "blocked", "x": "all"}
STATUS_KEYS = {v: k for k, v in STATUS_CODES.items()}


class BadState(ValueError):
    """A block_id or value we did not write (stale message or forged payload)."""


@dataclass(frozen=True)
class ListState:
    sort: str = "last_chat"
    desc: bool = True
    status: str = "active"  # active|inactive|blocked|all
    messenger: str | None = None
    audience_id: int | None = None
    start_id: int | None = None
    offset: int = 0
    search: str | None = None

    def encode(self) -> str:
        return "|".join(
            [
                SORT_KEYS[self.sort],
                "d" if self.desc else "a",
                STATUS_KEYS[self.status],
                self.messenger or "",
                "" if self.audience_id is None else str(self.audience_id),
                "" if self.start_id is None else str(self.start_id),
                str(self.offset),
                (self.search or "")[:MAX_SEARCH],
            ]
        )

    @classmethod
    def decode(cls, raw: str) -> ListState:
        parts = raw.split("|", 7)
        if len(parts) != 8:
            raise BadState(raw[:40])
        sort, direction, status, messenger, audience, start, offset, search = parts
        try:
            return cls(
                sort=SORT_CODES[sort],
                desc={"d": True, "a": False}[direction],
                status=STATUS_CODES[status],
                messenger=_messenger(messenger),
                audience_id=int(audience) if audience else None,
                start_id=int(start) if start else None,
                offset=max(int(offset), 0),
                search=search[:MAX_SEARCH] or None,
            )
        except (KeyError, ValueError) as exc:
            raise BadState(raw[:40]) from exc

    def contact_filter(self) -> ContactFilter:
        if self.status == "blocked":
            return ContactFilter(
                status="all", blocked=True, messenger=self.messenger, search=self.search, audience_id=self.audience_id
            )
        return ContactFilter(
            status=self.status, messenger=self.messenger, search=self.search, audience_id=self.audience_id
        )

    def first_page(self, **changes: object) -> ListState:
        return replace(self, start_id=None, offset=0, **changes)  # type: ignore[arg-type]  # fields by name

    def is_filtered(self) -> bool:
        return self.status != "active" or bool(self.messenger or self.search or self.audience_id)


def _messenger(value: str) -> str | None:
    if not value:
        return None
    if value not in MESSENGERS:
        raise KeyError(value)
    return value


def join(kind: str, state: ListState) -> str:
    """A block_id: what the block is, then the state (at most 255 characters)."""
    return f"{kind}|{state.encode()}"[:255]


def split(block_id: str) -> tuple[str, ListState]:
    kind, _, raw = block_id.partition("|")
    return kind, ListState.decode(raw)


assert set(SORT_CODES.values()) == set(SORT_FIELDS)
