"""CSV export as a service for Slack and the CLI: exactly what the list shows, streamed to a file."""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass

from bot.domain.contacts import ContactFilter
from bot.i18n import t
from bot.services.table_settings import layout
from storage import attributes as attribute_store
from storage import audit
from storage import csv_export as csv_export_store
from storage.csv_export import CORE_COLUMNS, ExportColumn
from storage.db import Engine, Session, session_scope
from storage.models import utcnow


@dataclass(frozen=True)
class ExportResult:
    path: str
    file_name: str
    count: int


def delimiter_for(lang: str, forced: str = "") -> str:
    """`;` for German readers (German Excel splits on it), `,` otherwise; a setting can force one."""
    return forced or (";" if lang == "de" else ",")


def columns(engine: Engine, lang: str, keys: list[str] | None = None) -> list[ExportColumn]:
    """The chosen columns (table settings order), or every core column and attribute."""
    with Session(engine) as session:
        attrs = attribute_store.all_attributes(session)
    by_key = {a.key: (int(a.id or 0), a.label_en if lang == "en" else a.label_de) for a in attrs}
    if keys is None:
        keys = [*CORE_COLUMNS, *(f"attr:{a.key}" for a in attrs)]
    return csv_export_store.columns_for(keys, lang, by_key)


def layout_keys(engine: Engine, team_id: str | None, user_id: str | None, lang: str) -> list[str] | None:
    """Visible columns of the reader's table settings; None when the feature has nothing stored."""
    return [c.key for c in layout(engine, team_id or "", user_id or "", lang).visible]


def export(
    engine: Engine,
    flt: ContactFilter,
    *,
    sort: str = "last_chat",
    desc: bool = True,
    lang: str = "de",
    delimiter: str = ";",
    region: str = "DE",
    keys: list[str] | None = None,
    path: str | None = None,
    actor: str | None = None,
) -> ExportResult:
    """Write the CSV (UTF-8 with BOM) to `path` or a temp file; the caller uploads or keeps it.

    With an `actor` the export is audited (counts only: the file itself holds the personal data).
    """
    stamp = utcnow().strftime("%Y-%m-%d_%H%M")
    file_name = f"{t('export.file_prefix', lang)}_{stamp}.csv"
    if path is None:
        fd, path = tempfile.mkstemp(prefix="contactbot-export-", suffix=".csv")
        os.close(fd)
    cols = columns(engine, lang, keys)
    with open(path, "w", encoding="utf-8-sig", newline="") as out, engine.connect() as conn:
        count = csv_export_store.write(
            conn, out, flt, cols, sort=sort, desc=desc, lang=lang, delimiter=delimiter, region=region
        )
    if actor:
        with session_scope(engine) as session:
            audit.record(session, actor, "contact.export", "contact", None, count=count, columns=len(cols))
    return ExportResult(path, file_name, count)
