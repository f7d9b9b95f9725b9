"""The `/contacts` list message: header, filters, sort buttons, one section per contact, paging."""

from __future__ import annotations

from typing import Any

from bot.domain.contacts import MESSENGERS
from bot.domain.phone import export_number
from bot.i18n import number, t, total
from bot.services.table_settings import CORE, Column
from handlers.blocks.text import button, cut, date_token, escape, mrkdwn, option, plain, text_size
from handlers.integrity import Seal, subject_mac, with_mac
from handlers.list_state import SORT_CODES, ListState, join
from storage.contacts import Page
from storage.models import Contact

# Slack rejects a message whose blocks hold more than ~12,000 characters in all: the rows share
# this budget, so the list fits whatever columns a team shows (long rows end with an ellipsis).
ROWS_TEXT_BUDGET = 9000
MENU = "contact_menu"  # the row menu's action_id, also the purpose its values are sealed for
MESSENGER_NAMES = {
    "whatsapp": "WhatsApp",
    "telegram": "Telegram",
    "facebook": "Facebook Messenger",
    "instagram": "Instagram",
    "sms": "SMS",
    "webchat": "Webchat",
}

GROUP_OPTIONS = 99  # with "none": a static_select takes 100 options
GROUP_TEXT_BUDGET = 2_500  # characters of group names in the list's select


def shown_number(contact: Contact) -> str:
    """The number as people read it: stored when the contact was written (storage/display_numbers.py), else
    formatted now the same way (a writer that does not fill the column); never phonenumbers per render."""
    return contact.phone_display or export_number(contact.phone)


def contact_label(contact: Contact, lang: str) -> str:
    """How a contact is named in mrkdwn: escaped name and number."""
    name = escape(cut(contact.name, 80)) if contact.name else t("no_name", lang)
    return f"{name} ({shown_number(contact)})"


def _cell(column: Column, contact: Contact, values: dict[int, str], lang: str) -> str:
    never = t("never", lang)
    match column.key:
        case "phone":
            return f"`{shown_number(contact)}`"
        case "messenger":
            return MESSENGER_NAMES.get(contact.messenger, contact.messenger)
        case "first_contact":
            return date_token(contact.first_contact_at, never, "{date_short}")
        case "last_chat":
            return date_token(contact.last_chat_at, never)
        case "blocked":
            return f":no_entry: {t('yes', lang)}" if contact.blocked else t("no", lang)
        case "status":
            icon = ":large_green_circle:" if contact.active else ":white_circle:"
            return f"{icon} {t('status.active' if contact.active else 'status.inactive', lang)}"
        case "name":
            return escape(cut(contact.name, 80)) if contact.name else t("no_name", lang)
    raw = values.get(column.attribute_id or -1, "")
    if column.attribute_type == "bool" and raw:
        raw = t("yes" if raw == "1" else "no", lang)
    return escape(cut(raw, 100)) if raw else "–"


def contact_row(
    contact: Contact,
    state: ListState,
    lang: str,
    columns: list[Column] | None = None,
    values: dict[int, str] | None = None,
    limit: int = 3000,
    *,
    seal: Seal,
) -> dict[str, Any]:
    """One contact; its menu's values (`block:42`) are sealed, so a click names the contact shown."""
    columns = columns if columns is not None else default_columns(lang)
    values = values or {}
    keys = [c.key for c in columns]
    title = []
    if "name" in keys:
        title.append(f"*{escape(cut(contact.name, 80))}*" if contact.name else f"_{t('no_name', lang)}_")
    if "phone" in keys:
        title.append(f"`{shown_number(contact)}`")
    if "messenger" in keys:
        title.append(MESSENGER_NAMES.get(contact.messenger, contact.messenger))
    items = [
        f"{escape(c.label)}: {_cell(c, contact, values, lang)}"
        for c in columns
        if c.key not in ("name", "phone", "messenger")
    ]
    lines = ["   ".join(title)] if title else []
    lines += ["  ·  ".join(items[i : i + 3]) for i in range(0, len(items), 3)]
    cid = contact.id
    mac = subject_mac(seal, menu_subject(cid), MENU)  # one seal for the row's five options
    menu = [
        option(t("menu.ticket", lang), with_mac(f"ticket:{cid}", mac)),
        option(
            t("menu.unblock" if contact.blocked else "menu.block", lang),
            with_mac(f"{'unblock' if contact.blocked else 'block'}:{cid}", mac),
        ),
        option(
            t("menu.deactivate" if contact.active else "menu.activate", lang),
            with_mac(f"{'deactivate' if contact.active else 'activate'}:{cid}", mac),
        ),
        option(t("menu.details", lang), with_mac(f"details:{cid}", mac)),
        option(t("menu.delete", lang), with_mac(f"delete:{cid}", mac)),
    ]
    return {
        "type": "section",
        "block_id": join(f"row{cid}", state),
        "text": mrkdwn("\n".join(lines) or shown_number(contact), limit),
        "accessory": {"type": "overflow", "action_id": MENU, "options": menu},
    }


def menu_subject(cid: int | str | None) -> str:
    """What a row menu's seal covers: the contact it was shown for (handlers/integrity.py: subject_mac)."""
    return f"row:{cid}"


def default_columns(lang: str) -> list[Column]:
    return [Column(k, t(f"field.{k}", lang), None, True) for k in CORE]


def _header_text(page: Page, state: ListState, lang: str, audience_names: dict[int, str]) -> str:
    if page.total == 0 or not page.rows:
        parts = [f"*{t('list.header_empty', lang)}*"]
    else:
        first = state.offset + 1
        last = state.offset + len(page.rows)
        header = t(
            "list.header",
            lang,
            first=number(first, lang),
            last=number(last, lang),
            total=total(page.total, page.total_capped, lang),
        )
        parts = [f"*{header}*"]
    parts.append(t("list.status_label", lang, status=t(f"status.{state.status}", lang)))
    if state.messenger:
        parts.append(t("list.messenger_label", lang, messenger=MESSENGER_NAMES[state.messenger]))
    if state.audience_id is not None:
        name = audience_names.get(state.audience_id, "?")
        parts.append(t("audience.label", lang, name=escape(cut(name, 60))))
    if state.search:
        parts.append(t("list.search", lang, query=escape(state.search)))
    arrow = "▼" if state.desc else "▲"
    parts.append(t("list.sorted_by", lang, field=t(f"field.{state.sort}", lang), arrow=arrow))
    return " · ".join(parts)


def _filters(state: ListState, lang: str, audiences: list[tuple[int, str]]) -> dict[str, Any]:
    statuses = [option(t(f"status.{s}", lang), s) for s in ("active", "inactive", "blocked", "all")]
    messengers = [option(t("messenger.any", lang), "any")] + [option(MESSENGER_NAMES[m], m) for m in MESSENGERS]
    current_status = next(o for o in statuses if o["value"] == state.status)
    current_messenger = next(o for o in messengers if o["value"] == (state.messenger or "any"))
    elements: list[dict[str, Any]] = [
        {
            "type": "static_select",
            "action_id": "list_status",
            "placeholder": plain(t("list.filter_status", lang)),
            "options": statuses,
            "initial_option": current_status,
        },
        {
            "type": "static_select",
            "action_id": "list_messenger",
            "placeholder": plain(t("list.filter_messenger", lang)),
            "options": messengers,
            "initial_option": current_messenger,
        },
    ]
    if audiences:
        groups = [option(t("audience.none", lang), "none")]
        for aid, name in audiences[:GROUP_OPTIONS]:
            # 200 groups with long names were 7,000+ of the message's ~13,200 characters (msg_blocks_too_long)
            if text_size(groups) > GROUP_TEXT_BUDGET and str(aid) != str(state.audience_id):
                continue
            groups.append(option(cut(name, 40), str(aid)))
        current = next((o for o in groups if o["value"] == str(state.audience_id)), groups[0])
        elements.append(
            {
                "type": "static_select",
                "action_id": "list_audience",
                "placeholder": plain(t("audience.filter", lang)),
                "options": groups,
                "initial_option": current,
            }
        )
    if state.is_filtered():
        elements.append(button(t("list.clear_filters", lang), "list_clear", "clear"))
    elements.append(button(t("list.refresh", lang), "list_refresh", "refresh"))
    return {"type": "actions", "block_id": join("ctl", state), "elements": elements}


def _sort_buttons(state: ListState, lang: str, labels: dict[str, str]) -> dict[str, Any]:
    elements = []
    for sort in SORT_CODES.values():
        label = labels.get(sort) or t(f"field.{sort}", lang)
        if sort == state.sort:
            label = f"{label} {'▼' if state.desc else '▲'}"
        elements.append(
            button(
                label.capitalize() if lang == "en" else label[:1].upper() + label[1:],
                f"list_sort_{sort}",
                sort,
                "primary" if sort == state.sort else None,
            )
        )
    return {"type": "actions", "block_id": join("sort", state), "elements": elements}


def _nav(page: Page, state: ListState, lang: str) -> dict[str, Any] | None:
    elements = []
    if page.has_prev and page.first_id is not None:
        elements.append(button(t("list.prev", lang), "list_prev", str(page.first_id)))
    if page.has_next and page.last_id is not None:
        elements.append(button(t("list.next", lang), "list_next", str(page.last_id)))
    if not elements:
        return None
    return {"type": "actions", "block_id": join("nav", state), "elements": elements}


def _list_actions(state: ListState, lang: str) -> dict[str, Any]:
    """The list's "Aktionen": each button's listener lives with its feature (export, import, notify)."""
    elements = [
        button(t("list.action.notify", lang), "list_notify", "notify", "primary"),
        button(t("list.action.export", lang), "list_export", "export"),
        button(t("list.action.import", lang), "list_import_help", "import"),
        button(t("list.action.table_settings", lang), "list_table_settings", "table"),
    ]
    if state.is_filtered() and not state.search and state.audience_id is None:
        elements.append(button(t("audience.save_from_list", lang), "list_save_audience", "save"))
    return {"type": "actions", "block_id": join("acts", state), "elements": elements}


def contact_list(
    page: Page,
    state: ListState,
    lang: str,
    notice: str | None = None,
    columns: list[Column] | None = None,
    values: dict[int, dict[int, str]] | None = None,
    audiences: list[tuple[int, str]] | None = None,
    *,
    seal: Seal,
) -> dict[str, Any]:
    """The whole list message (`text` is the notification fallback); `seal` seals the rows' menu values."""
    values = values or {}
    blocks: list[dict[str, Any]] = []
    if notice:
        blocks.append({"type": "context", "elements": [mrkdwn(notice)]})
    blocks.append(
        {"type": "section", "block_id": "head", "text": mrkdwn(_header_text(page, state, lang, dict(audiences or [])))}
    )
    audiences = audiences or []
    columns = columns if columns is not None else default_columns(lang)
    blocks.append(_filters(state, lang, audiences))
    blocks.append(_sort_buttons(state, lang, {c.key: c.label for c in columns}))
    blocks.append({"type": "divider"})
    if page.rows:
        limit = min(1000, ROWS_TEXT_BUDGET // len(page.rows))
        blocks.extend(contact_row(c, state, lang, columns, values.get(c.id or 0), limit, seal=seal) for c in page.rows)
    else:
        blocks.append({"type": "section", "text": mrkdwn(t("list.empty", lang))})
    nav = _nav(page, state, lang)
    if nav:
        blocks.append(nav)
    blocks.append(_list_actions(state, lang))
    first = state.offset + 1 if page.rows else 0
    fallback = t(
        "list.fallback",
        lang,
        first=number(first, lang),
        last=number(state.offset + len(page.rows), lang),
        total=total(page.total, page.total_capped, lang),
    )
    return {"blocks": blocks[:50], "text": fallback}
