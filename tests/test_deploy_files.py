"""The deployment files an operator uses as they are: Dockerfile, compose.yaml, .env.example, docs/deploy.md.

No Docker engine is needed (nor available in CI): the files are parsed and checked against the
code they run, and the image's HEALTHCHECK command is run against a real server.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy.engine import make_url

from bot.cli import build_parser
from bot.config.settings import Settings
from tests.conftest import RunningApp

ROOT = Path(__file__).resolve().parents[1]


def _dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with line continuations joined and comments dropped."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1].strip())
        for line in (raw.strip() for raw in text.splitlines())
        if line and not line.startswith("#")
    ]


def _final_stage() -> list[tuple[str, str]]:
    steps = _dockerfile()
    last_from = max(i for i, (op, _) in enumerate(steps) if op == "FROM")
    return steps[last_from:]


def _compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_image_is_slim_python_311_runs_as_non_root_and_serves_by_default() -> None:
    stage = _final_stage()
    ops = [op for op, _ in stage]
    assert stage[0][1].startswith("python:3.11-slim")
    user = [args for op, args in stage if op == "USER"]
    assert user and user[-1].split(":")[0] not in ("root", "0")
    assert ops.index("USER") < ops.index("ENTRYPOINT")
    assert json.loads(dict(stage)["ENTRYPOINT"]) == ["contactbot"]
    assert json.loads(dict(stage)["CMD"]) == ["serve"]
    assert dict(stage)["EXPOSE"] == str(build_parser().parse_args(["serve"]).port)
    installs = [args for op, args in _dockerfile() if op == "RUN" and "pip install" in args]
    assert installs and installs[0].rstrip().endswith("pip install --require-hashes -r requirements.lock")
    assert installs[-1].rstrip().endswith("pip install --no-deps .")  # then the package from this checkout
    ignored = (ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".venv" in ignored  # secrets and the local venv never reach the image


def test_the_images_healthcheck_passes_on_a_live_server_and_fails_on_a_dead_one(running_app: RunningApp) -> None:
    check = dict(_final_stage())["HEALTHCHECK"]
    assert "/healthz" in check
    command = json.loads(check.split("CMD", 1)[1].strip())
    assert command[0] == "python"
    port = running_app.url.rsplit(":", 1)[1]
    live = [sys.executable, *[c.replace("127.0.0.1:3000", f"127.0.0.1:{port}") for c in command[1:]]]
    assert subprocess.run(live, capture_output=True, timeout=30).returncode == 0
    dead = [sys.executable, *[c.replace("127.0.0.1:3000", "127.0.0.1:9") for c in command[1:]]]
    assert subprocess.run(dead, capture_output=True, timeout=30).returncode != 0


def test_compose_runs_postgres_web_processes_and_one_worker() -> None:
    """What each service runs is read through our own CLI parser, so a renamed flag or command shows here."""
    compose = _compose()
    services = compose["services"]
    db = services["db"]
    assert db["image"].startswith("postgres:")
    volume = db["volumes"][0].split(":")
    assert volume[1] == "/var/lib/postgresql/data" and volume[0] in compose["volumes"]  # data survives
    parser = build_parser()
    runs = {name: parser.parse_args(services[name]["command"]) for name in ("web", "worker", "migrate")}
    assert runs["web"].command == "serve" and runs["web"].no_scheduler  # web processes never send broadcasts
    assert runs["worker"].command == "worker" and not runs["worker"].no_scheduler and not runs["worker"].once
    assert (runs["migrate"].command, runs["migrate"].action) == ("db", "upgrade")
    assert runs["web"].port == 3000 and "3000" in services["web"]["expose"]  # the port the proxy forwards to
    senders = [n for n, args in runs.items() if args.command in ("serve", "worker") and not args.no_scheduler]
    assert senders == ["worker"] and services["worker"].get("deploy", {}).get("replicas", 1) == 1
    grace = int(Settings.model_fields["shutdown_grace"].default)
    env = db["environment"]
    for name in ("web", "worker", "migrate"):
        service = services[name]
        assert service["env_file"] == [".env"] and service["build"] == "."
        url = make_url(service["environment"]["DATABASE_URL"])
        assert url.drivername == "postgresql+psycopg" and (url.host, url.port) == ("db", 5432)
        assert (url.username, url.database) == (env["POSTGRES_USER"], env["POSTGRES_DB"])  # the db service's own
        assert int(service["stop_grace_period"].rstrip("s")) > grace  # SIGTERM drain ends before SIGKILL
    for name in ("web", "worker"):
        assert services[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"


def test_compose_commands_exist_in_our_cli() -> None:
    parser = build_parser()
    for name in ("web", "worker", "migrate"):
        command = _compose()["services"][name]["command"]
        try:
            parser.parse_args(command)
        except SystemExit:
            raise AssertionError(f"compose service {name}: `contactbot {' '.join(command)}` is no command") from None


def test_every_setting_is_documented_and_in_the_env_example() -> None:
    docs = (ROOT / "docs" / "deploy.md").read_text()
    example = (ROOT / ".env.example").read_text()
    for field in Settings.model_fields.values():
        assert f"`{field.alias}`" in docs, f"{field.alias} is missing from docs/deploy.md"
        assert re.search(rf"^#? ?{field.alias}=", example, re.M), f"{field.alias} is missing from .env.example"
