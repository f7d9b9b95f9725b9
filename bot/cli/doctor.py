"""`contactbot doctor`: checks everything a deployment needs, one line per check (ok / problem + fix).

The checks are bot/services/doctor.py; Slack is asked through handlers/clients/slack_checks.py. Exit code 0
when nothing is wrong, 1 when a check found a problem; `--json` for scripts.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from bot.config.settings import Settings
from bot.i18n import t
from bot.services import doctor
from handlers.clients.slack_checks import SlackChecks


def cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    lang = args.lang
    checks = doctor.run(settings, lambda: SlackChecks(settings))

    def text(key: str, values: dict[str, Any]) -> str:
        return t(key, lang, **values)

    if args.json:
        print(json.dumps(doctor.as_json(checks, text), ensure_ascii=False, indent=2))
    else:
        width = max(len(t(f"cli.doctor.{c.status}", lang)) for c in checks)
        for c in checks:
            status, name = t(f"cli.doctor.{c.status}", lang), t(f"doctor.check.{c.name}", lang)
            line = f"{status:<{width}}  {name}: {text(c.key, c.values)}"
            if c.fix:
                line += f" -> {text(c.fix, c.fix_values)}"
            print(line)
        problems = sum(1 for c in checks if not c.ok)
        summary = "cli.doctor.summary_problems" if problems else "cli.doctor.summary_ok"
        print(t(summary, lang, n=problems or len(checks)))
    return 0 if all(c.ok for c in checks) else 1


def add_commands(sub: Any) -> None:
    p = sub.add_parser("doctor", help="check the database, Slack and WhatsApp settings of this deployment")
    p.add_argument("--json", action="store_true", help="the checks as JSON, for scripts")
    p.set_defaults(run=cmd_doctor)
