"""`contactbot worker`: the sending process without HTTP (its wiring is `bot/worker.py`)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.cli.common import open_engine
from bot.config.settings import Settings
from bot.worker import run_worker


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:
    return run_worker(settings, open_engine(settings), once=args.once, scheduler=not args.no_scheduler)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("worker", help="send broadcasts and run scheduled ones (no HTTP)")
    p.add_argument("--once", action="store_true", help="work until nothing is left, then exit")
    p.add_argument("--no-scheduler", action="store_true", help="only poll the database, no APScheduler")
    p.set_defaults(run=cmd_worker)
