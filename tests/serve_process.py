"""`contactbot serve` as a real subprocess: its own environment, a free port, logs captured to a file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
from sqlalchemy import Engine

from bot.config.settings import load_settings
from tests.conftest import ADMIN, BOT_TOKEN, SIGNING_SECRET, RunningApp, free_port
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
    """Start `python -m bot serve [args]` (HTTP mode) and wait until /healthz answers."""
    port = free_port()
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
        command = [sys.executable, "-m", "bot", "serve", "--host", "127.0.0.1", "--port", str(port), *args]
        proc = subprocess.Popen(command, env=environ, stdout=out, stderr=subprocess.STDOUT)
    running = ServeProcess(proc, f"http://127.0.0.1:{port}", log_path)
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(f"{running.url}/healthz", timeout=1)
            return running
        except httpx.TransportError:
            if proc.poll() is not None:
                raise AssertionError(f"serve exited with {proc.returncode}: {running.logs()}") from None
            if time.monotonic() > deadline:
                running.stop()
                raise AssertionError(f"serve did not start: {running.logs()}") from None
            time.sleep(0.1)


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
