"""A list message of items, each with an overflow menu, and one button below: groups and attributes share it.

Slack refuses a message whose blocks hold more than about 13,200 characters of text in total
(`msg_blocks_too_long`, slackapi/bolt-js#2509), so rows are added while the text stays within the budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from handlers.blocks.text import MESSAGE_TEXT_BUDGET, mrkdwn, text_size

MAX_ROWS = 45  # with the title, the empty note and the button: within 50 blocks per message


@dataclass(frozen=True)
class MenuRow:
    block_id: str
    text: str  # mrkdwn, already escaped
    options: list[dict[str, Any]]  # the overflow menu (values sealed by the caller)


def menu_list_message(
    title: str,
    empty: str,
    rows: Sequence[MenuRow],
    menu_action_id: str,
    button: dict[str, Any],
    actions_block_id: str,
) -> dict[str, Any]:
    """The message; its notification text is the title without mrkdwn bold marks."""
    blocks: list[dict[str, Any]] = [{"type": "section", "text": mrkdwn(title)}]
    if not rows:
        blocks.append({"type": "section", "text": mrkdwn(empty)})
    for row in rows[:MAX_ROWS]:
        if text_size(blocks) > MESSAGE_TEXT_BUDGET - 1500:  # Slack's total text limit (msg_blocks_too_long)
            break
        blocks.append(
            {
                "type": "section",
                "block_id": row.block_id,
                "text": mrkdwn(row.text),
                "accessory": {"type": "overflow", "action_id": menu_action_id, "options": row.options},
            }
        )
    blocks.append({"type": "actions", "block_id": actions_block_id, "elements": [button]})
    return {"blocks": blocks, "text": title.replace("*", "")}
