"""The Home tab's data: contact counts, recent imports/exports, open broadcasts, in one read."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import stats
from storage.db import Engine, Session
from storage.models import utcnow


@dataclass(frozen=True)
class Dashboard:
    at: datetime
    counts: stats.ContactCounts
    imports: list[stats.RunInfo]
    exports: list[stats.RunInfo]
    broadcasts: list[stats.BroadcastInfo]


def load(engine: Engine, now: datetime | None = None) -> Dashboard:
    now = now or utcnow()
    with Session(engine) as session:
        return Dashboard(
            at=now,
            counts=stats.contact_counts(session, now),
            imports=stats.recent_imports(session),
            exports=stats.recent_exports(session, now),
            broadcasts=stats.open_broadcasts(session),
        )
