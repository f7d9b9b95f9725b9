"""Target group messages and modals."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.contacts import MESSENGERS
from bot.i18n import number, t
from bot.services.audiences import AudienceInfo
from handlers.blocks.menu_list import MAX_ROWS, MenuRow, menu_list_message
from handlers.blocks.text import button, cut, escape, mrkdwn, option, plain
from handlers.integrity import Seal
from storage.models import Attribute

SAVE_CALLBACK = "audience_save"
RENAME_CALLBACK = "audience_rename"
DELETE_CALLBACK = "audience_delete"
NEW_CALLBACK = "audience_new"
MESSENGER_NAMES = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "facebook": "Facebook Messenger",
    "instagram": "Instagram",
    "sms": "SMS",
    "webchat": "Webchat",
}


def _meta(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))[:3000]


def _modal(
    callback: str, title: str, submit: str | None, lang: str, blocks: list[dict[str, Any]], meta: dict[str, Any]
) -> dict[str, Any]:
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": callback,
        "title": plain(title, 24),
        "close": plain(t("audience.cancel", lang), 24),
        "blocks": blocks,
        "private_metadata": _meta(meta),
    }
    if submit:
        view["submit"] = plain(submit, 24)
    return view


def _name_input(lang: str, initial: str = "") -> dict[str, Any]:
    element: dict[str, Any] = {"type": "plain_text_input", "action_id": "name", "max_length": 100}
    if initial:
        element["initial_value"] = initial
    return {"type": "input", "block_id": "name", "label": plain(t("audience.name", lang), 2000), "element": element}


def save_modal(summary: str, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [{"type": "section", "text": mrkdwn(t("audience.save_summary", lang, summary=summary))}, _name_input(lang)]
    return _modal(SAVE_CALLBACK, t("audience.save_title", lang), t("audience.save_submit", lang), lang, blocks, meta)


def rename_modal(info: AudienceInfo, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    return _modal(
        RENAME_CALLBACK,
        t("audience.rename_title", lang),
        t("audience.save_submit", lang),
        lang,
        [_name_input(lang, info.name)],
        meta,
    )


def delete_modal(info: AudienceInfo, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    body = t("audience.delete_body", lang, name=escape(cut(info.name, 100)), members=number(info.members, lang))
    return _modal(
        DELETE_CALLBACK,
        t("audience.delete_title", lang),
        t("audience.delete", lang),
        lang,
        [{"type": "section", "text": mrkdwn(body)}],
        meta,
    )


def new_modal(attributes: list[Attribute], lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    any_option = option(t("audience.any", lang), "any")

    def select(
        block_id: str,
        label: str,
        options: list[dict[str, Any]],
        initial: dict[str, Any] | None = None,
        optional: bool = True,
    ) -> dict[str, Any]:
        element: dict[str, Any] = {"type": "static_select", "action_id": "v", "options": options}
        if initial:
            element["initial_option"] = initial
        return {
            "type": "input",
            "block_id": block_id,
            "optional": optional,
            "label": plain(label, 2000),
            "element": element,
        }

    def text_input(block_id: str, label: str) -> dict[str, Any]:
        return {
            "type": "input",
            "block_id": block_id,
            "optional": True,
            "label": plain(label, 2000),
            "element": {"type": "plain_text_input", "action_id": "v", "max_length": 200},
        }

    match_options = [option(t("audience.match.all", lang), "all"), option(t("audience.match.any", lang), "any")]
    blocks: list[dict[str, Any]] = [
        _name_input(lang),
        select("match", t("audience.match", lang), match_options, match_options[0], optional=False),
        select(
            "status",
            t("audience.cond.status", lang),
            [any_option, option(t("status.active", lang), "active"), option(t("status.inactive", lang), "inactive")],
            any_option,
        ),
        {
            "type": "input",
            "block_id": "messenger",
            "optional": True,
            "label": plain(t("audience.cond.messenger", lang)),
            "element": {
                "type": "multi_static_select",
                "action_id": "v",
                "options": [option(MESSENGER_NAMES[m], m) for m in MESSENGERS],
            },
        },
        select(
            "blocked",
            t("audience.cond.blocked", lang),
            [any_option, option(t("yes", lang), "yes"), option(t("no", lang), "no")],
            any_option,
        ),
        text_input("last_chat_days", t("audience.cond.last_chat_days", lang)),
        text_input("first_contact_days", t("audience.cond.first_contact_days", lang)),
    ]
    if attributes:
        attr_options = [option(cut(a.label_en if lang == "en" else a.label_de, 75), a.key) for a in attributes[:100]]
        ops = [option(t(f"audience.op.{op}", lang), op) for op in ("eq", "ne", "contains", "gt", "lt", "empty", "in")]
        blocks += [
            select("attr", t("audience.cond.attribute", lang), attr_options),
            select("attr_op", t("audience.cond.op", lang), ops, ops[0]),
            text_input("attr_value", t("audience.cond.value", lang)),
        ]
    return _modal(NEW_CALLBACK, t("audience.new_title", lang), t("audience.save_submit", lang), lang, blocks, meta)


def groups_message(infos: list[AudienceInfo], lang: str, *, seal: Seal) -> dict[str, Any]:
    """The groups with a menu each; its values (`delete:7`) are sealed (handlers/integrity.py)."""
    items = [
        MenuRow(
            f"aud{info.id}",
            f"*{escape(cut(info.name, 100))}*\n{t('audience.members', lang, members=number(info.members, lang))}",
            [
                option(t("audience.show", lang), seal(f"show:{info.id}", "audience_menu")),
                option(t("audience.rename", lang), seal(f"rename:{info.id}", "audience_menu")),
                option(t("audience.delete", lang), seal(f"delete:{info.id}", "audience_menu")),
            ],
        )
        for info in infos[:MAX_ROWS]
    ]
    return menu_list_message(
        t("audience.list_title", lang, count=len(infos)),
        t("audience.list_empty", lang),
        items,
        "audience_menu",
        button(t("audience.new", lang), "audience_new", "new", "primary"),
        "aud_actions",
    )
