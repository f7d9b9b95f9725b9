"""`contactbot serve` (the Slack app, HTTP routes and, unless told otherwise, the sender) and `contactbot db`."""

from __future__ import annotations

import argparse
import logging
import sys
from typing import Any

from bot.cli.common import open_engine
from bot.config.settings import Settings
from bot.i18n import t
from storage.db import current_revision, engine_for, upgrade

log = logging.getLogger("contactbot")


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    # Imported here (start-up cost): Bolt, every listener, Starlette and uvicorn load only for `serve`.
    from bot.web import lifecycle
    from bot.web.server import create_asgi
    from bot.worker import start_sending
    from handlers.app import create_app

    settings.require_slack()
    # The event loop reads every request; when worker threads (lists, previews) hold the GIL it waits up to one
    # switch interval per thread for its turn. A shorter interval bounds that wait (docs/benchmarks.md).
    sys.setswitchinterval(settings.switch_interval_ms / 1000)
    engine = open_engine(settings)
    bolt = create_app(settings, engine)
    executors = lifecycle.instrument(bolt)  # request ids in listener logs; drained on SIGTERM
    socket_handler = None
    if settings.slack_app_token:
        from slack_bolt.adapter.socket_mode import SocketModeHandler  # start-up cost: only with an app token

        socket_handler = SocketModeHandler(bolt, settings.slack_app_token)
        socket_handler.connect()
        log.info("Slack traffic over Socket Mode; HTTP serves health and webhooks")
    asgi = create_asgi(settings, engine, None if socket_handler else bolt)
    log.info("serving on http://%s:%s", args.host, args.port)
    sender = None if args.no_scheduler else start_sending(settings, engine)  # broadcasts, scheduled ones
    # SIGTERM: no new work, work in flight finishes within CONTACTBOT_SHUTDOWN_GRACE_SECONDS (bot/web/lifecycle.py)
    try:
        return lifecycle.serve(
            asgi,
            args.host,
            args.port,
            grace=settings.shutdown_grace,
            executors=executors,
            socket_handler=socket_handler,
            header_timeout=settings.header_timeout,
        )
    finally:
        if sender is not None:
            sender.stop()


def cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    upgrade(settings.database_url)
    print(t("cli.db.revision", args.lang, revision=current_revision(engine_for(settings.database_url))))
    return 0


def add_commands(sub: Any) -> None:
    p = sub.add_parser("serve", help="run the Slack app and the HTTP routes")
    p.add_argument("--host", default="0.0.0.0")
    p.add_argument("--port", type=int, default=3000)
    p.add_argument(
        "--no-scheduler", action="store_true", help="do not send broadcasts here (run `contactbot worker` separately)"
    )
    p.set_defaults(run=cmd_serve)

    p = sub.add_parser("db", help="database schema")
    p.add_argument("action", choices=["upgrade"])
    p.set_defaults(run=cmd_db)
