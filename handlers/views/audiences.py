"""Target group modal submissions: validate (errors shown in the modal), save, audit, confirm."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient

from bot.i18n import number, t
from bot.services import audiences as audiences_service
from bot.services.audiences import AudienceError
from handlers.blocks.audiences import DELETE_CALLBACK, NEW_CALLBACK, RENAME_CALLBACK, SAVE_CALLBACK
from handlers.context import actor, deps, lang
from handlers.list_state import BadState, ListState, split
from handlers.views.submission import admin_metadata, refresh_list, tell, values


def _value(body: dict[str, Any], block_id: str) -> Any:
    return values(body).get(block_id)


def on_save(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    try:
        state = split(str(meta.get("blk", "")))[1]
    except BadState:
        state = ListState()
    try:
        info = audiences_service.create(
            deps(context).engine,
            _value(body, "name") or "",
            audiences_service.spec_from_list(state.contact_filter()),
            actor(context),
        )
    except AudienceError as exc:
        ack(response_action="errors", errors={"name": t(exc.code, language, **exc.values)})
        return
    ack()
    notice = ":white_check_mark: " + t(
        "audience.saved", language, name=info.name, members=number(info.members, language)
    )
    shown = ListState(sort=state.sort, desc=state.desc, status="all", audience_id=info.id)
    refresh_list(meta, context, language, notice, shown)


def on_rename(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    name = _value(body, "name") or ""
    try:
        audiences_service.rename(deps(context).engine, int(meta.get("id", 0)), name, actor(context))
    except AudienceError as exc:
        ack(response_action="errors", errors={"name": t(exc.code, language, **exc.values)})
        return
    ack()
    tell(meta, context, t("audience.renamed", language, name=" ".join(name.split())))


def on_delete(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    ack()
    try:
        audiences_service.delete(deps(context).engine, int(meta.get("id", 0)), actor(context))
        tell(meta, context, t("audience.deleted", language))
    except AudienceError as exc:
        tell(meta, context, t(exc.code, language, **exc.values))


def spec_from_form(body: dict[str, Any]) -> dict[str, Any]:
    conditions: list[dict[str, Any]] = []
    status = _value(body, "status")
    if status in ("active", "inactive"):
        conditions.append({"field": "status", "op": "eq", "value": status})
    messengers = _value(body, "messenger") or []
    if messengers:
        conditions.append({"field": "messenger", "op": "in", "value": messengers})
    blocked = _value(body, "blocked")
    if blocked in ("yes", "no"):
        conditions.append({"field": "blocked", "op": "eq", "value": blocked == "yes"})
    for field in ("last_chat", "first_contact"):
        days = (_value(body, f"{field}_days") or "").strip()
        if days:
            conditions.append({"field": field, "op": "within_days", "value": days})
    attr = _value(body, "attr")
    if attr:
        op = _value(body, "attr_op") or "eq"
        raw = (_value(body, "attr_value") or "").strip()
        value: Any = [v.strip() for v in raw.split(",") if v.strip()] if op == "in" else raw
        conditions.append({"field": f"attr:{attr}", "op": op, "value": value})
    return {"match": _value(body, "match") or "all", "conditions": conditions}


def on_new(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (meta := admin_metadata(ack, body, context, language)) is None:
        return
    try:
        info = audiences_service.create(
            deps(context).engine, _value(body, "name") or "", spec_from_form(body), actor(context)
        )
    except AudienceError as exc:
        field = {
            "audience.bad_days": "last_chat_days",
            "audience.bad_number": "attr_value",
            "audience.bad_date": "attr_value",
        }.get(exc.code, "name")
        ack(response_action="errors", errors={field: t(exc.code, language, **exc.values)})
        return
    ack()
    tell(
        meta,
        context,
        ":white_check_mark: " + t("audience.saved", language, name=info.name, members=number(info.members, language)),
    )


def register(app: App) -> None:
    app.view(SAVE_CALLBACK)(on_save)
    app.view(RENAME_CALLBACK)(on_rename)
    app.view(DELETE_CALLBACK)(on_delete)
    app.view(NEW_CALLBACK)(on_new)
