"""Submissions of the attribute, contact details and table settings modals."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.i18n import number, t
from bot.services import attributes as attributes_service
from bot.services import contacts as contact_service
from bot.services import table_settings
from bot.services.attributes import AttributeValueError
from handlers.blocks.attributes import (
    ATTR_DELETE_CALLBACK,
    ATTR_SAVE_CALLBACK,
    DETAILS_CALLBACK,
    TABLE_CALLBACK,
    attribute_delete_modal,
)
from handlers.blocks.contact_list import contact_label
from handlers.context import actor, deps, lang, refusal, sealer
from handlers.views.submission import admin_metadata, refresh_list, sealed_metadata, tell, values


def on_attribute_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    submitted = values(body)
    choices = [c for c in (submitted.get("choices") or "").splitlines() if c.strip()]
    try:
        if meta.get("id"):
            changes: dict[str, Any] = {"label_de": submitted.get("label_de"), "label_en": submitted.get("label_en")}
            if "choices" in submitted:
                changes["choices"] = choices
            attribute = attributes_service.update(deps(context).engine, int(meta["id"]), actor(context), **changes)
        else:
            attribute = attributes_service.create(
                deps(context).engine,
                submitted.get("label_de") or "",
                submitted.get("label_en"),
                submitted.get("type") or "text",
                actor(context),
                choices=choices,
            )
    except AttributeValueError as exc:
        block = "choices" if exc.code == "attr.no_choices" else "label_de"
        ack(response_action="errors", errors={block: t(exc.code, language, **exc.values)})
        return
    ack()
    tell(meta, context, ":white_check_mark: " + t("attr.saved", language, label=attribute.label_de))


def on_attribute_delete(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    ack()
    try:
        held = attributes_service.delete(deps(context).engine, int(meta.get("id", 0)), actor(context))
        tell(meta, context, ":wastebasket: " + t("attr.deleted", language, holders=number(held, language)))
    except AttributeValueError as exc:
        tell(meta, context, t(exc.code, language, **exc.values))


def on_details_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    raw = {int(k[1:]): (v or "") for k, v in values(body).items() if k.startswith("a") and k[1:].isdigit()}
    try:
        contact_id = int(meta.get("cid", 0))
        contact = contact_service.contact_or_raise(deps(context).engine, contact_id)
        attributes_service.set_contact_values(deps(context).engine, contact_id, raw, actor(context))
    except AttributeValueError as exc:
        ack(
            response_action="errors", errors={f"a{exc.values.get('attribute_id')}": t(exc.code, language, **exc.values)}
        )
        return
    except contact_service.NotFound:
        ack()
        tell(meta, context, t("gone", language))
        return
    ack()
    tell(meta, context, ":white_check_mark: " + t("details.saved", language, who=contact_label(contact, language)))


def on_table_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := sealed_metadata(ack, body, context, language)) is None:
        return
    submitted = values(body)
    scope = submitted.get("scope") or "user"
    is_admin = refusal(context, language) is None
    if scope == "workspace" and not is_admin:
        ack(response_action="errors", errors={"scope": t("table.workspace_admin_only", language)})
        return
    team, user = context.team_id or "", context.user_id or ""
    target_user = None if scope == "workspace" else user
    if "reset" in (submitted.get("reset") or []):
        ack()
        table_settings.reset(deps(context).engine, team, target_user, actor(context))
        notice = t("table.reset_done", language)
    else:
        ranked: list[tuple[int, str]] = []
        hidden: list[str] = []
        deletions: list[str] = []
        for block_id, value in submitted.items():
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
            first = next((k for k in submitted if k.startswith("pos|")), "scope")
            ack(response_action="errors", errors={first: t("table.no_columns", language)})
            return
        labels = {k.removeprefix("label|"): v for k, v in submitted.items() if k.startswith("label|") and v}
        spec = [{"key": key, "visible": True, "label": labels.get(key)} for _, key in sorted(ranked)]
        spec += [{"key": key, "visible": False, "label": labels.get(key)} for key in hidden + deletions]
        table_settings.save(deps(context).engine, team, target_user, spec, actor(context))
        notice = t("table.saved", language)
        confirm = _deletion_confirmation(deps(context).engine, deletions if is_admin else [], language, meta)
        if confirm is not None:  # the column is hidden now; deleting the attribute needs its own yes
            ack(response_action="push", view=sealer(context).view(confirm))
        else:
            ack()
    refresh_list(meta, context, language, notice)


def _deletion_confirmation(engine: Any, keys: list[str], language: str, meta: dict[str, Any]) -> dict[str, Any] | None:
    attr_keys = [k.removeprefix("attr:") for k in keys if k.startswith("attr:")]
    if not attr_keys:
        return None
    attribute, holders = attributes_service.by_key_with_holders(engine, attr_keys[0])
    if attribute is None:
        return None
    return attribute_delete_modal(attribute, holders, language, {"id": attribute.id, "url": meta.get("url")})


def register(app: App) -> None:
    app.view(ATTR_SAVE_CALLBACK)(on_attribute_save)
    app.view(ATTR_DELETE_CALLBACK)(on_attribute_delete)
    app.view(DETAILS_CALLBACK)(on_details_save)
    app.view(TABLE_CALLBACK)(on_table_save)
