"""Inbound events from messengers: parse WhatsApp Cloud API webhooks and our generic `/inbound` JSON
into normalized messages, statuses and opt-outs, then store them in one transaction per request.

Parsing never raises on a payload it does not understand: a bad item is logged (without personal
data) and skipped, because Meta retries a failed delivery for days and then disables the webhook.
"""

from __future__ import annotations

import logging
import math
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from bot.config.settings import Settings
from bot.domain.contacts import MESSENGERS
from bot.domain.phone import PhoneError, to_e164
from bot.services.status_effects import effect_of
from bot.whatsapp import callback
from storage import early_status, history, status_effects
from storage import inbound as inbound_store
from storage.broadcasts import apply_statuses as broadcast_statuses
from storage.broadcasts import settle_unknown
from storage.db import DataError, Engine, IntegrityError, OperationalError, Session, session_scope
from storage.inbound import IncomingMessage, OptOut, Outcome
from storage.message_status import StatusUpdate, apply_statuses
from storage.models import utcnow

log = logging.getLogger(__name__)

MAX_TEXT = 10_000
MAX_ID = 200
ATTEMPTS = 3
MEDIA = ("image", "video", "audio", "document", "sticker")
KINDS = frozenset(
    {"text", *MEDIA, "location", "contacts", "reaction", "button", "interactive", "order", "system", "unsupported"}
)
OPT_OUT_KINDS = frozenset({"text", "button", "interactive"})
STATUS_ALIASES = {"sent": "sent", "delivered": "delivered", "read": "read", "played": "read", "failed": "failed"}
_WA_ID = re.compile(r"^\+?([0-9]{7,15})$")  # ASCII digits only, as WhatsApp sends them


class Skip(ValueError):
    """An item we cannot use; the reason is safe to log (no personal data)."""


@dataclass
class Batch:
    """Everything one request carried, normalized."""

    messages: list[IncomingMessage] = field(default_factory=list)
    statuses: list[StatusUpdate] = field(default_factory=list)
    opt_outs: list[OptOut] = field(default_factory=list)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (index in its list, reason)
    ignored: int = 0  # well-formed changes we have no use for (groups, templates, account updates)
    other_number: int = 0  # changes for another phone number of the business account: not ours to store


# --- helpers -----------------------------------------------------------------------------------------


def _dicts(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _str(value: Any) -> str | None:
    if isinstance(value, str | int) and not isinstance(value, bool):
        text = str(value).replace("\x00", "").strip()  # PostgreSQL text cannot hold NUL
        return text or None
    return None


def _when(value: Any) -> datetime:
    """Epoch seconds (Meta sends them as a string) or ISO 8601; never in the future by more than a minute."""
    now = utcnow()
    if value is None:
        return now
    try:
        if isinstance(value, str) and not value.strip().lstrip("-").isdigit():
            at = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        else:
            seconds = float(value)
            if not math.isfinite(seconds):
                raise Skip("timestamp")
            at = datetime.fromtimestamp(seconds, UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        raise Skip("timestamp") from None
    return min(at, now + timedelta(minutes=1))  # a sender's clock must not set "last chat" in the future


def wa_phone(wa_id: Any, region: str = "DE") -> str:
    """A WhatsApp id (digits with country code) as E.164; WhatsApp vouches for it, so ranges we do
    not know as valid are kept rather than refused."""
    text = _str(wa_id)
    match = _WA_ID.match(text or "")
    if match is None:
        raise Skip("sender")
    e164 = "+" + match.group(1)
    try:
        return to_e164(e164, region)
    except PhoneError:
        return e164


def is_opt_out(text: str | None, keywords: frozenset[str]) -> bool:
    """The whole message is one keyword (case-insensitive; surrounding spaces and `.!` ignored)."""
    return bool(text) and " ".join(text.strip().strip(".!").split()).upper() in keywords  # type: ignore[union-attr]


def _choices(kind: str, raw: Mapping[str, Any]) -> list[str]:
    """What a tapped button says: its text and its payload (a template's quick reply, e.g. Meta's
    "Stop promotions" marketing button, or an interactive reply's title and id)."""
    found = raw.get(kind)
    body: Mapping[str, Any] = found if isinstance(found, dict) else {}
    if kind == "button":
        return [t for t in (_str(body.get("text")), _str(body.get("payload"))) if t]
    if kind == "interactive":
        reply = body.get("button_reply") or body.get("list_reply")
        if isinstance(reply, dict):
            return [t for t in (_str(reply.get("title")), _str(reply.get("id"))) if t]
    return []


def _opts(kind: str, raw: Mapping[str, Any], text: str | None, settings: Settings) -> tuple[bool, bool]:
    """(opt-out, opt-in) for a message: any tap or text that says stop; START only when typed."""
    if kind not in OPT_OUT_KINDS:
        return False, False
    said = [text, *_choices(kind, raw)]
    out = any(is_opt_out(t, settings.opt_out_keywords) for t in said)
    typed_in = kind == "text" and is_opt_out(text, settings.opt_in_keywords)
    return out, typed_in and not out


def _cut(text: str | None, limit: int = MAX_TEXT) -> str | None:
    text = text.replace("\x00", "") if text else None
    return text[:limit] if text else None


# --- WhatsApp Cloud API ------------------------------------------------------------------------------


def _describe(kind: str, raw: Mapping[str, Any]) -> str | None:
    """The text of a message, or a short language-neutral description of what it carries."""
    found = raw.get(kind)
    body: Mapping[str, Any] = found if isinstance(found, dict) else {}
    if kind == "text":
        return _str(body.get("body"))
    if kind in MEDIA:
        return _str(body.get("caption")) or _str(body.get("filename"))
    if kind == "location":
        parts = [_str(body.get("name")), _str(body.get("address"))]
        text = ", ".join(p for p in parts if p)
        lat, lon = body.get("latitude"), body.get("longitude")
        if not text and isinstance(lat, int | float) and isinstance(lon, int | float):
            text = f"{lat:.5f}, {lon:.5f}"
        return text or None
    if kind == "contacts":
        cards = []
        for card in _dicts(raw.get("contacts")):
            name = _str(card["name"].get("formatted_name")) if isinstance(card.get("name"), dict) else None
            phones = [p for p in (_str(ph.get("phone")) for ph in _dicts(card.get("phones"))) if p]
            cards.append(" ".join(x for x in [name, f"({', '.join(phones)})" if phones else None] if x))
        return "; ".join(c for c in cards if c) or None
    if kind == "reaction":
        return _str(body.get("emoji"))
    if kind == "button":
        return _str(body.get("text")) or _str(body.get("payload"))
    if kind == "interactive":
        for reply in ("button_reply", "list_reply"):
            if isinstance(body.get(reply), dict):
                title, detail = _str(body[reply].get("title")), _str(body[reply].get("description"))
                return f"{title} ({detail})" if title and detail else title
        if isinstance(body.get("nfm_reply"), dict):
            return _str(body["nfm_reply"].get("body"))
        return None
    if kind == "order":
        items = [
            f"{_str(i.get('product_retailer_id')) or '?'} ×{_str(i.get('quantity')) or '?'}"
            for i in _dicts(body.get("product_items"))
        ]
        return _str(body.get("text")) or ", ".join(items) or None
    if kind == "system":
        return _str(body.get("body"))
    return None


def _meta_message(raw: dict[str, Any], names: Mapping[str, str], settings: Settings) -> IncomingMessage:
    message_id = _str(raw.get("id"))
    if not message_id or len(message_id) > MAX_ID:
        raise Skip("message id")
    sender = _str(raw.get("from"))
    phone = wa_phone(sender, settings.default_region)
    kind = _str(raw.get("type")) or "unsupported"
    if kind not in KINDS:
        log.info("inbound: WhatsApp message type %r stored as unsupported", kind[:30])
        kind = "unsupported"
    text = _cut(_describe(kind, raw))
    opt_out, opt_in = _opts(kind, raw, text, settings)
    return IncomingMessage(
        messenger="whatsapp",
        phone=phone,
        message_id=message_id,
        at=_when(raw.get("timestamp")),
        kind=kind,
        text=text,
        name=_cut(names.get(sender or ""), 200),
        opt_out=opt_out,
        opt_in=opt_in,
        changed_to=_changed_number(kind, raw, settings),
    )


def _changed_number(kind: str, raw: Mapping[str, Any], settings: Settings) -> str | None:
    """`user_changed_number`: the system message names the new number as `system.wa_id`."""
    body = raw.get("system")
    if kind != "system" or not isinstance(body, dict) or body.get("type") != "user_changed_number":
        return None
    return wa_phone(body.get("wa_id"), settings.default_region)


def _meta_status(raw: dict[str, Any]) -> StatusUpdate | None:
    message_id = _str(raw.get("id"))
    status = STATUS_ALIASES.get(_str(raw.get("status")) or "")
    if not message_id or len(message_id) > MAX_ID:
        raise Skip("status id")
    if status is None:
        return None  # e.g. "deleted" or "warning": nothing a delivery rank knows
    errors = _dicts(raw.get("errors"))
    code = errors[0].get("code") if errors else None
    code = code if isinstance(code, int) and not isinstance(code, bool) else None
    return StatusUpdate(
        wa_message_id=message_id,
        status=status,
        timestamp=_when(raw.get("timestamp")),
        recipient=_str(raw.get("recipient_id")),
        error_code=code,
        error_title=_cut(_str(errors[0].get("title")) if errors else None, 300),
        effect=effect_of(code) if status == "failed" else None,
        delivery_id=callback.delivery_of(raw.get("biz_opaque_callback_data")),
    )


def _each(
    batch: Batch, items: list[dict[str, Any]], parse: Callable[[dict[str, Any]], Any], add: Callable[[Any], None]
) -> None:
    for index, raw in enumerate(items):
        try:
            parsed = parse(raw)
        except Skip as exc:
            batch.skipped.append((index, str(exc)))
            log.warning("inbound: skipped an item (%s)", exc)
            continue
        except Exception as exc:  # a shape we did not foresee: log and skip that item, never fail the request
            batch.skipped.append((index, type(exc).__name__))
            log.warning("inbound: skipped an item we do not understand (%s)", type(exc).__name__)
            continue
        if parsed is not None:
            add(parsed)


def parse_meta(payload: Any, settings: Settings) -> Batch:
    """A Cloud API webhook body: every entry, change, message, status and marketing preference."""
    batch = Batch()
    if not isinstance(payload, dict) or payload.get("object") != "whatsapp_business_account":
        batch.ignored += 1
        log.info("inbound: webhook body is not a WhatsApp Business Account notification; ignored")
        return batch
    for entry in _dicts(payload.get("entry")):
        for change in _dicts(entry.get("changes")):
            value = change.get("value")
            if not isinstance(value, dict):
                batch.ignored += 1
                continue
            if not ours(value, settings):
                batch.other_number += 1
                continue
            names: dict[str, str] = {}
            for c in _dicts(value.get("contacts")):
                wa_id, profile = _str(c.get("wa_id")), c.get("profile")
                name = _str(profile.get("name")) if isinstance(profile, dict) else None
                if wa_id and name:
                    names[wa_id] = name
            used = False
            if "messages" in value:
                used = True
                _each(
                    batch,
                    _dicts(value.get("messages")),
                    partial(_meta_message, names=names, settings=settings),
                    batch.messages.append,
                )
            if "statuses" in value:
                used = True
                _each(batch, _dicts(value.get("statuses")), _meta_status, batch.statuses.append)
            if "user_preferences" in value:
                used = True
                _each(
                    batch,
                    _dicts(value.get("user_preferences")),
                    lambda r: _meta_preference(r, settings),
                    batch.opt_outs.append,
                )
            if not used:
                batch.ignored += 1
                log.info("inbound: webhook field %r not used", str(change.get("field"))[:40])
    return batch


def ours(value: Mapping[str, Any], settings: Settings) -> bool:
    """A change for the configured WHATSAPP_PHONE_NUMBER_ID (any, when none is configured).

    One app receives the webhooks of every number of the business account; messages to another
    number are another team's customers."""
    if not settings.whatsapp_phone_number_id:
        return True
    metadata = value.get("metadata")
    number_id = _str(metadata.get("phone_number_id")) if isinstance(metadata, dict) else None
    return number_id is None or number_id == settings.whatsapp_phone_number_id


def _meta_preference(raw: dict[str, Any], settings: Settings) -> OptOut | None:
    """WhatsApp's own "stop marketing messages" is an opt-out like the keyword; "resume" (the person's
    own choice in WhatsApp) lifts only the marketing stop, never an opt-out said in words."""
    if raw.get("category") != "marketing_messages" or raw.get("value") not in ("stop", "resume"):
        return None
    phone = wa_phone(raw.get("wa_id"), settings.default_region)
    return OptOut("whatsapp", phone, _when(raw.get("timestamp")), resume=raw.get("value") == "resume")


# --- generic /inbound ------------------------------------------------------------------------------


def _generic_message(raw: dict[str, Any], messenger: str, settings: Settings) -> IncomingMessage:
    ident = _str(raw.get("id"))
    if not ident:
        raise Skip("id missing")
    message_id = ident if messenger == "whatsapp" else f"{messenger}:{ident}"
    if len(message_id) > MAX_ID:
        raise Skip("id too long")
    sender = _str(raw.get("from"))
    if not sender:
        raise Skip("from missing")
    try:
        phone = to_e164(sender, settings.default_region)
    except PhoneError as exc:
        raise Skip(exc.code) from None
    kind = _str(raw.get("type")) or "text"
    if kind not in KINDS:
        kind = "unsupported"
    text = raw.get("text")
    text = _cut(text if isinstance(text, str) else None)
    name = raw.get("name")
    return IncomingMessage(
        messenger=messenger,
        phone=phone,
        message_id=message_id,
        at=_when(raw.get("timestamp")),
        kind=kind,
        text=text,
        name=_cut(name.strip(), 200) if isinstance(name, str) and name.strip() else None,
        opt_out=kind in OPT_OUT_KINDS and is_opt_out(text, settings.opt_out_keywords),
        opt_in=kind == "text" and is_opt_out(text, settings.opt_in_keywords),
    )


class BadRequest(ValueError):
    """The `/inbound` body is not in the documented format at all."""


def parse_generic(payload: Any, settings: Settings) -> Batch:
    """`{"messenger": "telegram", "messages": [{"id", "from", "timestamp", "type", "text", "name"}]}`."""
    if not isinstance(payload, dict) or not isinstance(payload.get("messages"), list):
        raise BadRequest("expected an object with a list `messages`")
    messenger = payload.get("messenger")
    if messenger not in MESSENGERS:
        raise BadRequest(f"`messenger` must be one of {', '.join(MESSENGERS)}")
    batch = Batch()
    for index, raw in enumerate(payload["messages"]):
        if not isinstance(raw, dict):
            batch.skipped.append((index, "not an object"))
            continue
        try:
            batch.messages.append(_generic_message(raw, messenger, settings))
        except Skip as exc:
            batch.skipped.append((index, str(exc)))
    return batch


# --- storing -----------------------------------------------------------------------------------------


def store_batch(engine: Engine, batch: Batch, actor: str) -> Outcome:
    """One transaction for the whole request; if one item breaks a constraint we did not foresee,
    store the items one by one and skip (and log) the bad ones instead of failing every retry."""
    if not (batch.messages or batch.opt_outs or batch.statuses):
        return Outcome()
    try:
        return _store(engine, batch.messages, batch.opt_outs, batch.statuses, actor)
    except (IntegrityError, DataError) as exc:
        log.warning("inbound: batch rejected by the database (%s); storing items one by one", type(exc).__name__)
    total = Outcome()
    singles: list[tuple[list[IncomingMessage], list[OptOut], list[StatusUpdate]]] = (
        [([m], [], []) for m in batch.messages]
        + [([], [o], []) for o in batch.opt_outs]
        + [([], [], [s]) for s in batch.statuses]
    )
    for messages, opt_outs, statuses in singles:
        try:
            part = _store(engine, messages, opt_outs, statuses, actor)
        except (IntegrityError, DataError) as exc:
            log.warning("inbound: skipped an item the database rejected (%s)", type(exc).__name__)
            continue
        for name in vars(total):
            setattr(total, name, getattr(total, name) + getattr(part, name))
    return total


def apply_in(
    session: Session,
    messages: Sequence[IncomingMessage],
    opt_outs: Sequence[OptOut],
    statuses: Sequence[StatusUpdate],
    actor: str,
) -> tuple[Outcome, list[str]]:
    """Every effect of messages, opt-outs and statuses in the caller's transaction, customer messages first.

    The one place both the per-request path and the webhook inbox's batches (bot/services/webhook_inbox.py)
    apply them; returns the outcome and the statuses to settle with `settle_early` after the commit."""
    outcome = inbound_store.apply(session, messages, opt_outs, actor=actor)
    settle_unknown(session, statuses)  # an answer-less send named by its delivery id takes its message id first
    status_effects.apply(session, statuses)  # before the rows turn `failed` (once per id)
    apply_statuses(session, statuses)
    broadcast_statuses(session, statuses)  # the same statuses onto broadcast deliveries (an unknown row too)
    history.stamp_statuses(session, statuses)  # issue 18: each status's time on its delivery (history, chart)
    early = early_status.keep_unmatched(session, statuses)  # the sender has not written the id yet
    return outcome, early


def settle_early(engine: Engine, early: list[str]) -> None:
    """The sender may have written an early status's message id meanwhile: look again once ours is committed."""
    if early:
        with session_scope(engine) as session:
            early_status.settle(session, early)
            early_status.settle_ambiguous(session, early)  # or its sender died: the row is `unknown`


def _store(
    engine: Engine, messages: list[IncomingMessage], opt_outs: list[OptOut], statuses: list[StatusUpdate], actor: str
) -> Outcome:
    for attempt in range(ATTEMPTS):
        try:
            with session_scope(engine) as session:
                outcome, early = apply_in(session, messages, opt_outs, statuses, actor)
            settle_early(engine, early)
            return outcome
        except OperationalError:  # a lock timeout or deadlock with a concurrent request: try again
            if attempt == ATTEMPTS - 1:
                raise
            time.sleep(0.05 * (attempt + 1))
    raise AssertionError("unreachable")


def handle_meta(engine: Engine, settings: Settings, payload: Any) -> tuple[Batch, Outcome]:
    batch = parse_meta(payload, settings)
    outcome = store_batch(engine, batch, "whatsapp")
    _log(batch, outcome)
    return batch, outcome


def handle_generic(engine: Engine, settings: Settings, payload: Any) -> tuple[Batch, Outcome]:
    batch = parse_generic(payload, settings)
    outcome = store_batch(engine, batch, f"inbound:{payload['messenger']}")
    _log(batch, outcome)
    return batch, outcome


def _log(batch: Batch, outcome: Outcome) -> None:
    log.info(
        "inbound: %d new, %d duplicate, %d from blocked contacts, %d contacts and %d tickets created, "
        "%d opt-outs, %d statuses, %d skipped",
        outcome.stored,
        outcome.duplicates,
        outcome.blocked,
        outcome.contacts_created,
        outcome.tickets_opened,
        outcome.opted_out,
        len(batch.statuses),
        len(batch.skipped),
    )
