"""Reading the audit log (`contactbot audit`); entries are written by each change's own service."""

from __future__ import annotations

from storage import audit
from storage.db import Engine, Session
from storage.models import AuditEntry


def recent(engine: Engine, limit: int = 50, action: str | None = None) -> list[AuditEntry]:
    with Session(engine) as session:
        return audit.recent(session, limit, action=action)
