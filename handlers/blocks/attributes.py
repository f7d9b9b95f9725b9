"""User attribute messages and modals, the contact details modal, and the table settings modal."""

from __future__ import annotations

import json
from typing import Any

from bot.domain.phone import display
from bot.i18n import number, t
from bot.services.attributes import TYPES
from bot.services.table_settings import TableLayout
from handlers.blocks.contact_list import MESSENGER_NAMES, contact_label
from handlers.blocks.menu_list import MAX_ROWS, MenuRow, menu_list_message
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, option, plain
from handlers.integrity import Seal
from storage.models import Attribute, Contact

ATTR_SAVE_CALLBACK = "attribute_save"
ATTR_DELETE_CALLBACK = "attribute_delete"
DETAILS_CALLBACK = "contact_details"
TABLE_CALLBACK = "table_settings"


def _meta(data: dict[str, Any]) -> str:
    return json.dumps(data, separators=(",", ":"))[:3000]


def _label(attribute: Attribute, lang: str) -> str:
    return attribute.label_en if lang == "en" else attribute.label_de


def attributes_message(rows: list[tuple[Attribute, int]], lang: str, *, seal: Seal) -> dict[str, Any]:
    """The attributes with a menu each; its values (`delete:3`) are sealed (handlers/integrity.py)."""
    items = []
    for attribute, holders in rows[:MAX_ROWS]:
        text = t(
            "attr.row",
            lang,
            label=escape(cut(_label(attribute, lang), 100)),
            key=attribute.key,
            type=t(f"attr.type.{attribute.type}", lang),
            holders=number(holders, lang),
        )
        if attribute.choices:
            text += "\n" + t("attr.choices", lang, choices=escape(cut(", ".join(attribute.choices), 500)))
        menu = [
            option(t("attr.edit", lang), seal(f"edit:{attribute.id}", "attribute_menu")),
            option(t("attr.delete", lang), seal(f"delete:{attribute.id}", "attribute_menu")),
        ]
        items.append(MenuRow(f"attr{attribute.id}", text, menu))
    return menu_list_message(
        t("attr.list_title", lang, count=len(rows)),
        t("attr.list_empty", lang),
        items,
        "attribute_menu",
        button(t("attr.add", lang), "attribute_add", "add", "primary"),
        "attr_actions",
    )


def _text_input(
    block_id: str, label: str, initial: str = "", optional: bool = False, multiline: bool = False, max_length: int = 100
) -> dict[str, Any]:
    element: dict[str, Any] = {
        "type": "plain_text_input",
        "action_id": "v",
        "max_length": max_length,
        "multiline": multiline,
    }
    if initial:
        element["initial_value"] = initial
    return {
        "type": "input",
        "block_id": block_id,
        "optional": optional,
        "label": plain(label, 2000),
        "element": element,
    }


def attribute_modal(attribute: Attribute | None, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    blocks = [
        _text_input("label_de", t("attr.label_de", lang), attribute.label_de if attribute else ""),
        _text_input("label_en", t("attr.label_en", lang), attribute.label_en if attribute else "", optional=True),
    ]
    if attribute is None:
        types = [option(t(f"attr.type.{kind}", lang), kind) for kind in TYPES]
        blocks.append(
            {
                "type": "input",
                "block_id": "type",
                "label": plain(t("attr.type", lang)),
                "element": {"type": "static_select", "action_id": "v", "options": types, "initial_option": types[0]},
            }
        )
    if attribute is None or attribute.type == "choice":
        blocks.append(
            _text_input(
                "choices",
                t("attr.choices_input", lang),
                "\n".join(attribute.choices or []) if attribute else "",
                optional=True,
                multiline=True,
                max_length=3000,
            )
        )
    return {
        "type": "modal",
        "callback_id": ATTR_SAVE_CALLBACK,
        "private_metadata": _meta(meta),
        "title": plain(t("attr.edit_title" if attribute else "attr.add_title", lang), 24),
        "submit": plain(t("attr.save", lang), 24),
        "close": plain(t("attr.cancel", lang), 24),
        "blocks": blocks,
    }


def attribute_delete_modal(attribute: Attribute, holders: int, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    body = t("attr.delete_body", lang, label=escape(cut(_label(attribute, lang), 100)), holders=number(holders, lang))
    return {
        "type": "modal",
        "callback_id": ATTR_DELETE_CALLBACK,
        "private_metadata": _meta(meta),
        "title": plain(t("attr.delete_title", lang), 24),
        "submit": plain(t("attr.delete", lang), 24),
        "close": plain(t("attr.cancel", lang), 24),
        "blocks": [{"type": "section", "text": mrkdwn(body)}],
    }


def details_modal(
    contact: Contact,
    attributes: list[Attribute],
    values: dict[int, str],
    editable: bool,
    lang: str,
    meta: dict[str, Any],
) -> dict[str, Any]:
    never = t("never", lang)
    consent = t("details.consent_none", lang)
    if contact.consent_at:
        consent = t(
            "details.consent_by",
            lang,
            when=date_token(contact.consent_at, never),
            source=escape(cut(contact.consent_source or "-", 100)),
            by=escape(contact.consent_by or "-"),
        )
    fields = [
        mrkdwn(f"*{t('field.phone', lang).capitalize()}*\n{display(contact.phone)}"),
        mrkdwn(
            f"*{t('field.messenger', lang).capitalize()}*\n{MESSENGER_NAMES.get(contact.messenger, contact.messenger)}"
        ),
        mrkdwn(f"*{t('field.first_contact', lang).capitalize()}*\n{date_token(contact.first_contact_at, never)}"),
        mrkdwn(f"*{t('field.last_chat', lang).capitalize()}*\n{date_token(contact.last_chat_at, never)}"),
        mrkdwn(
            f"*{t('field.status', lang).capitalize()}*\n"
            f"{t('status.active' if contact.active else 'status.inactive', lang)}"
        ),
        mrkdwn(f"*{t('field.blocked', lang).capitalize()}*\n{t('yes' if contact.blocked else 'no', lang)}"),
        mrkdwn(f"*{t('details.consent', lang)}*\n{consent}"),
    ]
    if contact.opted_out_at:
        fields.append(mrkdwn(f"*{t('details.opted_out', lang)}*\n{date_token(contact.opted_out_at, never)}"))
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(f"*{contact_label(contact, lang)}*")},
        {"type": "section", "fields": fields[:10]},
        {"type": "divider"},
        {"type": "section", "text": mrkdwn(t("details.attributes", lang))},
    ]
    if not attributes:
        blocks.append({"type": "context", "elements": [mrkdwn(t("details.no_attributes", lang))]})
    for attribute in attributes[:90]:
        value = values.get(attribute.id or 0, "")
        label = _label(attribute, lang)
        if editable:
            blocks.append(_text_input(f"a{attribute.id}", label, value, optional=True, max_length=1000))
        else:
            shown = escape(cut(value, 500)) or "–"
            blocks.append({"type": "section", "text": mrkdwn(f"*{escape(cut(label, 100))}*: {shown}")})
    if not editable and attributes:
        blocks.append({"type": "context", "elements": [mrkdwn(t("details.read_only", lang))]})
    view: dict[str, Any] = {
        "type": "modal",
        "callback_id": DETAILS_CALLBACK,
        "private_metadata": _meta(meta),
        "title": plain(t("details.title", lang), 24),
        "close": plain(t("details.close", lang), 24),
        "blocks": blocks[:100],
    }
    if editable and attributes:
        view["submit"] = plain(t("details.save", lang), 24)
    return view


MAX_OPTIONS = 100  # a static_select takes at most 100 options (https://docs.slack.dev/reference/block-kit/block-elements/select-menu-element)
# Positions offered per column: 30 columns x 100 options would pass the 250 kB a view may have (view_too_large).
MAX_POSITIONS = 50


def _places(count: int, rank: int | None, room: int) -> list[int]:
    """Positions (0-based) a column's select offers: all of them while they fit in `room`, else the first ones
    plus the column's own (92+ attribute columns used to break the modal with more than 100 options, and 30
    such selects the view's 250 kB)."""
    places = list(range(min(count, room)))
    if rank is not None and rank not in places:
        places[-1] = rank
    return places


def table_settings_modal(table: TableLayout, is_admin: bool, lang: str, meta: dict[str, Any]) -> dict[str, Any]:
    count = len(table.columns)
    blocks: list[dict[str, Any]] = [
        {"type": "section", "text": mrkdwn(t("table.intro", lang))},
        {"type": "context", "elements": [mrkdwn(t(f"table.current_scope.{table.scope}", lang))]},
    ]
    visible_rank = {c.key: i for i, c in enumerate(table.visible)}
    for column in table.columns[:30]:
        rank = visible_rank.get(column.key)
        deletable = column.attribute_id is not None and is_admin
        places = _places(count, rank, min(MAX_POSITIONS, MAX_OPTIONS - 1 - int(deletable)))
        positions = [option(t("table.hidden", lang), "hidden")] + [option(str(i + 1), str(i + 1)) for i in places]
        if deletable:
            positions.append(option(t("table.delete_attribute", lang), "delete"))
        initial = positions[0] if rank is None else positions[places.index(rank) + 1]
        default_label = column.label if column.custom_label is None else column.custom_label
        blocks.append(
            {
                "type": "input",
                "block_id": f"pos|{column.key}",
                "label": plain(cut(column.label, 75), 2000),
                "element": {"type": "static_select", "action_id": "v", "options": positions, "initial_option": initial},
            }
        )
        placeholder = plain(t("table.label_placeholder", lang, label=default_label), 150)
        label_input: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": "v",
            "max_length": 40,
            "placeholder": placeholder,
        }
        if column.custom_label:
            label_input["initial_value"] = column.custom_label
        blocks.append(
            {
                "type": "input",
                "block_id": f"label|{column.key}",
                "optional": True,
                "label": plain(cut(f"{column.label} – {t('table.label_title', lang)}", 75), 2000),
                "element": label_input,
            }
        )
    scopes = [option(t("table.scope.user", lang), "user")]
    if is_admin:
        scopes.append(option(t("table.scope.workspace", lang), "workspace"))
    blocks.append(
        {
            "type": "input",
            "block_id": "scope",
            "label": plain(t("table.scope", lang)),
            "element": {"type": "radio_buttons", "action_id": "v", "options": scopes, "initial_option": scopes[0]},
        }
    )
    blocks.append(
        {
            "type": "input",
            "block_id": "reset",
            "optional": True,
            "label": plain(t("table.reset", lang)),
            "element": {"type": "checkboxes", "action_id": "v", "options": [option(t("table.reset", lang), "reset")]},
        }
    )
    return {
        "type": "modal",
        "callback_id": TABLE_CALLBACK,
        "private_metadata": _meta(meta),
        "title": plain(t("table.title", lang), 24),
        "submit": plain(t("table.save", lang), 24),
        "close": plain(t("table.cancel", lang), 24),
        "blocks": blocks[:100],
    }
