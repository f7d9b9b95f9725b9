"""The `contactbot` command line, run as a real subprocess against a real database."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
from sqlalchemy import select
from sqlmodel import Session

from storage.models import AuditEntry, Contact
from tests import serve_process
from tests.conftest import BOT_TOKEN, SIGNING_SECRET
from tests.factories import add_contact


def run(db_url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "CONTACTBOT_", "WHATSAPP_", "LC_"))}
    environ |= {"DATABASE_URL": db_url, "USER": "tester", "LANG": "C.UTF-8", **(env or {})}  # English output
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, env=environ, timeout=120
    )


def test_demo_data_then_list_as_json(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    result = run(db_url, "demo-data", "--count", "300")
    assert result.returncode == 0, result.stderr
    assert "inserted 300 demo contacts" in result.stdout
    listed = run(db_url, "contacts", "list", "--status", "all", "--sort", "name:asc", "--limit", "5", "--json")
    data = json.loads(listed.stdout)
    assert data["total"] == 300 and len(data["contacts"]) == 5
    names = [c["name"] for c in data["contacts"] if c["name"]]
    assert names == sorted(names, key=str.casefold)
    assert all(c["phone"].startswith("+49") for c in data["contacts"])


def test_block_delete_and_audit_from_the_cli(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    cid = add_contact(engine, "+4917012345678", "Max Mustermann")
    result = run(db_url, "contacts", "block", "0170 12345678")
    assert result.returncode == 0, result.stderr
    with Session(engine) as s:
        assert s.get(Contact, cid).blocked is True
    assert run(db_url, "contacts", "delete", "+49 170 12345678").returncode == 0
    with Session(engine) as s:
        assert s.get(Contact, cid) is None
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions == ["contact.block", "contact.delete"]
    audit = run(db_url, "audit")
    assert "cli:tester" in audit.stdout and "contact.delete" in audit.stdout
    assert "12345678" not in audit.stdout and "Mustermann" not in audit.stdout
    missing = run(db_url, "contacts", "block", "0170 99999999")
    assert missing.returncode == 1 and "no such contact" in missing.stderr
    bad = run(db_url, "contacts", "block", "4,91701E+12")
    assert bad.returncode == 2 and "not a valid phone number" in bad.stderr


def test_malformed_setting_stops_with_one_line_naming_it(db_url: str) -> None:
    result = run(db_url, "contacts", "list", env={"CONTACTBOT_ADMINS": "U012ABC, bob"})
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CONTACTBOT_ADMINS" in lines[0] and "bob" in lines[0]
    result = run(db_url, "serve", env={"SLACK_BOT_TOKEN": "", "SLACK_SIGNING_SECRET": "x"})
    assert result.returncode == 2 and "SLACK_BOT_TOKEN" in result.stderr


def test_serve_answers_health_and_refuses_unsigned_slack_requests(db_url: str, fake_slack, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    proc = serve_process.serve(db_url, fake_slack, tmp_path / "serve.log")
    try:
        assert httpx.get(f"{proc.url}/healthz", timeout=5).text == "ok"
        ready = httpx.get(f"{proc.url}/readyz", timeout=5).json()
        assert ready["ready"] is True
        unsigned = httpx.post(
            f"{proc.url}/slack/events",
            content="command=/contacts",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert unsigned.status_code == 401
    finally:
        assert proc.stop() == 0
    logs = proc.logs()
    assert BOT_TOKEN not in logs and SIGNING_SECRET not in logs


def test_groups_and_attributes_from_the_cli(db_url: str, engine) -> None:  # type: ignore[no-untyped-def]
    add_contact(engine, "+4917011111111", "Anna")
    add_contact(engine, "+4917022222222", "Bert", active=False)
    added = run(
        db_url,
        "attributes",
        "add",
        "Stufe",
        "--label-en",
        "Tier",
        "--type",
        "choice",
        "--choice",
        "Gold",
        "--choice",
        "Silber",
    )
    assert added.returncode == 0, added.stderr
    assert "stufe" in run(db_url, "attributes", "list").stdout
    created = run(
        db_url, "groups", "create", "Aktive", "--filter", '{"conditions":[{"field":"status","value":"active"}]}'
    )
    assert created.returncode == 0 and "(1 contact)" in created.stdout
    listed = json.loads(run(db_url, "groups", "list", "--json").stdout)
    assert [(g["name"], g["members"]) for g in listed] == [("Aktive", 1)]
    dup = run(db_url, "groups", "create", "aktive")
    assert dup.returncode == 1 and "already exists" in dup.stderr
    assert run(db_url, "groups", "delete", "Aktive").returncode == 0
    assert json.loads(run(db_url, "groups", "list", "--json").stdout) == []


def test_demo_numbers_are_valid_and_unique() -> None:
    import phonenumbers

    from bot.services.demo_data import phone_for

    numbers = [phone_for(i) for i in range(5000)]
    assert len(set(numbers)) == 5000
    assert all(phonenumbers.is_valid_number(phonenumbers.parse(n)) for n in numbers)
