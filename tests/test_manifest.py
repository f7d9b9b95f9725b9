"""The app manifests validate against Slack's official schema and match what the code listens for."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.conftest import shared_path

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", ["manifest.yml", "manifest.http.yml"])
def test_manifest_is_valid(name: str) -> None:
    from jsonschema import Draft7Validator

    schema = json.loads(shared_path("conformance", "slack", "schemas", "manifest.schema.1.0.0.json").read_text())
    manifest = yaml.safe_load((ROOT / name).read_text())
    errors = [f"{'/'.join(map(str, e.path))}: {e.message}" for e in Draft7Validator(schema).iter_errors(manifest)]
    assert not errors, errors


def test_manifest_declares_the_command_and_scopes_we_use() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert commands == ["/contacts"]
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert {"commands", "chat:write", "users:read", "files:read", "files:write"} <= scopes
    assert manifest["settings"]["socket_mode_enabled"] is True
    http = yaml.safe_load((ROOT / "manifest.http.yml").read_text())
    assert http["settings"]["socket_mode_enabled"] is False
    assert http["settings"]["interactivity"]["request_url"].endswith("/slack/events")
