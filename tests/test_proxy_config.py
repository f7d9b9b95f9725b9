"""The shipped reverse proxy publishes only the routes Slack, Meta and other messengers call."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PUBLIC = {"/slack/events", "/whatsapp/webhook", "/inbound"}


def test_compose_runs_caddy_with_the_repositorys_caddyfile() -> None:
    proxy = yaml.safe_load((ROOT / "compose.yaml").read_text(encoding="utf-8"))["services"]["proxy"]
    assert "./Caddyfile:/etc/caddy/Caddyfile:ro" in proxy["volumes"]
    assert "command" not in proxy  # `caddy reverse-proxy --to` would forward every path


def test_the_caddyfile_forwards_only_the_three_public_routes_and_refuses_the_rest() -> None:
    caddyfile = (ROOT / "Caddyfile").read_text(encoding="utf-8")
    lines = [line.split("#")[0].strip() for line in caddyfile.splitlines()]
    matchers = [line for line in lines if line.startswith("@public")]
    assert len(matchers) == 1 and set(matchers[0].split()[2:]) == PUBLIC
    # exactly one reverse_proxy, inside `handle @public`; the catch-all handle answers 404
    assert sum("reverse_proxy" in line for line in lines) == 1
    body = "\n".join(lines)
    assert re.search(r"handle @public \{\s*reverse_proxy web:3000", body)
    assert re.search(r"handle \{\s*respond 404\s*\}", body)
    for internal in ("/metrics", "/healthz", "/readyz"):
        assert internal not in body
    assert "read_header 10s" in body  # slow headers are cut off before they reach contactbot
