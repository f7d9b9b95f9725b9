"""CSV import and export at 1,000,000 rows (issue 3), each against its raw baseline in the same run.

    python benchmarks/bench_csv.py --db sqlite --rows 1000000
    python benchmarks/bench_csv.py --db postgresql --rows 1000000 [--url postgresql+psycopg://...]
    python benchmarks/bench_csv.py --db sqlite --rows 1000000 --markdown   # a table for docs/benchmarks.md

Import = the full validated path of `contactbot import`: sniff, read in chunks (pandas, dtype=str),
validate (phone numbers on both cores), stage, count the preview in SQL, then apply in one
transaction. "create" imports the file into an empty database; "update" re-imports the same
numbers with every name changed and every second contact deactivated. Baselines on the same
file: the `sqlite3` shell's `.import` into a table with a unique (phone, messenger) index, and
PostgreSQL `COPY` into such a table. Export = `contactbot export` of 1M demo contacts
(`bot.services.demo_data.generate`) against `sqlite3 -csv` / `COPY ... TO` of the same columns.
Every measured step runs in its own process, which reports its peak RSS (pool workers included).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench_db import refuse_unless_bench  # noqa: E402

PG_DEFAULT = "postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench"
MESSENGERS = ("WhatsApp", "WhatsApp", "WhatsApp", "Telegram", "Instagram", "SMS")
PREFIXES = ("160", "162", "163", "170", "171", "172", "173", "174", "175", "176", "177", "178", "179")


def make_file(path: Path, rows: int, update: bool) -> None:
    """An export-shaped German file of valid, unique numbers; `update` changes names and statuses."""
    with path.open("w", encoding="utf-8-sig", newline="") as out:
        out.write("Nummer;Messenger;Name;Erstkontakt;Letzter Chat;Blockiert;Status\r\n")
        for i in range(rows):
            phone = f"+49{PREFIXES[i % len(PREFIXES)]}{(i // len(PREFIXES)) * 7919 % 10**7:07d}"
            name = f"Kontakt {i} {'neu' if update else 'alt'}"
            status = "inaktiv" if update and i % 2 else "aktiv"
            out.write(f"{phone};{MESSENGERS[i % 6]};{name};2025-01-01 10:00:00;2026-01-01 10:00:00;nein;{status}\r\n")


def peak_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


def fresh(url: str) -> None:
    from sqlalchemy import text

    from storage.db import make_engine, upgrade

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        refuse_unless_bench(url)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    upgrade(url)


# --- child steps (each in its own process, so peak memory is its own) --------------------------


def step_import(url: str, file: str) -> dict[str, Any]:
    from bot.services import imports
    from storage.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    preview = imports.preview(engine, file, Path(file).name, actor="bench", region="DE")
    staged = time.perf_counter()
    result = imports.apply_run(engine, preview.run_id, "bench", consent_confirmed=True, cleanup=False)
    done = time.perf_counter()
    imports.discard_staging(engine, preview.run_id)
    return {
        "preview_s": staged - started,
        "apply_s": done - staged,
        "total_s": done - started,
        "cleanup_s": time.perf_counter() - done,
        "counts": result.counts.as_dict(),
        "peak_mb": peak_mb(),
    }


def step_export(url: str, file: str) -> dict[str, Any]:
    from bot.domain.contacts import ContactFilter
    from bot.services import exports
    from storage.db import make_engine

    engine = make_engine(url)
    started = time.perf_counter()
    result = exports.export(engine, ContactFilter(status="all"), lang="de", delimiter=";", path=file)
    return {
        "total_s": time.perf_counter() - started,
        "rows": result.count,
        "peak_mb": peak_mb(),
        "bytes": os.path.getsize(file),
    }


def step_demo(url: str, rows: str) -> dict[str, Any]:
    from bot.services.demo_data import generate
    from storage.db import make_engine

    started = time.perf_counter()
    generate(make_engine(url), int(rows), tickets=0)
    return {"total_s": time.perf_counter() - started}


def child(step: str, url: str, arg: str) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", step, url, arg], capture_output=True, text=True, cwd=ROOT, check=False
    )
    if out.returncode != 0:
        raise SystemExit(f"{step} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- baselines ----------------------------------------------------------------------------------


def _timed(cmd: list[str], **kw: Any) -> float:
    kw.setdefault("stdout", subprocess.DEVNULL)
    started = time.perf_counter()
    subprocess.run(cmd, check=True, stderr=subprocess.PIPE, **kw)
    return time.perf_counter() - started


def sqlite_import_baseline(file: Path, work: Path) -> float:
    db = work / "baseline.db"
    db.unlink(missing_ok=True)
    schema = (
        "CREATE TABLE t (phone TEXT, messenger TEXT, name TEXT, first_contact TEXT, last_chat TEXT, "
        "blocked TEXT, status TEXT); CREATE UNIQUE INDEX ux ON t (phone, messenger);"
    )
    subprocess.run(["sqlite3", str(db), schema], check=True)
    return _timed(["sqlite3", str(db), ".mode csv", ".separator ;", f".import --skip 1 {file} t"])


def pg_import_baseline(file: Path, url: str) -> float:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    subprocess.run(
        [
            "psql",
            dsn,
            "-qc",
            "DROP TABLE IF EXISTS bench_t; CREATE TABLE bench_t (phone text, messenger "
            "text, name text, first_contact text, last_chat text, blocked text, status text); "
            "CREATE UNIQUE INDEX ON bench_t (phone, messenger);",
        ],
        check=True,
    )
    took = _timed(["psql", dsn, "-qc", f"\\copy bench_t FROM '{file}' WITH (FORMAT csv, HEADER, DELIMITER ';')"])
    subprocess.run(["psql", dsn, "-qc", "DROP TABLE bench_t"], check=True)
    return took


EXPORT_SQL = (
    "SELECT phone, messenger, name, first_contact_at, last_chat_at, blocked, active FROM contact "
    "ORDER BY last_chat_at DESC, id DESC"
)


def sqlite_export_baseline(url: str, out: Path) -> float:
    with out.open("wb") as handle:
        return _timed(["sqlite3", "-csv", "-header", url.removeprefix("sqlite:///"), EXPORT_SQL], stdout=handle)


def pg_export_baseline(url: str, out: Path) -> float:
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    return _timed(["psql", dsn, "-qc", f"\\copy ({EXPORT_SQL}) TO '{out}' WITH (FORMAT csv, HEADER)"])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default=None)
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--work", default=None, help="directory for the files (default: a temp dir)")
    parser.add_argument("--skip", default="", help="comma list of: import,export")
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--out", default=None, help="also write the results as JSON here")
    args = parser.parse_args()
    if args.child:
        step, url, arg = args.child
        print(json.dumps({"import": step_import, "export": step_export, "demo": step_demo}[step](url, arg)))
        return
    if shutil.which("sqlite3") is None:
        raise SystemExit("the sqlite3 shell is needed for the baseline: apt-get install sqlite3")
    work = Path(args.work or tempfile.mkdtemp(prefix="contactbot-bench-csv-"))
    work.mkdir(parents=True, exist_ok=True)
    url = args.url or (PG_DEFAULT if args.db == "postgresql" else f"sqlite:///{work / 'bench.db'}")
    results: dict[str, Any] = {"db": args.db, "rows": args.rows}
    skip = set(args.skip.split(","))
    if "import" not in skip:
        create, update = work / "create.csv", work / "update.csv"
        make_file(create, args.rows, update=False)
        make_file(update, args.rows, update=True)
        results["file_mb"] = round(create.stat().st_size / 1e6, 1)
        results["import_baseline_s"] = (
            sqlite_import_baseline(create, work) if args.db == "sqlite" else pg_import_baseline(create, url)
        )
        fresh(url)
        results["import_create"] = child("import", url, str(create))
        results["import_update"] = child("import", url, str(update))
        results["import_again"] = child("import", url, str(update))  # same file twice: changes nothing
    if "export" not in skip:
        fresh(url)
        results["demo_fill_s"] = child("demo", url, str(args.rows))["total_s"]
        out = work / "export.csv"
        results["export_baseline_s"] = (
            sqlite_export_baseline(url, work / "baseline.csv")
            if args.db == "sqlite"
            else pg_export_baseline(url, work / "baseline.csv")
        )
        results["export"] = child("export", url, str(out))
    print(json.dumps(results, indent=2))
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
