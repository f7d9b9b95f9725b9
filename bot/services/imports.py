"""CSV import as a service for Slack and the CLI: preview (a dry run that stages), then apply or cancel.

The preview runs in one transaction: a file that turns out unreadable halfway leaves nothing
behind. Apply moves the run from `preview` to `applied` in the same transaction as the data, so a
double click, a retried request or a second process can never apply a file twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Executor, Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from bot.domain.csv_format import FileProblem, sniff
from bot.domain.csv_rows import ColumnMap
from bot.domain.phone import to_e164_many
from bot.domain.statuses import ImportStatus
from bot.i18n import t
from storage import csv_import as csv_import_store
from storage.csv_import import Counts
from storage.db import Engine, bulk_cache
from storage.idempotency import claim, hold, release
from storage.models import utcnow

log = logging.getLogger(__name__)
POOL_FROM_BYTES = 16 * 1024 * 1024  # ~150,000 rows: below, starting two processes costs more than it saves
SHOWN_ERRORS = 10
STALE_AFTER_DAYS = 7
Progress = Callable[[str, int], None]

__all__ = ["FileProblem", "Preview", "ImportRefused", "preview", "apply_run", "cancel_run"]


class ImportRefused(Exception):
    """A confirm or cancel that cannot happen; `code` is an i18n key, `values` fill it."""

    def __init__(self, code: str, **values: Any) -> None:
        super().__init__(code)
        self.code = code
        self.values = values


@dataclass
class Preview:
    run_id: int
    file_name: str
    rows: int
    counts: Counts
    errors: list[dict[str, Any]] = field(default_factory=list)  # the first few rejected rows
    new_attributes: list[str] = field(default_factory=list)
    status: str = ImportStatus.PREVIEW
    created_by: str = ""

    def as_json(self, lang: str = "en") -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "file": self.file_name,
            "rows": self.rows,
            "status": self.status,
            "counts": self.counts.as_dict(),
            "new_attributes": self.new_attributes,
            "errors": [
                {
                    "row": e["row"],
                    "column": e.get("column", ""),
                    "code": e.get("code", ""),
                    "reason": reason(e, lang),
                    "value": e.get("value", ""),
                }
                for e in self.errors
            ],
        }


def reason(error: dict[str, Any], lang: str) -> str:
    return t(f"import.row.{error.get('code', 'phone.invalid')}", lang, value=error.get("value", ""))


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
    return digest.hexdigest()


class _LazyPool(Executor):
    """Both cores for phone numbers that are not canonical yet (phonenumbers costs ~17 µs each).

    Started on first use only: files of `+49...` numbers never pay the process start-up.
    "spawn", not fork: the Slack server has threads and open database connections.
    """

    def __init__(self) -> None:
        self._pool: ProcessPoolExecutor | None = None

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(max_workers=2, mp_context=multiprocessing.get_context("spawn"))
        return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def _pool(path: str) -> Executor | None:
    if os.path.getsize(path) < POOL_FROM_BYTES or (os.cpu_count() or 1) < 2:
        return None
    return _LazyPool()


def _summary_cols(cols: ColumnMap) -> dict[str, Any]:
    return {"headers": cols.headers, "new_attributes": [a.header for a in cols.new_attributes]}


def preview(
    engine: Engine,
    path: str,
    file_name: str,
    *,
    actor: str,
    region: str,
    file_id: str | None = None,
    channel_id: str | None = None,
    thread_ts: str | None = None,
    progress: Progress | None = None,
) -> Preview:
    """Read, validate and stage the file; count what would change. Nothing in `contact` changes."""
    expire_stale(engine)
    sniffed = sniff(path)
    sha = _sha256(path)
    pool = _pool(path)
    try:
        with engine.begin() as conn, bulk_cache(conn):
            cols = csv_import_store.map_columns(conn, sniffed.header)
            run_id = csv_import_store.create_run(
                conn,
                file_id=file_id,
                file_name=file_name[:255],
                file_sha256=sha,
                status=ImportStatus.PREVIEW,
                created_by=actor[:50],
                channel_id=channel_id,
                thread_ts=thread_ts,
                created_at=utcnow(),
            )
            result = csv_import_store.stage(conn, run_id, path, sniffed, cols, region, to_e164_many, pool, progress)
            counts = csv_import_store.preview_counts(conn, run_id, cols)
            errors = csv_import_store.rejected_rows(conn, run_id, SHOWN_ERRORS)
            summary = {
                **_summary_cols(cols),
                "rows": result.rows,
                "counts": counts.as_dict(),
                "encoding": sniffed.encoding,
                "delimiter": sniffed.delimiter,
            }
            csv_import_store.update_run(conn, run_id, summary=summary)
    finally:
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
    log.info("import preview run=%s rows=%s counts=%s", run_id, result.rows, counts.as_dict())
    return Preview(
        run_id, file_name, result.rows, counts, errors, [a.header for a in cols.new_attributes], created_by=actor
    )


def load(engine: Engine, run_id: int) -> Preview:
    with engine.connect() as conn:
        run = csv_import_store.get_run(conn, run_id)
        if run is None:
            raise ImportRefused("import.gone")
        errors = (
            csv_import_store.rejected_rows(conn, run_id, SHOWN_ERRORS) if run.status == ImportStatus.PREVIEW else []
        )
    summary = run.summary or {}
    counts = Counts(**summary.get("counts", {}))
    return Preview(
        run_id,
        run.file_name,
        int(summary.get("rows", 0)),
        counts,
        errors,
        list(summary.get("new_attributes", [])),
        run.status,
        run.created_by,
    )


def apply_run(
    engine: Engine,
    run_id: int,
    actor: str,
    *,
    consent_confirmed: bool,
    progress: Progress | None = None,
    cleanup: bool = True,
) -> Preview:
    """All staged rows or nothing, in one transaction; new contacts carry who consented, when, which file.

    With `cleanup=False` the caller drops the staged rows later (`discard_staging`), e.g. after it
    has shown the result: at a million rows that delete takes seconds.
    """
    now = utcnow()
    with engine.begin() as conn, bulk_cache(conn):
        run = csv_import_store.get_run(conn, run_id)
        if run is None:
            raise ImportRefused("import.gone")
        if not csv_import_store.claim(conn, run_id, ImportStatus.PREVIEW, ImportStatus.APPLIED):
            raise ImportRefused("import.already", status=csv_import_store.get_run(conn, run_id).status)
        summary = dict(run.summary or {})
        cols = csv_import_store.map_columns(conn, list(summary.get("headers", [])))
        counts = csv_import_store.preview_counts(conn, run_id, cols)
        if counts.created and not consent_confirmed:
            raise ImportRefused("import.consent_needed", count=counts.created)
        source = f"import:{run.file_name}#{run_id}"[:200]
        counts = csv_import_store.apply(
            conn, run_id, cols, now=now, consent_source=source, consent_by=actor[:50], progress=progress, counts=counts
        )
        summary["counts"] = counts.as_dict()
        csv_import_store.update_run(conn, run_id, summary=summary, applied_at=now, applied_by=actor[:50])
        csv_import_store.audit(conn, actor, "import.apply", run_id, counts.as_dict(), now)
    log.info("import applied run=%s counts=%s", run_id, counts.as_dict())
    if cleanup:
        discard_staging(engine, run_id)
    return Preview(
        run_id,
        run.file_name,
        int(summary.get("rows", 0)),
        counts,
        [],
        list(summary.get("new_attributes", [])),
        ImportStatus.APPLIED,
        run.created_by,
    )


def cancel_run(engine: Engine, run_id: int, actor: str) -> Preview:
    with engine.begin() as conn:
        run = csv_import_store.get_run(conn, run_id)
        if run is None:
            raise ImportRefused("import.gone")
        if not csv_import_store.claim(conn, run_id, ImportStatus.PREVIEW, ImportStatus.CANCELLED):
            raise ImportRefused("import.already", status=run.status)
        csv_import_store.discard(conn, run_id)
        csv_import_store.update_run(conn, run_id, applied_by=actor[:50], applied_at=utcnow())
        csv_import_store.audit(conn, actor, "import.cancel", run_id, {}, utcnow())
    summary = run.summary or {}
    return Preview(
        run_id,
        run.file_name,
        int(summary.get("rows", 0)),
        Counts(**summary.get("counts", {})),
        status=ImportStatus.CANCELLED,
        created_by=run.created_by,
    )


def expire_stale(engine: Engine, days: int = STALE_AFTER_DAYS) -> int:
    """Cancel previews left open for `days` and drop their staged rows; a late click is told so."""
    with engine.connect() as conn:
        stale = csv_import_store.stale_previews(conn, utcnow() - timedelta(days=days))
    for run_id in stale:
        with contextlib.suppress(ImportRefused):  # confirmed or cancelled meanwhile
            cancel_run(engine, run_id, "system:expiry")
    return len(stale)


def discard_staging(engine: Engine, run_id: int) -> None:
    with engine.begin() as conn:
        csv_import_store.discard(conn, run_id)


def rejected_csv(engine: Engine, run_id: int, lang: str) -> bytes:
    row, column, why, value = (t(f"import.rejected_header.{k}", lang) for k in ("row", "column", "reason", "value"))
    headers = (row, column, why, value)
    with engine.connect() as conn:
        return csv_import_store.rejected_csv(conn, run_id, headers, lambda e: reason(e, lang))


def set_message(engine: Engine, run_id: int, channel_id: str | None, message_ts: str | None) -> None:
    """Remember where the preview message is, so progress and results can update it."""
    with engine.begin() as conn:
        csv_import_store.update_run(conn, run_id, channel_id=channel_id, message_ts=message_ts)


PREVIEW_STALE_AFTER = timedelta(hours=1)  # a preview lock older than this belonged to a process that died


def hold_preview_slot(engine: Engine, user_id: str) -> bool:
    """One running preview per person, across every web process: a preview reads the whole file and
    stages every row, so nobody may fill the workers or hold the database's write lock with several."""
    return hold(engine, f"preview-running:{user_id}", PREVIEW_STALE_AFTER)


def release_preview_slot(engine: Engine, user_id: str) -> None:
    release(engine, f"preview-running:{user_id}")


def claim_file(engine: Engine, file_id: str) -> bool:
    """True exactly once per Slack file: one upload fires two events, and Slack retries them."""
    return claim(engine, f"file:{file_id}")
