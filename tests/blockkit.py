"""Check every Block Kit payload we send: Slack's hard limits always, the JSON Schema when ../shared is here.

The fake Slack (tests/fakes/slack_api.py) runs these checks on every message, view and response_url body it
receives, so a payload Slack would refuse fails the test that caused it. The limits are Slack's documented ones:
https://docs.slack.dev/reference/block-kit/blocks (50 blocks per message, 100 per modal/Home view),
https://docs.slack.dev/reference/block-kit/blocks/section-block (section text 3000, 10 fields),
https://docs.slack.dev/reference/block-kit/block-elements/button-element (button text 75),
https://docs.slack.dev/reference/block-kit/block-elements/overflow-menu-element (2..5 options),
https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element (100 options),
https://docs.slack.dev/reference/block-kit/composition-objects/option-object (text 75, value 150),
https://docs.slack.dev/reference/views/modal-views (title/submit/close 24, private_metadata 3000),
https://docs.slack.dev/reference/methods/views.open (view_too_large: "Views cannot exceed 250 kB").
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

SCHEMA = Path(__file__).resolve().parents[1].parent / "shared/conformance/slack/schemas/slack-block-kit.schema.json"
MAX_BLOCKS = {"message": 50, "modal": 100, "home": 100}
# Slack answers msg_blocks_too_long when the text across a message's blocks passes roughly 12,000-13,000
# characters (observed, not documented: https://github.com/slackapi/bolt-js/issues/2509 and
# https://github.com/slackapi/bolt-js/issues/2867); we take the upper end so the fake never refuses what Slack takes.
MAX_MESSAGE_TEXT = 13_200
MAX_VIEW_BYTES = 250_000  # views.open/update/push/publish: view_too_large above 250 kB
MAX_OPTIONS = 100  # static/multi-static select options and option_groups
SELECTS = {"static_select", "multi_static_select"}


@lru_cache(maxsize=1)
def _validators() -> tuple[Any, Any] | None:
    if not SCHEMA.exists():
        return None
    from jsonschema import Draft202012Validator

    schema = json.loads(SCHEMA.read_text())
    blocks = Draft202012Validator({**schema, "$ref": "#/$defs/block", "type": "object"})  # one block
    views = {
        kind: Draft202012Validator({**schema, "$ref": f"#/$defs/{kind}_view", "type": "object"})
        for kind in ("modal", "home")
        if f"{kind}_view" in schema["$defs"]
    }
    return blocks, views


@lru_cache(maxsize=50_000)
def _block_schema_errors(block_json: str) -> tuple[str, ...]:
    """The schema's verdict on one block, remembered by its exact JSON: a list page repeats most of its blocks
    from answer to answer, and the full check costs about 1.5 ms a block, which under a 200-request burst kept the
    fake's answers back for longer than the app's 10 s response_url timeout. Caching by content changes nothing
    about what is checked."""
    validators = _validators()
    assert validators is not None
    return tuple(
        f"{'/'.join(map(str, e.path))}: {e.message[:200]}" for e in validators[0].iter_errors(json.loads(block_json))
    )


def _schema_problems(blocks: list[dict[str, Any]]) -> list[str]:
    return [
        f"schema: blocks/{i}{'' if error.startswith(':') else '/'}{error}"
        for i, block in enumerate(blocks)
        for error in _block_schema_errors(json.dumps(block, sort_keys=True, ensure_ascii=False))
    ]


def _text_of(node: Any) -> str:
    return node.get("text", "") if isinstance(node, dict) and isinstance(node.get("text"), str) else ""


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if isinstance(node, dict):
        kind = node.get("type")
        if kind == "section":
            text = _text_of(node.get("text"))
            if len(text) > 3000:
                problems.append(f"{path}: section text {len(text)} > 3000")
            if len(node.get("fields", [])) > 10:
                problems.append(f"{path}: more than 10 fields")
            for i, item in enumerate(node.get("fields", [])):
                if len(_text_of(item)) > 2000:
                    problems.append(f"{path}.fields[{i}]: field text > 2000")
        if kind == "header" and len(_text_of(node.get("text"))) > 150:
            problems.append(f"{path}: header text > 150")
        if kind == "context" and len(node.get("elements", [])) > 10:
            problems.append(f"{path}: context block > 10 elements")
        if kind == "button" and len(_text_of(node.get("text"))) > 75:
            problems.append(f"{path}: button text > 75")
        if kind == "overflow" and not 2 <= len(node.get("options", [])) <= 5:
            problems.append(f"{path}: overflow needs 2..5 options, has {len(node.get('options', []))}")
        if kind in SELECTS:
            for key in ("options", "option_groups"):
                if len(node.get(key, [])) > MAX_OPTIONS:
                    problems.append(f"{path}: {len(node[key])} {key} > {MAX_OPTIONS}")
        if kind == "actions" and len(node.get("elements", [])) > 25:
            problems.append(f"{path}: actions block > 25 elements")
        if isinstance(node.get("block_id"), str) and len(node["block_id"]) > 255:
            problems.append(f"{path}: block_id > 255")
        if isinstance(node.get("action_id"), str) and len(node["action_id"]) > 255:
            problems.append(f"{path}: action_id > 255")
        if "value" in node and "text" in node and isinstance(node["value"], str) and kind is None:
            if len(node["value"]) > 150:
                problems.append(f"{path}: option value > 150")
            if len(_text_of(node["text"])) > 75:
                problems.append(f"{path}: option text > 75")
        for key, value in node.items():
            _walk(value, f"{path}.{key}", problems)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            _walk(item, f"{path}[{i}]", problems)


def _all_text(node: Any) -> int:
    """The characters of every text string in the blocks: what msg_blocks_too_long counts, near enough."""
    if isinstance(node, dict):
        own = len(node["text"]) if isinstance(node.get("text"), str) else 0
        return own + sum(_all_text(v) for k, v in node.items() if k != "text" or not isinstance(v, str))
    if isinstance(node, list):
        return sum(_all_text(v) for v in node)
    return 0


def block_problems(blocks: Any, surface: str = "message") -> list[str]:
    """Why Slack would refuse these blocks on this surface (empty list: it would take them)."""
    if not isinstance(blocks, list) or not all(isinstance(b, dict) for b in blocks):
        return ["blocks must be a list of objects"]
    problems: list[str] = []
    if not 1 <= len(blocks) <= MAX_BLOCKS[surface]:
        problems.append(f"{len(blocks)} blocks (limit {MAX_BLOCKS[surface]} for a {surface})")
    ids = [b["block_id"] for b in blocks if "block_id" in b]
    if len(ids) != len(set(ids)):
        problems.append(f"duplicate block_ids: {sorted({i for i in ids if ids.count(i) > 1})}")
    _walk(blocks, "blocks", problems)
    if _validators() is not None:
        problems += _schema_problems(blocks)
    return problems


def message_too_long(blocks: list[dict[str, Any]]) -> bool:
    return _all_text(blocks) > MAX_MESSAGE_TEXT


def view_problems(view: Any) -> list[str]:
    """A modal or a Home tab: limits always, the schema's `modal_view` / `home_view` when present."""
    if not isinstance(view, dict) or view.get("type") not in ("modal", "home"):
        return ["view must be an object of type modal or home"]
    problems: list[str] = []
    if view["type"] == "modal":
        for key in ("title", "submit", "close"):
            if key in view and len(_text_of(view[key])) > 24:
                problems.append(f"modal {key} > 24")
    if len(view.get("private_metadata", "")) > 3000:
        problems.append("private_metadata > 3000")
    for key in ("callback_id", "external_id"):
        if len(view.get(key, "")) > 255:
            problems.append(f"{key} > 255")
    problems += block_problems(view.get("blocks"), "modal" if view["type"] == "modal" else "home")
    validators = _validators()
    if validators is not None and view["type"] in validators[1] and isinstance(view.get("blocks"), list):
        # The view's own properties against the schema; its blocks were checked one by one above. One block of
        # each type stands in for the rest, so the schema's rules about the kinds of blocks (an input block
        # needs a submit button) still apply.
        firsts: dict[Any, dict[str, Any]] = {}
        for block in view["blocks"]:
            firsts.setdefault(block.get("type"), block)
        stand_in = {**view, "blocks": list(firsts.values())}
        problems += [
            f"schema: {'/'.join(map(str, e.path))}: {e.message[:200]}"
            for e in validators[1][view["type"]].iter_errors(stand_in)
        ]
    return problems


def view_too_large(view: dict[str, Any]) -> bool:
    return len(json.dumps(view, ensure_ascii=False).encode()) > MAX_VIEW_BYTES


def check_blocks(blocks: list[dict[str, Any]], surface: str = "message") -> None:
    problems = block_problems(blocks, surface)
    if surface == "message" and message_too_long(blocks):
        problems.append(f"message text {_all_text(blocks)} > {MAX_MESSAGE_TEXT} (msg_blocks_too_long)")
    assert not problems, "\n".join(problems)


def check_view(view: dict[str, Any]) -> None:
    problems = view_problems(view)
    if view_too_large(view):
        problems.append("view > 250 kB (view_too_large)")
    assert not problems, "\n".join(problems)
