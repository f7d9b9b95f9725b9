"""Contact queries: filters, substring search and keyset pagination on indexes.

The list never uses OFFSET: a page is anchored on a contact id, whose sort value is looked up
and compared as a row value `(sort_col, id)`, which every sortable column has an index for.
Rows whose sort value is NULL (no name, never chatted) always come last, ordered by id.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, delete, func, select, text, true, tuple_
from sqlalchemy.orm import InstrumentedAttribute
from sqlmodel import Session

from bot.phone import search_digits
from storage.models import Contact, ImportRow, Message, Ticket

SORT_COLUMNS: dict[str, InstrumentedAttribute[Any]] = {
    "phone": Contact.phone,  # type: ignore[dict-item]
    "messenger": Contact.messenger,  # type: ignore[dict-item]
    "first_contact": Contact.first_contact_at,  # type: ignore[dict-item]
    "last_chat": Contact.last_chat_at,  # type: ignore[dict-item]
    "name": Contact.name_sort,  # type: ignore[dict-item]
    "status": Contact.active,  # type: ignore[dict-item]
}
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
        if self.sort not in SORT_COLUMNS:
            raise ValueError(f"unknown sort field {self.sort!r}")


@dataclass
class Page:
    rows: list[Contact]
    total: int
    has_prev: bool
    has_next: bool
    first_id: int | None = None
    last_id: int | None = None
    extras: dict[str, Any] = field(default_factory=dict)


def search_condition(session: Session, text_: str, region: str) -> ColumnElement[bool]:
    """Match the name (case-insensitive substring) or the number's digits, through a trigram index."""
    digits = search_digits(text_, region)
    term = digits if digits is not None else text_.casefold()
    column = "digits" if digits is not None else "name_sort"
    if session.get_bind().dialect.name == "sqlite":
        if len(term) >= 3:  # the trigram tokenizer needs three characters
            quoted = '"' + term.replace('"', '""') + '"'
            fts = text("SELECT rowid FROM contact_fts WHERE contact_fts MATCH :m").bindparams(
                m=f"{column} : {quoted}"
            )
            return Contact.id.in_(fts)  # type: ignore[union-attr]
    pattern = "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    if digits is not None:
        return Contact.phone.like(pattern, escape="\\")  # type: ignore[attr-defined]
    return Contact.name_sort.like(pattern, escape="\\")  # type: ignore[union-attr]


def filter_conditions(session: Session, flt: ContactFilter, region: str) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if flt.status == "active":
        conds.append(Contact.active == true())
    elif flt.status == "inactive":
        conds.append(Contact.active == False)  # noqa: E712
    if flt.blocked is not None:
        conds.append(Contact.blocked == flt.blocked)
    if flt.messenger:
        conds.append(Contact.messenger == flt.messenger)
    if flt.search:
        conds.append(search_condition(session, flt.search, region))
    if flt.audience_id is not None:
        from storage.audiences import audience_condition  # optional feature, imported lazily

        conds.append(audience_condition(session, flt.audience_id))
    return conds


def count(session: Session, flt: ContactFilter, region: str = "DE") -> int:
    stmt = select(func.count()).select_from(Contact).where(*filter_conditions(session, flt, region))
    return int(session.scalar(stmt) or 0)


def _fetch(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: str,
    desc: bool,
    region_nulls: bool,
    bound: tuple[Any, int] | None,
    inclusive: bool,
    limit: int,
) -> list[Contact]:
    """One ordered slice of either the non-NULL region or the NULL region of the sort column."""
    col = SORT_COLUMNS[sort]
    where = list(conds)
    if region_nulls:
        where.append(col.is_(None))
        if bound is not None:
            cmp = Contact.id.__le__ if desc else Contact.id.__ge__  # type: ignore[union-attr]
            if not inclusive:
                cmp = Contact.id.__lt__ if desc else Contact.id.__gt__  # type: ignore[union-attr]
            where.append(cmp(bound[1]))
        order = [Contact.id.desc() if desc else Contact.id.asc()]  # type: ignore[union-attr]
    else:
        where.append(col.is_not(None))
        if bound is not None:
            key = tuple_(col, Contact.id)
            val = tuple_(bindparam(None, bound[0], type_=col.type), bindparam(None, bound[1], type_=Integer()))
            if desc:
                where.append(key <= val if inclusive else key < val)
            else:
                where.append(key >= val if inclusive else key > val)
        order = [col.desc(), Contact.id.desc()] if desc else [col.asc(), Contact.id.asc()]  # type: ignore[union-attr]
    stmt = select(Contact).where(and_(*where)).order_by(*order).limit(limit)
    return list(session.scalars(stmt).all())


def _walk(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: str,
    desc: bool,
    anchor: tuple[Any, int] | None,
    inclusive: bool,
    limit: int,
) -> list[Contact]:
    """Rows in list order (non-NULL values, then NULLs) starting at an anchor."""
    if anchor is not None and anchor[0] is None:
        return _fetch(session, conds, sort, desc, True, anchor, inclusive, limit)
    rows = _fetch(session, conds, sort, desc, False, anchor, inclusive, limit)
    if len(rows) < limit:
        rows += _fetch(session, conds, sort, desc, True, None, inclusive, limit - len(rows))
    return rows


def _walk_back(
    session: Session,
    conds: Sequence[ColumnElement[bool]],
    sort: str,
    desc: bool,
    anchor: tuple[Any, int],
    limit: int,
) -> list[Contact]:
    """Rows before the anchor, nearest first (list order reversed)."""
    rows: list[Contact] = []
    if anchor[0] is None:
        rows = _fetch(session, conds, sort, not desc, True, anchor, False, limit)
        if len(rows) < limit:
            rows += _fetch(session, conds, sort, not desc, False, None, False, limit - len(rows))
        return rows
    return _fetch(session, conds, sort, not desc, False, anchor, False, limit)


def list_page(session: Session, flt: ContactFilter, req: PageRequest, region: str = "DE") -> Page:
    conds = filter_conditions(session, flt, region)
    total = count(session, flt, region)
    col = SORT_COLUMNS[req.sort]

    def anchor_of(contact_id: int | None) -> tuple[Any, int] | None:
        if contact_id is None:
            return None
        value = session.scalars(select(col).where(Contact.id == contact_id)).first()
        if value is None and session.get(Contact, contact_id) is None:
            return None
        return (value, contact_id)

    if req.before_id is not None and (anchor := anchor_of(req.before_id)) is not None:
        back = _walk_back(session, conds, req.sort, req.desc, anchor, req.limit + 1)
        has_prev = len(back) > req.limit
        rows = list(reversed(back[: req.limit]))
        if len(rows) < req.limit:  # fell off the start: show the first page instead
            rows = _walk(session, conds, req.sort, req.desc, None, True, req.limit + 1)
            has_prev = False
            has_next = len(rows) > req.limit
            rows = rows[: req.limit]
        else:
            has_next = True
    else:
        anchor, inclusive = None, True
        if req.after_id is not None:
            anchor, inclusive = anchor_of(req.after_id), False
        elif req.start_id is not None:
            anchor = anchor_of(req.start_id)
        rows = _walk(session, conds, req.sort, req.desc, anchor, inclusive, req.limit + 1)
        has_next = len(rows) > req.limit
        rows = rows[: req.limit]
        has_prev = anchor is not None and _has_before(session, conds, req, rows)
    return Page(
        rows=rows,
        total=total,
        has_prev=has_prev,
        has_next=has_next,
        first_id=rows[0].id if rows else None,
        last_id=rows[-1].id if rows else None,
    )


def _has_before(session: Session, conds: Sequence[ColumnElement[bool]], req: PageRequest, rows: list[Contact]) -> bool:
    if not rows:
        return False
    col = SORT_COLUMNS[req.sort]
    first = rows[0]
    return bool(_walk_back(session, conds, req.sort, req.desc, (getattr(first, col.key), first.id), 1))


def name_key(name: str | None) -> str | None:
    """The sort and search key of a name: case-folded, so `Ärger` and `ärger` sort together."""
    return name.strip().casefold() or None if name else None


def get(session: Session, contact_id: int) -> Contact | None:
    return session.get(Contact, contact_id)


def by_phone(session: Session, phone: str, messenger: str | None = None) -> list[Contact]:
    stmt = select(Contact).where(Contact.phone == phone)
    if messenger:
        stmt = stmt.where(Contact.messenger == messenger)
    return list(session.scalars(stmt).all())


def erase(session: Session, contact: Contact) -> dict[str, int]:
    """Delete a contact and every row about it (GDPR erasure); returns what kind of rows went."""
    counts: dict[str, int] = {}
    cid = contact.id
    counts["messages"] = session.execute(delete(Message).where(Message.contact_id == cid)).rowcount
    counts["tickets"] = session.execute(delete(Ticket).where(Ticket.contact_id == cid)).rowcount
    counts["import_rows"] = session.execute(
        delete(ImportRow).where(ImportRow.phone == contact.phone, ImportRow.messenger == contact.messenger)
    ).rowcount
    # Tables added by later features (attributes, deliveries, ...) reference contact.id with
    # ON DELETE CASCADE; delete their rows explicitly too, so erasure never depends on pragmas.
    for table in Contact.__table__.metadata.sorted_tables:  # type: ignore[attr-defined]
        if table.name in {"contact", "message", "ticket"}:
            continue
        for fk in table.foreign_keys:
            if fk.column.table.name == "contact":
                result = session.execute(delete(table).where(fk.parent == cid))
                counts[table.name] = counts.get(table.name, 0) + (result.rowcount or 0)
    session.execute(delete(Contact).where(Contact.id == cid))
    session.flush()
    return {k: v for k, v in counts.items() if v}
