"""`contactbot serve` as a real subprocess: its own environment, a free port, logs captured to a file."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine

from bot.config.settings import load_settings
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, wait_until
from tests.fakes.slack_api import FakeSlack


@dataclass
class ServeProcess:
    proc: subprocess.Popen[bytes]
    url: str
    log_path: Path

    def logs(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def stop(self, timeout: float = 30) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise


def serve(db_url: str, fake: FakeSlack, log_path: Path, *args: str, **env: str) -> ServeProcess:
    """Start `python -m bot serve --port 0 [args]` (HTTP mode), read the port it bound from its log, wait for /healthz.

    Port 0: the kernel picks a free port when the server binds, so no other process can take it in between."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LOG_"))}
    environ |= {
        "DATABASE_URL": db_url,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake.api_url,
        "CONTACTBOT_ADMINS": ADMIN,
        "PYTHONUNBUFFERED": "1",
        **env,
    }
    with log_path.open("wb") as out:
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", "0", *args]
        proc = subprocess.Popen(command, env=environ, stdout=out, stderr=subprocess.STDOUT)
    running = ServeProcess(proc, "", log_path)
    try:
        running.url = wait_for_url(proc, running.logs)
        wait_until(lambda: _healthy(running.url), f"serve did not answer /healthz: {running.logs()}")
    except BaseException:
        running.stop()
        raise
    return running


LISTENING = re.compile(r"listening on (http://127\.0\.0\.1:\d+)")


def wait_for_url(proc: subprocess.Popen[Any], logs: Callable[[], str]) -> str:
    """The address a `serve --port 0` process bound, from its log line; fails loudly when it exits first."""
    found: list[str] = []

    def bound() -> bool:
        if match := LISTENING.search(logs()):
            found.append(match.group(1))
            return True
        if proc.poll() is not None:
            raise AssertionError(f"serve exited with {proc.returncode}: {logs()}")
        return False

    wait_until(bound, "serve did not report the port it listens on")
    return found[0]


def _healthy(url: str) -> bool:
    try:
        return httpx.get(f"{url}/healthz", timeout=5).status_code == 200
    except httpx.TransportError:
        return False


def client(process: ServeProcess, fake: FakeSlack, engine: Engine, http: httpx.Client) -> RunningApp:
    """The conftest driver (signed commands, clicks, events) aimed at a subprocess instead of a thread."""
    settings = load_settings(
        DATABASE_URL=str(engine.url.render_as_string(hide_password=False)),
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake.api_url,
        CONTACTBOT_ADMINS=ADMIN,
    )
    return RunningApp(process.url, fake, engine, settings, http)
