"""Check every Block Kit payload we send: Slack's hard limits always, the JSON Schema when ../shared is here."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1].parent / "shared/conformance/slack/schemas/slack-block-kit.schema.json"
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}


@lru_cache(maxsize=1)
def _validators() -> tuple[Any, Any] | None:
    if not SCHEMA.exists():
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA.read_text())
    blocks = Draft202012Validator(schema)
    views = {
        kind: Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}_view", "type": "object"})
        for kind in ("modal", "home")
        if f"{kind}_view" in schema["$defs"]
    }
    return blocks, views


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "section":
            text = node.get("text", {}).get("text", "")
            if text and len(text) > 3000:
                problems.append(f"{path}: section text {len(text)} > 3000")
            if len(node.get("fields", [])) > 10:
                problems.append(f"{path}: more than 10 fields")
        if kind == "button" and len(node["text"]["text"]) > 75:
            problems.append(f"{path}: button text > 75")
        if kind == "overflow" and not 1 <= len(node.get("options", [])) <= 5:
            problems.append(f"{path}: overflow needs 1..5 options")
        if kind == "actions" and len(node.get("elements", [])) > 25:
            problems.append(f"{path}: actions block > 25 elements")
        if "block_id" in node and len(node["block_id"]) > 255:
            problems.append(f"{path}: block_id > 255")
        if "action_id" in node and len(node["action_id"]) > 255:
            problems.append(f"{path}: action_id > 255")
        if "value" in node and "text" in node and isinstance(node["value"], str) and kind is None:
            if len(node["value"]) > 150:
                problems.append(f"{path}: option value > 150")
            if len(node["text"]["text"]) > 75:
                problems.append(f"{path}: option text > 75")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{path}[{i}]", problems)


def check_blocks(blocks: list[dict[str, Any]], surface: str = "message") -> None:
    problems: list[str] = []
    if not 1 <= len(blocks) <= MAX_BLOCKS[surface]:
        problems.append(f"{len(blocks)} blocks (limit {MAX_BLOCKS[surface]} for a {surface})")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append("duplicate block_ids")
    _walk(blocks, "blocks", problems)
    validators = _validators()
    if validators is not None:
        for error in validators[0].iter_errors(blocks):
            problems.append(f"schema: {'/'.join(map(str, error.path))}: {error.message[:200]}")
    assert not problems, "\n".join(problems)


def check_view(view: dict[str, Any]) -> None:
    """A modal or a Home tab: limits always, the schema's `modal_view` / `home_view` when present."""
    if view["type"] == "modal":
        assert len(view["title"]["text"]) <= 24, "modal title > 24"
        for key in ("submit", "close"):
            if key in view:
                assert len(view[key]["text"]) <= 24, f"modal {key} > 24"
    assert len(view.get("private_metadata", "")) <= 3000
    check_blocks(view["blocks"], "modal" if view["type"] == "modal" else "home")
    validators = _validators()
    if validators is not None and view["type"] in validators[1]:
        errors = [
            f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in validators[1][view["type"]].iter_errors(view)
        ]
        assert not errors, "\n".join(errors)
