"""Opt-outs that survive erasure and re-import: a list of hashed numbers (GDPR art. 21 objection).

Erasing a contact deletes everything about it, but a person who said stop must not be messaged
again when the same number is imported or writes in later. The suppression row holds only a hash
of the number (in each of its WhatsApp-equivalent forms), never the number itself.

The hash is an HMAC-SHA256 keyed with CONTACTBOT_SUPPRESSION_KEY: phone numbers are few enough that a
plain SHA-256 of every possible number can be computed, which would turn the list back into numbers.
Entries written before the key existed (a plain SHA-256) cannot be re-keyed without the numbers they
hide, so a lookup checks both: keyed first, then the old unkeyed hash; `forget` removes both; new
entries are keyed. Without a key (not configured) entries stay unkeyed as before.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import Connection, Table, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from bot.config.settings import suppression_key
from bot.domain.wa_ids import equivalent_forms
from storage.models import Contact, Suppression, utcnow

S: Table = Suppression.__table__  # type: ignore[attr-defined]
C: Table = Contact.__table__  # type: ignore[attr-defined]
CHUNK = 500


def legacy_hash(phone: str) -> str:
    """The unkeyed hash of entries written before CONTACTBOT_SUPPRESSION_KEY (still honoured, never written)."""
    return hashlib.sha256(f"contactbot-suppression:{phone}".encode()).hexdigest()


def phone_hash(phone: str) -> str:
    """The hash a new entry is written under: keyed when a key is configured."""
    key = suppression_key()
    if not key:
        return legacy_hash(phone)
    return hmac.new(key.encode(), f"contactbot-suppression:{phone}".encode(), hashlib.sha256).hexdigest()


def _forms(phone: str) -> tuple[str, ...]:
    return tuple(equivalent_forms(phone)) or (phone,)


def _hashes(phone: str) -> list[str]:
    """What new entries for this number are written under."""
    return [phone_hash(f) for f in _forms(phone)]


def _lookup_hashes(phone: str) -> list[str]:
    """What entries for this number may be stored under: keyed and, from before the key, unkeyed."""
    return list(dict.fromkeys([*_hashes(phone), *(legacy_hash(f) for f in _forms(phone))]))


def record(session: Session, phones: Iterable[str], at: datetime, marketing_only: bool = False) -> None:
    """Remember an opt-out (or a marketing-only one) for these numbers; the earliest time stays."""
    column = "marketing_opted_out_at" if marketing_only else "opted_out_at"
    rows = sorted({h for p in phones for h in _hashes(p)})
    if not rows:
        return
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    now = utcnow()
    stmt = dialect.insert(S).values([{"phone_hash": h, column: at, "updated_at": now} for h in rows])
    current = S.c[column]
    session.execute(
        stmt.on_conflict_do_update(
            index_elements=["phone_hash"],
            set_={column: stmt.excluded[column], "updated_at": now},
            where=current.is_(None),
        )
    )


def forget(session: Session, phones: Iterable[str]) -> None:
    """The person re-subscribed themselves (START): their number is no longer suppressed."""
    hashes = sorted({h for p in phones for h in _lookup_hashes(p)})
    if hashes:
        session.execute(S.delete().where(S.c.phone_hash.in_(hashes)))


def reapply_created(conn: Connection, created_at: datetime) -> int:
    """After a CSV import: the contacts it created (stamped `created_at`) whose number is suppressed."""
    if conn.execute(select(S.c.phone_hash).limit(1)).first() is None:
        return 0  # nothing suppressed: a million-row import pays one lookup
    rows = conn.execute(select(C.c.id, C.c.phone).where(C.c.created_at == created_at)).all()
    return reapply(conn, [(cid, phone) for cid, phone in rows])


def reapply(session: Session | Connection, contacts: Sequence[tuple[int, str]]) -> int:
    """Opt out again the given (contact id, phone) whose number is on the list; returns how many changed.

    Called for contacts that were just created or imported: an erased-and-returned number comes
    back opted out (inactive), or opted out of marketing, as it left."""
    by_hash: dict[str, list[int]] = {}
    for cid, phone in contacts:
        for h in _lookup_hashes(phone):
            by_hash.setdefault(h, []).append(cid)
    keys = sorted(by_hash)
    changed = 0
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        for h, opted, marketing in session.execute(
            select(S.c.phone_hash, S.c.opted_out_at, S.c.marketing_opted_out_at).where(S.c.phone_hash.in_(part))
        ):
            for cid in by_hash[h]:
                if opted is not None:
                    changed += session.execute(
                        update(C)
                        .where(C.c.id == cid, C.c.opted_out_at.is_(None))
                        .values(opted_out_at=opted, active=False, updated_at=utcnow())
                    ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
                if marketing is not None:
                    changed += session.execute(
                        update(C)
                        .where(C.c.id == cid, C.c.marketing_opted_out_at.is_(None))
                        .values(marketing_opted_out_at=marketing, updated_at=utcnow())
                    ).rowcount  # type: ignore[attr-defined]  # an UPDATE's result is a CursorResult
    return changed
