"""CSV import and export at 1,000,000 rows (issues 3 and 21), each against its floor measured in the same run.

    python benchmarks/bench_csv.py --db sqlite --rows 1000000
    python benchmarks/bench_csv.py --db postgresql --url postgresql+psycopg://postgres@127.0.0.1:5432/contactbot_bench
    python benchmarks/bench_csv.py --db sqlite --scenarios create --skip export   # preview + apply vs the floor only

Import = the full validated path of `contactbot import`: sniff, read in chunks (pandas, dtype=str),
validate, stage, count the preview in SQL (the preview), then apply in one transaction (the apply).
"create" imports the file into an empty database; "update" re-imports the same numbers with every
name changed and every second contact deactivated; "again" imports that file once more.

The floor (issue 21): the same file into the same schema with no Python at all: the database's own
CSV loader (`sqlite3 .import`, psql `\\copy`) into a scratch table, one INSERT ... SELECT into `contact`
with the cell words turned into values in SQL, and the same drop-and-rebuild of the 8 indexes, the
unique key, the search index and the tally that storage/bulk_load.py does. Every round measures the
floor and then "create" on a fresh database; medians of `--rounds` (3) rounds, the load average
before and after each. "plain" is the older baseline: `.import` / COPY into a 7-column table with
one unique index. Export = `contactbot export` of 1M demo contacts against `sqlite3 -csv` /
`COPY ... TO` of the same columns. Every measured step runs in its own process, which reports its
peak RSS (pool workers included). PostgreSQL: the database in `--url` is dropped and created for
every round, so its name must contain "bench" (the benchmark refuses any other).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
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


def _dsn(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


def _refuse_unless_bench(url: str) -> str:
    """The PostgreSQL database's name, if it contains "bench" (the benchmark drops it); else stop."""
    from sqlalchemy import make_url

    refuse_unless_bench(url)
    return "" if url.startswith("sqlite") else make_url(url).database or ""


def fresh(url: str) -> None:
    """An empty, migrated database: the SQLite file deleted, or the PostgreSQL database dropped and created.

    Refuses a PostgreSQL database whose name lacks "bench": this drops it.
    """
    from sqlalchemy import make_url, text

    from storage.db import make_engine, upgrade

    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    else:
        name = _refuse_unless_bench(url)
        admin = make_engine(str(make_url(url).set(database="postgres"))).execution_options(isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
    upgrade(url)


# --- child steps (each in its own process, so peak memory is its own) --------------------------


def step_import(url: str, file: str) -> dict[str, Any]:
    from bot.services import imports
    from storage.db import make_engine

    engine = make_engine(url)
    started, cpu_started = time.perf_counter(), _cpu()
    preview = imports.preview(engine, file, Path(file).name, actor="bench", region="DE")
    staged, cpu_staged = time.perf_counter(), _cpu()
    result = imports.apply_run(engine, preview.run_id, "bench", consent_confirmed=True, cleanup=False)
    done, cpu_done = time.perf_counter(), _cpu()
    imports.discard_staging(engine, preview.run_id)
    return {
        "preview_s": staged - started,
        "apply_s": done - staged,
        "total_s": done - started,
        # CPU seconds of this process and its pool workers: on SQLite all of the work, and far less
        # moved by other processes on a shared machine than the wall clock
        "preview_cpu_s": cpu_staged - cpu_started,
        "apply_cpu_s": cpu_done - cpu_staged,
        "total_cpu_s": cpu_done - cpu_started,
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


def _cpu() -> float:
    """CPU seconds (user + system) of this process and its waited-for children."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


LAST_CPU: list[float] = [0.0]  # CPU seconds of the last `_timed` command (the sqlite3 shell's, for the floor)


def _timed(cmd: list[str], **kw: Any) -> float:
    kw.setdefault("stdout", subprocess.DEVNULL)
    cpu = _cpu()
    started = time.perf_counter()
    done = subprocess.run(cmd, check=False, stderr=subprocess.PIPE, **kw)
    if done.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed: {done.stderr.decode(errors='replace')[-2000:]}")
    took = time.perf_counter() - started
    LAST_CPU[0] = _cpu() - cpu
    return took


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
    dsn = _dsn(url)
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


# The floor: the same file into the real schema (`contact` with its 8 indexes, unique key, search index
# and tally) with no Python at all: the database's own CSV loader into a scratch table, one INSERT ...
# SELECT with the cell words turned into values in SQL, and the same drop-and-rebuild of indexes,
# search index and tally that storage/bulk_load.py does (the fastest way either database has).
FLOOR_COLUMNS = (
    "phone, messenger, name, name_sort, first_contact_at, last_chat_at, blocked, active, consent_at, "
    "consent_source, consent_by, blocked_messages, created_at, updated_at"
)


def sqlite_floor(file: Path, url: str) -> float:
    import sqlite3

    from storage import bulk_load

    db = url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        indexes = conn.execute(
            "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'contact' AND sql IS NOT NULL"
        ).fetchall()
        triggers = dict(conn.execute("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").fetchall())
    now = "'2026-12-08 00:00:00.000000'"
    rebuilt = sorted(bulk_load.SQLITE_TRIGGERS - bulk_load.SQLITE_KEPT)
    script = [
        ".bail on",
        f"PRAGMA cache_size = -{256 * 1024};",
        "CREATE TEMP TABLE raw (phone, messenger, name, first, last, blocked, status);",
        ".mode csv",
        ".separator ;",
        f".import --skip 1 {file} raw",
        "BEGIN IMMEDIATE;",
        *(f'DROP INDEX "{name}";' for name, _ in indexes),
        *(f'DROP TRIGGER "{name}";' for name in rebuilt),
        f"INSERT INTO contact ({FLOOR_COLUMNS}) SELECT phone, lower(messenger), name, lower(name), "
        "first || '.000000', last || '.000000', blocked = 'ja', status = 'aktiv', "
        f"{now}, 'import', 'bench', 0, {now}, {now} FROM raw;",
        *(f"{sql};" for _, sql in indexes),
        bulk_load.SQLITE_NEW_DIGITS.format(0) + ";",
        bulk_load.SQLITE_NEW_NAMES.format(0) + ";",
        *(f"{sql};" for sql in bulk_load.TALLY_RECOUNT),
        *(f"{triggers[name]};" for name in rebuilt),
        "COMMIT;",
    ]
    return _timed(["sqlite3", db], input="\n".join(script).encode(), stdout=subprocess.PIPE)


def pg_floor(file: Path, url: str) -> float:
    from storage.db import make_engine

    engine = make_engine(url)
    with engine.connect() as conn:
        indexes = conn.exec_driver_sql(
            "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
            "WHERE i.indrelid = 'contact'::regclass "
            "AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)"
        ).all()
        uniques = conn.exec_driver_sql(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE conrelid = 'contact'::regclass AND contype = 'u'"
        ).all()
    engine.dispose()
    from storage import bulk_load

    script = [
        "\\set ON_ERROR_STOP on",
        "BEGIN;",
        "CREATE TEMP TABLE raw (phone text, messenger text, name text, first text, last text, blocked text, "
        "status text) ON COMMIT DROP;",
        f"\\copy raw FROM '{file}' WITH (FORMAT csv, HEADER, DELIMITER ';')",
        *(f'DROP INDEX "{name}";' for name, _ in indexes),
        *(f'ALTER TABLE contact DROP CONSTRAINT "{name}";' for name, _ in uniques),
        *(f'ALTER TABLE contact DISABLE TRIGGER "{name}";' for name in bulk_load.POSTGRES_TALLY_TRIGGERS),
        f"INSERT INTO contact ({FLOOR_COLUMNS}) SELECT phone, lower(messenger), name, lower(name), "
        "first::timestamp, last::timestamp, blocked = 'ja', status = 'aktiv', "
        "now(), 'import', 'bench', 0, now(), now() FROM raw;",
        "SET LOCAL maintenance_work_mem = '256MB';",
        *(f'ALTER TABLE contact ADD CONSTRAINT "{name}" {definition};' for name, definition in uniques),
        *(f"{sql};" for _, sql in indexes),
        *(f"{sql};" for sql in bulk_load.TALLY_RECOUNT),
        *(f'ALTER TABLE contact ENABLE TRIGGER "{name}";' for name in bulk_load.POSTGRES_TALLY_TRIGGERS),
        "COMMIT;",
    ]
    return _timed(["psql", _dsn(url), "-q"], input="\n".join(script).encode(), stdout=subprocess.PIPE)


EXPORT_SQL = (
    "SELECT phone, messenger, name, first_contact_at, last_chat_at, blocked, active FROM contact "
    "ORDER BY last_chat_at DESC, id DESC"
)


def sqlite_export_baseline(url: str, out: Path) -> float:
    with out.open("wb") as handle:
        return _timed(["sqlite3", "-csv", "-header", url.removeprefix("sqlite:///"), EXPORT_SQL], stdout=handle)


def pg_export_baseline(url: str, out: Path) -> float:
    return _timed(["psql", _dsn(url), "-qc", f"\\copy ({EXPORT_SQL}) TO '{out}' WITH (FORMAT csv, HEADER)"])


def _median(values: list[float]) -> float:
    return round(statistics.median(values), 2)


def import_rounds(args: argparse.Namespace, url: str, work: Path) -> dict[str, Any]:
    """Each round: the floor, then create / update / again through contactbot, all on the same file."""
    create, update = work / "create.csv", work / "update.csv"
    make_file(create, args.rows, update=False)
    make_file(update, args.rows, update=True)
    floor_url = f"sqlite:///{work / 'floor.db'}" if args.db == "sqlite" else url
    rounds: list[dict[str, Any]] = []
    for number in range(1, args.rounds + 1):
        one: dict[str, Any] = {"load_before": os.getloadavg()[0]}
        if args.db == "postgresql":
            fresh(url)  # the database exists before the plain baseline's table goes into it
        one["plain_import_s"] = (
            sqlite_import_baseline(create, work) if args.db == "sqlite" else pg_import_baseline(create, url)
        )
        fresh(floor_url)
        one["floor_s"] = sqlite_floor(create, floor_url) if args.db == "sqlite" else pg_floor(create, floor_url)
        one["floor_cpu_s"] = LAST_CPU[0]  # SQLite: the shell does all the work; PostgreSQL: psql's share only
        fresh(url)
        one["create"] = child("import", url, str(create))
        if "update" in args.scenarios:
            one["update"] = child("import", url, str(update))
            one["again"] = child("import", url, str(update))  # same file twice: changes nothing
        one["load_after"] = os.getloadavg()[0]
        create_total = one["create"]["total_s"]
        print(
            f"round {number}: floor {one['floor_s']:.1f} s, create preview {one['create']['preview_s']:.1f} + apply "
            f"{one['create']['apply_s']:.1f} = {create_total:.1f} s ({create_total / one['floor_s']:.2f}x); CPU "
            f"floor {one['floor_cpu_s']:.1f} s, create {one['create']['total_cpu_s']:.1f} s "
            f"({one['create']['total_cpu_s'] / max(one['floor_cpu_s'], 1e-9):.2f}x), "
            f"load {one['load_before']:.1f}-{one['load_after']:.1f}",
            file=sys.stderr,
        )
        rounds.append(one)
    out: dict[str, Any] = {
        "file_mb": round(create.stat().st_size / 1e6, 1),
        "floor_s": _median([r["floor_s"] for r in rounds]),
        "floor_cpu_s": _median([r["floor_cpu_s"] for r in rounds]),
        "plain_import_s": _median([r["plain_import_s"] for r in rounds]),
        "load": [min(r["load_before"] for r in rounds), max(r["load_after"] for r in rounds)],
    }
    for scenario in ("create", "update", "again") if "update" in args.scenarios else ("create",):
        out[scenario] = {
            key: _median([r[scenario][key] for r in rounds])
            for key in ("preview_s", "apply_s", "total_s", "preview_cpu_s", "apply_cpu_s", "total_cpu_s", "peak_mb")
        }
        out[scenario]["counts"] = rounds[-1][scenario]["counts"]
        out[scenario]["ratio_to_floor"] = round(
            statistics.median(r[scenario]["total_s"] / r["floor_s"] for r in rounds), 2
        )
        if args.db == "sqlite":
            out[scenario]["cpu_ratio_to_floor"] = round(
                statistics.median(r[scenario]["total_cpu_s"] / r["floor_cpu_s"] for r in rounds), 2
            )
    out["rounds"] = rounds
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--url", default=None, help="PostgreSQL: a database whose name contains 'bench' (dropped)")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--scenarios", default="create,update", help="create (and floor), update (and again)")
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
    _refuse_unless_bench(url)
    results: dict[str, Any] = {"db": args.db, "rows": args.rows, "rounds": args.rounds}
    skip = set(args.skip.split(","))
    if "import" not in skip:
        results["import"] = import_rounds(args, url, work)
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
