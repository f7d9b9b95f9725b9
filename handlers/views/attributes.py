"""Submissions of the attribute, contact details and table settings modals."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.webhook import WebhookClient

from bot import attributes as service
from bot import contacts as contact_service
from bot import table_settings
from bot.attributes import AttributeValueError
from bot.i18n import number, t
from handlers.blocks.attributes import (
    ATTR_DELETE_CALLBACK,
    ATTR_SAVE_CALLBACK,
    DETAILS_CALLBACK,
    TABLE_CALLBACK,
)
from handlers.blocks.contact_list import contact_label
from handlers.contact_list_view import render
from handlers.context import actor, deps, lang, refusal, viewer
from handlers.list_state import BadState, ListState, split


def _meta(body: dict[str, Any]) -> dict[str, Any]:
    try:
        data = json.loads(body["view"].get("private_metadata") or "{}")
        return data if isinstance(data, dict) else {}
    except ValueError:
        return {}


def _values(body: dict[str, Any]) -> dict[str, Any]:
    """block_id -> submitted value (text, selected option value, or list of checked values)."""
    found: dict[str, Any] = {}
    for block_id, actions in body["view"]["state"]["values"].items():
        for state in actions.values():
            if state.get("type") == "checkboxes":
                found[block_id] = [o["value"] for o in state.get("selected_options") or []]
            elif "selected_option" in state:
                found[block_id] = (state.get("selected_option") or {}).get("value")
            else:
                found[block_id] = state.get("value")
    return found


def _url(meta: dict[str, Any]) -> str | None:
    url = meta.get("url")
    return url if isinstance(url, str) and url.startswith(("https://", "http://")) else None


def _tell(meta: dict[str, Any], text: str) -> None:
    if url := _url(meta):
        WebhookClient(url).send(text=text, response_type="ephemeral", replace_original=False)


def on_attribute_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = _meta(body)
    if why := refusal(context, language):
        ack()
        _tell(meta, why)
        return
    values = _values(body)
    choices = [c for c in (values.get("choices") or "").splitlines() if c.strip()]
    try:
        if meta.get("id"):
            changes: dict[str, Any] = {"label_de": values.get("label_de"), "label_en": values.get("label_en")}
            if "choices" in values:
                changes["choices"] = choices
            attribute = service.update(deps(context).engine, int(meta["id"]), actor(context), **changes)
        else:
            attribute = service.create(deps(context).engine, values.get("label_de") or "", values.get("label_en"),
                                       values.get("type") or "text", actor(context), choices=choices)
    except AttributeValueError as exc:
        block = "choices" if exc.code == "attr.no_choices" else "label_de"
        ack(response_action="errors", errors={block: t(exc.code, language, **exc.values)})
        return
    ack()
    _tell(meta, ":white_check_mark: " + t("attr.saved", language, label=attribute.label_de))


def on_attribute_delete(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = _meta(body)
    ack()
    if why := refusal(context, language):
        _tell(meta, why)
        return
    try:
        held = service.delete(deps(context).engine, int(meta.get("id", 0)), actor(context))
        _tell(meta, ":wastebasket: " + t("attr.deleted", language, holders=number(held, language)))
    except AttributeValueError as exc:
        _tell(meta, t(exc.code, language, **exc.values))


def on_details_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = _meta(body)
    if why := refusal(context, language):
        ack()
        _tell(meta, why)
        return
    raw = {int(k[1:]): (v or "") for k, v in _values(body).items() if k.startswith("a") and k[1:].isdigit()}
    try:
        contact_id = int(meta.get("cid", 0))
        contact = contact_service.contact_or_raise(deps(context).engine, contact_id)
        service.set_contact_values(deps(context).engine, contact_id, raw, actor(context))
    except AttributeValueError as exc:
        ack(response_action="errors",
            errors={f"a{exc.values.get('attribute_id')}": t(exc.code, language, **exc.values)})
        return
    except contact_service.NotFound:
        ack()
        _tell(meta, t("gone", language))
        return
    ack()
    _tell(meta, ":white_check_mark: " + t("details.saved", language, who=contact_label(contact, language)))


def on_table_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = _meta(body)
    values = _values(body)
    scope = values.get("scope") or "user"
    is_admin = refusal(context, language) is None
    if scope == "workspace" and not is_admin:
        ack(response_action="errors", errors={"scope": t("table.workspace_admin_only", language)})
        return
    team, user = context.team_id or "", context.user_id or ""
    target_user = None if scope == "workspace" else user
    if "reset" in (values.get("reset") or []):
        ack()
        table_settings.reset(deps(context).engine, team, target_user, actor(context))
        notice = t("table.reset_done", language)
    else:
        ranked: list[tuple[int, str]] = []
        hidden: list[str] = []
        deletions: list[str] = []
        for block_id, value in values.items():
            if not block_id.startswith("pos|"):
                continue
            key = block_id.removeprefix("pos|")
            if value == "delete":
                deletions.append(key)
            elif value and value.isdigit():
                ranked.append((int(value), key))
            else:
                hidden.append(key)
        if not ranked:
            first = next((k for k in values if k.startswith("pos|")), "scope")
            ack(response_action="errors", errors={first: t("table.no_columns", language)})
            return
        labels = {k.removeprefix("label|"): v for k, v in values.items() if k.startswith("label|") and v}
        spec = [{"key": key, "visible": True, "label": labels.get(key)} for _, key in sorted(ranked)]
        spec += [{"key": key, "visible": False, "label": labels.get(key)} for key in hidden + deletions]
        table_settings.save(deps(context).engine, team, target_user, spec, actor(context))
        notice = t("table.saved", language)
        confirm = _deletion_confirmation(deps(context).engine, deletions if is_admin else [], language, meta)
        if confirm is not None:  # the column is hidden now; deleting the attribute needs its own yes
            ack(response_action="push", view=confirm)
        else:
            ack()
    if url := _url(meta):
        try:
            state = split(str(meta.get("blk", "")))[1]
        except BadState:
            state = ListState()
        payload = render(deps(context), state, language, viewer=viewer(context), notice=notice)
        WebhookClient(url).send(replace_original=True, response_type="ephemeral", **payload)


def _deletion_confirmation(engine: Any, keys: list[str], language: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    from sqlmodel import Session, select

    from handlers.blocks.attributes import attribute_delete_modal
    from storage import attributes as store
    from storage.models import Attribute

    attr_keys = [k.removeprefix("attr:") for k in keys if k.startswith("attr:")]
    if not attr_keys:
        return None
    with Session(engine) as session:
        attribute = session.exec(select(Attribute).where(Attribute.key == attr_keys[0])).first()
        if attribute is None:
            return None
        holders = store.holders(session, attribute.id or 0)
    return attribute_delete_modal(attribute, holders, language, {"id": attribute.id, "url": meta.get("url")})


def register(app: App) -> None:
    app.view(ATTR_SAVE_CALLBACK)(on_attribute_save)
    app.view(ATTR_DELETE_CALLBACK)(on_attribute_delete)
    app.view(DETAILS_CALLBACK)(on_details_save)
    app.view(TABLE_CALLBACK)(on_table_save)
