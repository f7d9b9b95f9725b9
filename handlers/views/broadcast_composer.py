"""The broadcast composer modal: pick (template, recipients, when, test number) -> parameters -> confirm.

Each step's answers travel in `private_metadata`, sealed (handlers/integrity.py) so the confirmed
broadcast is the one composed here (a changed, foreign or old modal is answered "out of date");
slow steps (counting the audience, the test send) run in lazy listeners that redraw the modal with
views.update. The final submit creates the broadcast with the view id as its idempotency key and
posts the live report; the runner sends.
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import httpx
from slack_bolt import Ack, App, BoltContext
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.domain import approval as approval_rules
from bot.domain.phone import PhoneError, display, to_e164
from bot.domain.statuses import BroadcastStatus
from bot.i18n import t
from bot.services import audiences
from bot.services.broadcasts import service
from bot.whatsapp.errors import WhatsAppError
from bot.whatsapp.media import SLACK_FILETYPES
from bot.whatsapp.templates import Template
from handlers.blocks.approval import window_text
from handlers.blocks.broadcasts import (
    AUDIENCE_PURPOSE,
    CONFIRM_CALLBACK,
    DIGEST,
    PARAMS_CALLBACK,
    PICK_CALLBACK,
    TEMPLATE_SEARCH,
    confirm_view,
    loading_view,
    message_view,
    params_view,
    pick_view,
    template_named,
    template_options,
)
from handlers.clients.approval import note, post_request
from handlers.clients.live_report import post_report
from handlers.clients.media import SLACK_REF, MediaRefused, slack_file_id, upload_slack_file
from handlers.context import actor, deps, lang, refusal, sealer
from handlers.deps import Deps
from handlers.errors import answers_errors
from handlers.integrity import MAX_METADATA, Sealer
from handlers.list_state import BadState, split
from handlers.views.submission import ack_sealed, metadata, sealed_metadata, stale_view, values

log = logging.getLogger(__name__)
MIN_LEAD_SECONDS = 60


def open_composer(
    client: WebClient, trigger_id: str, d: Deps, language: str, meta: dict[str, Any], seal: Sealer
) -> None:
    """Open at once (the trigger lives 3 s), then fill in the templates, which may take a round trip to Meta."""
    opened = client.views_open(trigger_id=trigger_id, view=seal.view(loading_view(language, meta)))
    view_id = opened["view"]["id"]
    try:
        templates = service.templates(d.settings)
    except (WhatsAppError, httpx.HTTPError) as exc:
        code = getattr(exc, "code", None) or type(exc).__name__
        text = t("broadcast.error.templates", language, code=code, title=getattr(exc, "title", ""))
        client.views_update(view_id=view_id, view=seal.view(message_view(language, text)))
        return
    view = pick_view(
        templates, audiences.names(d.engine), language, meta, seal=seal.seal, quiet_default=d.settings.quiet_hours
    )
    client.views_update(view_id=view_id, view=seal.view(view))


def _template(d: Deps, value: str) -> Template:
    templates = service.templates(d.settings) if value.startswith(DIGEST) else []
    name, code = template_named(templates, value)
    return service.find_template(d.settings, name, code)


def _picked_time(body: dict[str, Any]) -> int | None:
    state = body["view"]["state"]["values"].get("at", {}).get("v", {})
    value = state.get("selected_date_time")
    return int(value) if value else None


def _picked_local_time(body: dict[str, Any]) -> str | None:
    state = body["view"]["state"]["values"].get("lt", {}).get("v", {})
    return state.get("selected_time") or None


def _picked(body: dict[str, Any], context: BoltContext, language: str) -> tuple[dict[str, Any] | None, dict[str, str]]:
    """Step 1's answers as metadata (None: the modal's own metadata failed its check), and the input
    errors to show (none: go on). A saved group's value must carry its seal."""
    d = deps(context)
    earlier = metadata(body, context)
    if earlier is None:
        return None, {}
    vals = values(body)
    errors: dict[str, str] = {}
    aud = vals.get("aud") or "all"
    if aud not in ("all", "filter"):
        aud = sealer(context).unseal(aud, AUDIENCE_PURPOSE) or ""
        if not aud.startswith("aud:"):
            errors["aud"] = t("error.stale", language)
    at = _picked_time(body) if vals.get("when") == "later" else None
    if vals.get("when") == "later" and (at is None or at < datetime.now(UTC).timestamp() + MIN_LEAD_SECONDS):
        errors["at"] = t("broadcast.error.past", language)
    test = (vals.get("test") or "").strip()
    if test:
        try:
            test = to_e164(test, d.settings.default_region)
        except PhoneError:
            errors["test"] = t("broadcast.error.bad_phone", language, value=test[:30])
    local_time, quiet = _picked_local_time(body), (vals.get("qh") or "").strip() or None
    try:
        local_time, quiet = service.window_values(local_time, quiet)
    except service.BroadcastError as exc:
        errors["qh" if exc.code == "broadcast.error.quiet_hours" else "lt"] = t(exc.code, language, **exc.values)
    meta = {**earlier, "tpl": vals["tpl"], "aud": aud, "at": at, "test": test or None}
    meta |= {k: v for k, v in (("lt", local_time), ("qh", quiet)) if v}
    return meta, errors


def on_pick(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    d = deps(context)
    meta, errors = _picked(body, context, language)
    if meta is None:
        ack(response_action="update", view=stale_view(language))
        return
    if errors:
        ack(response_action="errors", errors=errors)
        return
    template = _template(d, meta["tpl"])
    if template.params:
        fields = service.attribute_fields(d.engine, language)
        ack(response_action="update", view=sealer(context).view(params_view(template, fields, language, meta)))
    else:  # no parameters: step 2 is skipped, the confirmation is the next view (built here, see on_params)
        ack(response_action="update", view=confirmation_view({**meta, "p": {}}, context, client))


def _sources(body: dict[str, Any]) -> dict[str, dict[str, str]]:
    vals = values(body)
    out: dict[str, dict[str, str]] = {}
    for block_id, value in vals.items():
        if block_id.startswith("src:"):
            key = block_id.removeprefix("src:")
            text = (vals.get(f"val:{key}") or "").strip()
            source = value or "text"
            out[key] = {"text": text} if source == "text" else {"field": source, "fallback": text}
            if picked := vals.get(f"file:{key}"):  # a file uploaded in the modal wins over the text
                out[key] = {"text": SLACK_REF + picked[0]}
    return out


def with_media(meta: dict[str, Any], template: Template, client: WebClient, d: Deps) -> dict[str, Any]:
    """The metadata with every media header that names a Slack file replaced by its WhatsApp media id, the
    file uploaded once (handlers/clients/media.py); raises MediaRefused or BroadcastError."""
    sources = dict(meta.get("p") or {})
    for p in template.params:
        source = sources.get(p.key) or {}
        file_id = slack_file_id(str(source.get("text") or "")) if p.kind in SLACK_FILETYPES else None
        if file_id and "field" not in source:
            sources[p.key] = {"text": upload_slack_file(client, d.settings, file_id, p.kind)}
    return {**meta, "p": sources}


def media_refusal(exc: MediaRefused, language: str) -> str:
    values = dict(exc.values)
    if "kind" in values:
        values["kind"] = t(f"broadcast.media.{values['kind']}", language)
    return t(exc.code, language, **values)


def on_params(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    if (earlier := sealed_metadata(ack, body, context, language)) is None:
        return
    sources = _sources(body)
    errors = {
        f"val:{k}": t("broadcast.error.params", language, problems=f"missing:{k}")
        for k, s in sources.items()
        if "text" in s and not s["text"]
    }
    if not errors:
        errors = _too_long(sources, {**earlier, "p": sources}, context, language)
    if errors:
        ack(response_action="errors", errors=errors)
        return
    # The next view is built here and sent with the ack: a lazy views.update racing ack(response_action="update")
    # shows "We had some trouble connecting" (slackapi/bolt-python#866).
    ack(response_action="update", view=confirmation_view({**earlier, "p": sources}, context, client))


def _too_long(
    sources: dict[str, dict[str, str]], meta: dict[str, Any], context: BoltContext, language: str
) -> dict[str, str]:
    """Input errors when the parameters do not fit the modal's sealed private_metadata (3,000 characters): a cut
    seal would only say "out of date" on Send, so the user is asked to shorten the longest texts now."""
    seal = sealer(context)
    text = json.dumps(meta, separators=(",", ":"))
    room = (
        MAX_METADATA - (len(seal.seal(text, f"view:{CONFIRM_CALLBACK}")) - len(text)) - 200
    )  # the confirmation adds little ("test" drops)
    if len(text) <= room:
        return {}
    used = sum(len(s.get("text") or s.get("fallback") or "") for s in sources.values())
    limit = max(0, used - (len(text) - room))
    longest = sorted(sources, key=lambda k: -len(sources[k].get("text") or sources[k].get("fallback") or ""))
    message = t("broadcast.error.params_too_long", language, limit=limit)
    return {f"val:{key}": message for key in longest[:2]}


def _audience(d: Deps, meta: dict[str, Any], language: str) -> service.AudienceSpec:
    choice = str(meta.get("aud") or "all")
    if choice == "filter" and meta.get("blk"):
        try:
            state = split(str(meta["blk"]))[1]
            return service.AudienceSpec.of_filter(state.contact_filter(), t("broadcast.audience.filter", language))
        except BadState:
            pass
    if choice.startswith("aud:") and choice[4:].isdigit():
        found = audiences.find(d.engine, choice[4:])
        if found is not None:
            return service.AudienceSpec.saved(found.id, found.name)
    return service.AudienceSpec()


def draft_from(
    meta: dict[str, Any], context: BoltContext, language: str, request_key: str | None = None
) -> service.Draft:
    d = deps(context)
    at = meta.get("at")
    return service.Draft(
        template=_template(d, str(meta.get("tpl", ""))),
        params={k: service.ParamSource(**v) for k, v in (meta.get("p") or {}).items()},
        audience=_audience(d, meta, language),
        created_by=actor(context),
        scheduled_at=datetime.fromtimestamp(int(at), UTC) if at else None,
        request_key=request_key,
        report_lang=language,
        channel_id=meta.get("ch"),
        local_time=meta.get("lt"),
        quiet_hours=meta.get("qh"),
    )


def confirmation_view(meta: dict[str, Any], context: BoltContext, client: WebClient) -> dict[str, Any]:
    """The sealed confirmation (count, test message sent), or a message view saying why there is none."""
    language = lang(context, client)
    d = deps(context)
    try:
        draft = draft_from(meta, context, language)
        preview = service.preview(d.engine, d.settings, draft)
        if preview.problems:
            raise service.BroadcastError("broadcast.error.params", problems=", ".join(preview.problems))
    except service.BroadcastError as exc:
        return sealer(context).view(message_view(language, t(exc.code, language, **exc.values)))
    note = None
    if meta.get("test"):
        try:  # the test message needs the header file at WhatsApp now; the broadcast then uses the same id
            meta = with_media(meta, draft.template, client, d)
            draft = draft_from(meta, context, language)
        except MediaRefused as exc:
            return sealer(context).view(message_view(language, media_refusal(exc, language)))
        except service.BroadcastError as exc:
            return sealer(context).view(message_view(language, t(exc.code, language, **exc.values)))
        try:
            service.test_send(d.settings, draft.template, draft.params, str(meta["test"]))
            note = t("broadcast.confirm.test_sent", language, phone=display(str(meta["test"])))
        except service.BroadcastError as exc:
            note = t("broadcast.confirm.test_failed", language, reason=t(exc.code, language, **exc.values))
    meta = {k: v for k, v in meta.items() if k != "test"}  # the test is done; confirming must not repeat it
    view = confirm_view(
        draft.template,
        preview,
        language,
        meta,
        meta.get("at"),
        note,
        refusal(context, language) is None,
        window=window_text(draft.local_time, draft.quiet_hours, language),
        approval=approval_rules.needed(d.settings.approval_above, preview.recipients),
    )
    return sealer(context).view(view)


def on_confirm_ack(ack: Ack, body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    """A refusal is shown in the modal itself: a message into the channel would be lost where the bot is not."""
    language = lang(context, client)
    if metadata(body, context) is not None and (why := refusal(context, language)):
        ack(response_action="update", view=sealer(context).view(message_view(language, why)))
        return
    ack_sealed(ack, body, context, client)


def tell(client: WebClient, channel: str, user: str, text: str) -> None:
    """An ephemeral note in the channel; the user's DM when the bot cannot post there (not a member, a DM between
    two people, an archived channel)."""
    if channel:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
            return
        except SlackApiError as exc:
            log.info("ephemeral note refused (%s): sent to the DM", exc.response.get("error"))
    dm = client.conversations_open(users=user)["channel"]["id"]
    client.chat_postMessage(channel=dm, text=text)


@answers_errors
def on_confirm(body: dict[str, Any], context: BoltContext, client: WebClient) -> None:
    language = lang(context, client)
    meta = metadata(body, context)
    if meta is None:
        return  # the ack said "out of date" in the modal
    user = str(context.user_id)
    channel = str(meta.get("ch") or "")
    if refusal(context, language):
        return  # the ack showed the refusal in the modal
    d = deps(context)
    try:
        meta = with_media(meta, _template(d, str(meta.get("tpl", ""))), client, d)  # a Slack file: uploaded now, once
        row, created = service.create(
            d.engine, d.settings, draft_from(meta, context, language, f"slack:{body['view']['id']}")
        )
    except MediaRefused as exc:
        tell(client, channel, user, media_refusal(exc, language))
        return
    except service.BroadcastError as exc:
        tell(client, channel, user, t(exc.code, language, **exc.values))
        return
    if created:
        post_report(client, d.engine, row.id or 0, channel, user, sealer(context).seal)
        if row.status == BroadcastStatus.AWAITING_APPROVAL:  # four-eyes: another admin decides (issue 18)
            where = post_request(client, d.engine, d.settings, row.id or 0, sealer(context).seal)
            tell(client, channel, user, note(where, row.id or 0, language))


def on_template_search(ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
    """Suggestions for the template select of an account with more templates than a static select holds."""
    try:
        found = service.templates(deps(context).settings)
    except (WhatsAppError, httpx.HTTPError) as exc:
        log.warning("template search: list not read (%s)", type(exc).__name__)
        found = []
    ack(options=template_options(found, str(body.get("value") or "")))


def register(app: App) -> None:
    app.options(TEMPLATE_SEARCH)(on_template_search)
    app.view(PICK_CALLBACK)(on_pick)
    app.view(PARAMS_CALLBACK)(on_params)
    app.view(CONFIRM_CALLBACK)(ack=on_confirm_ack, lazy=[on_confirm])
