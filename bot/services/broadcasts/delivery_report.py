"""The delivery report as CSV: one line per recipient, streamed in id order (never all rows in memory)."""

from __future__ import annotations

import csv
from typing import IO

from bot.i18n import t
from storage import broadcasts as broadcasts_store
from storage.db import Engine, Session

COLUMNS = ("phone", "status", "error_code", "error_title", "sent_at", "status_at")


def write_csv(engine: Engine, broadcast_id: int, out: IO[str], lang: str = "de") -> int:
    writer = csv.writer(out, delimiter=";" if lang == "de" else ",")
    writer.writerow([t(f"broadcast.csv.{c}", lang) for c in COLUMNS])
    after, written = 0, 0
    while True:
        with Session(engine) as session:
            rows = broadcasts_store.deliveries(session, broadcast_id, after)
        if not rows:
            return written
        for row in rows:
            writer.writerow(
                [
                    row.phone,
                    t(f"broadcast.state.{row.status}", lang),
                    row.error_code or "",
                    row.error_title or "",
                    row.sent_at.isoformat() if row.sent_at else "",
                    row.status_at.isoformat() if row.status_at else "",
                ]
            )
        written += len(rows)
        after = rows[-1].id
