"""`contactbot ...`: serve, migrate, and manage contacts from a terminal with the same services as Slack.

One module per command group; each has `add_commands(sub)`.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any

from bot.cli import broadcasts, contacts, csv, doctor, groups, serve, worker
from bot.cli.common import Parser
from bot.cli.errors import RUNTIME, debug_wanted, explain
from bot.config.logs import redact, secrets_of, setup
from bot.config.settings import Settings, load_settings
from bot.i18n import cli_language, t
from storage.db import database_password

# Features register their own subcommands here: name -> (configure parser, run).
EXTRA_COMMANDS: list[Callable[[Any], None]] = []


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="contactbot", description="Slack contact console for messenger customer service.")
    parser.add_argument("--debug", action="store_true", help="show the traceback of a failure (or LOG_LEVEL=DEBUG)")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (serve, contacts, groups, csv, broadcasts, worker, doctor):
        group.add_commands(sub)
    for add in EXTRA_COMMANDS:
        add(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; a failure ends in one line on stderr (exit 2: configuration, 1: runtime)."""
    args = build_parser().parse_args(argv)
    # The one language of the CLI (CONTACTBOT_LANG, else the locale); commands read `args.lang`.
    args.lang = cli_language(os.environ)
    debug = debug_wanted(args.debug)
    settings: Settings | None = None
    try:
        settings = load_settings()
        setup("DEBUG" if debug else "INFO", secrets=secrets_of(settings, database_password(settings.database_url)))
        if args.command == "serve":
            settings.require_slack()
        return int(args.run(args, settings))
    except BrokenPipeError:
        # `contactbot contacts list | head`: the reader has all it wanted; stay quiet, also at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        print(t("cli.error.prefix", args.lang, message=t("cli.error.interrupted", args.lang)), file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - the one place that turns any failure into one line
        return _fail(exc, settings, args.lang, debug)


def _fail(exc: Exception, settings: Settings | None, lang: str, debug: bool) -> int:
    explained = explain(exc, settings)
    if explained is None:
        message, code = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}".rstrip(": "), RUNTIME
        if not debug:
            message += " " + t("cli.error.debug_hint", lang)
    else:
        message, code = explained.message(lang), explained.exit_code
    line = t("cli.error.prefix", lang, message=message)
    if settings is not None:
        line = redact(line, secrets_of(settings, database_password(settings.database_url)))
    log = logging.getLogger("contactbot")
    if debug and not logging.getLogger().handlers:  # failed before logging was set up (a setting)
        traceback.print_exception(exc, file=sys.stderr)
        print(line, file=sys.stderr)
    elif debug:
        log.critical("%s", line, exc_info=exc)
    elif os.environ.get("LOG_FORMAT") == "json" and logging.getLogger().handlers:
        log.critical("%s", line)  # one JSON line, redacted like every log line
    else:
        print(line, file=sys.stderr)
    return code
