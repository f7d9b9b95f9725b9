"""Broadcast services shared by Slack and the CLI: templates, preview, create, cancel/pause/resume, retry.

A broadcast is checked completely before it is stored (template approved, every parameter
filled or with a fallback), so Meta never answers 132000 for a reason we could have seen.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any

from bot.config.settings import Settings
from bot.domain import approval as approval_rules
from bot.domain.contacts import ContactFilter
from bot.domain.send_windows import WindowError, format_quiet, parse_quiet, parse_time
from bot.domain.statuses import BroadcastStatus, DeliveryStatus
from bot.services.broadcasts import limits, windows
from bot.services.broadcasts.scheduler import schedule, unschedule
from bot.whatsapp.client import GraphClient
from bot.whatsapp.errors import Ambiguous, Kind, WhatsAppError, classify
from bot.whatsapp.templates import MEDIA_FORMATS, MEDIA_ID, Template, TemplateParam, check_values
from storage import audit
from storage import broadcasts as broadcasts_store
from storage.attributes import all_attributes
from storage.db import Engine, Session, session_scope
from storage.models import Broadcast, utcnow

log = logging.getLogger(__name__)
FIELDS = ("name", "phone")  # contact fields a parameter may draw from, besides `attr:KEY`
RETRYABLE = (Kind.THROTTLE, Kind.PAIR, Kind.TRANSIENT)
TEMPLATE_TTL = 600.0
_template_cache: dict[tuple[str, str], tuple[float, list[Template]]] = {}


class BroadcastError(ValueError):
    """Refused before anything is sent; `code` is an i18n key, `values` fill it (one of them may be named `code`)."""

    def __init__(self, code: str, /, **values: object) -> None:
        super().__init__(code)
        self.code, self.values = code, values


@dataclass(frozen=True)
class ParamSource:
    """Where one template parameter's value comes from: fixed text, or a contact field with fallback."""

    text: str | None = None
    field: str | None = None  # name | phone | attr:KEY
    fallback: str = ""

    def value(self, contact: Mapping[str, str]) -> str:
        if self.field is None:
            return self.text or ""
        return (contact.get(self.field) or "").strip() or self.fallback

    @classmethod
    def parse(cls, raw: str) -> ParamSource:
        """CLI form: `TEXT`, `attr:KEY`, `contact:name`, each source optionally `|FALLBACK`."""
        source, _, fallback = raw.partition("|")
        if source.startswith("attr:") and len(source) > 5:
            return cls(field=source, fallback=fallback)
        if source.startswith("contact:") and len(source) > 8:
            name = source.removeprefix("contact:")  # an unknown field stays visible so it is refused, not sent as text
            return cls(field=name if name in FIELDS else source, fallback=fallback)
        return cls(text=raw)


def attribute_fields(engine: Engine, lang: str) -> list[tuple[str, str]]:
    """(key, label) of every user attribute a parameter may draw from (no counting: menus must be instant)."""
    with Session(engine) as session:
        return [(a.key, a.label_de if lang == "de" else a.label_en) for a in all_attributes(session)]


def resolve_sources(engine: Engine, params: Mapping[str, ParamSource]) -> dict[str, ParamSource]:
    """Every `attr:KEY` and `contact:FIELD` checked against what exists, before anything is created.

    An unknown key would skip every recipient as `missing_param`; it is refused naming the key and
    listing the known ones. `attr:name` means the contact's own name when no attribute is called so.
    """
    with Session(engine) as session:
        keys = [a.key for a in all_attributes(session)]
    out: dict[str, ParamSource] = {}
    for param, source in params.items():
        fld = source.field
        if fld is not None and fld.startswith("attr:") and fld[5:] not in keys:
            if fld[5:] not in FIELDS:
                known = ", ".join([f"attr:{k}" for k in keys] + [f"contact:{f}" for f in FIELDS])
                raise BroadcastError("broadcast.error.unknown_attr", key=fld[5:], param=param, known=known)
            source = ParamSource(field=fld[5:], fallback=source.fallback)
        elif fld is not None and not fld.startswith("attr:") and fld not in FIELDS:
            known = ", ".join(f"contact:{f}" for f in FIELDS)
            raise BroadcastError(
                "broadcast.error.unknown_field", key=fld.removeprefix("contact:"), param=param, known=known
            )
        out[param] = source
    return out


def upload_header_file(settings: Settings, content: bytes, mime_type: str, filename: str) -> str:
    """Upload an image/video/document header once; every send then names it by the returned media id."""
    client = GraphClient(settings)
    try:
        return client.upload_media(content, mime_type, filename)
    except WhatsAppError as exc:
        raise BroadcastError("broadcast.error.upload", code=exc.code or exc.http_status, title=exc.title) from None
    finally:
        client.close()


def template_def(template: Template) -> dict[str, Any]:
    return asdict(template)


def template_from_def(data: Mapping[str, Any]) -> Template:
    params = tuple(TemplateParam(**p) for p in data.get("params", ()))
    return Template(**{**data, "params": params})


def templates(settings: Settings, refresh: bool = False) -> list[Template]:
    """The account's templates, cached for ten minutes per process (Meta limits template reads)."""
    key = (settings.whatsapp_api_url, settings.whatsapp_business_account_id)
    cached = _template_cache.get(key)
    if cached is not None and not refresh and time.monotonic() - cached[0] < TEMPLATE_TTL:
        return cached[1]
    client = GraphClient(settings)
    try:
        found = sorted(client.templates(), key=lambda t: (t.name, t.language))
    finally:
        client.close()
    _template_cache[key] = (time.monotonic(), found)
    return found


def forget_templates() -> None:
    """Drop this process's template list (a template's status changed at Meta)."""
    _template_cache.clear()


def find_template(settings: Settings, name: str, language: str) -> Template:
    for refresh in (False, True):
        for tpl in templates(settings, refresh=refresh):
            if tpl.name == name and tpl.language == language:
                if tpl.status != "APPROVED":
                    raise BroadcastError("broadcast.error.not_approved", name=name, status=tpl.status)
                if tpl.unsupported:
                    raise BroadcastError("broadcast.error.unsupported", name=name, reason=tpl.unsupported)
                return tpl
    raise BroadcastError("broadcast.error.no_template", name=name, lang=language)


@dataclass(frozen=True)
class AudienceSpec:
    """Who: all reachable contacts, the list's current filter, or a saved audience (Zielgruppe)."""

    kind: str = "all"  # all|filter|audience
    filter: dict[str, Any] = field(default_factory=dict)
    label: str = ""

    def contact_filter(self) -> ContactFilter:
        if self.kind == "all":
            return ContactFilter(status="all")
        return ContactFilter(**self.filter)

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "filter": self.filter, "label": self.label}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> AudienceSpec:
        return cls(
            kind=str(data.get("kind", "all")), filter=dict(data.get("filter") or {}), label=str(data.get("label", ""))
        )

    @classmethod
    def of_filter(cls, flt: ContactFilter, label: str = "") -> AudienceSpec:
        data = {
            "status": flt.status,
            "blocked": flt.blocked,
            "messenger": flt.messenger,
            "search": flt.search,
            "audience_id": flt.audience_id,
        }
        return cls(kind="filter", filter={k: v for k, v in data.items() if v is not None}, label=label)

    @classmethod
    def saved(cls, audience_id: int, name: str) -> AudienceSpec:
        return cls(kind="audience", filter={"status": "all", "audience_id": audience_id}, label=name)


@dataclass
class Draft:
    template: Template
    params: dict[str, ParamSource]
    audience: AudienceSpec
    created_by: str
    scheduled_at: datetime | None = None
    request_key: str | None = None
    report_lang: str = "de"
    channel_id: str | None = None
    local_time: str | None = None  # "HH:MM" in each recipient's time
    quiet_hours: str | None = None  # "HH:MM-HH:MM" in each recipient's time

    def required_fields(self) -> list[str]:
        """Contact fields without a fallback: a contact lacking one is skipped, not sent a blank."""
        return sorted({p.field for p in self.params.values() if p.field and not p.fallback.strip()})


@dataclass
class Preview:
    breakdown: dict[str, int]
    problems: list[str]
    daily_used: int
    daily_limit: int

    @property
    def recipients(self) -> int:
        return self.breakdown["recipients"]

    @property
    def over_limit(self) -> bool:
        return bool(self.daily_limit) and self.daily_used + self.recipients > self.daily_limit


def param_problems(draft: Draft) -> list[str]:
    """Parameter names and values checked against the template (fixed text empty = missing)."""
    filled = {k: (p.text if p.field is None else (p.fallback or "x")) or "" for k, p in draft.params.items()}
    problems = check_values(draft.template, filled)
    bad = [
        f"bad_field:{k}"
        for k, p in draft.params.items()
        if p.field and p.field not in FIELDS and not p.field.startswith("attr:")
    ]
    return problems + bad


def media_problems(draft: Draft) -> list[str]:
    """A fixed media header value must be an uploaded file's id or an http(s) link: anything else (a Slack file
    not uploaded yet, a local path) would go out as a broken link and fail every send with 131009."""
    kinds = {p.key: p.kind for p in draft.template.params if p.kind in MEDIA_FORMATS.values()}
    return [
        f"bad_media:{k}"
        for k, p in draft.params.items()
        if k in kinds
        and p.field is None
        and not MEDIA_ID.match((p.text or "").strip())
        and not (p.text or "").strip().lower().startswith(("https://", "http://"))
    ]


def preview(engine: Engine, settings: Settings, draft: Draft) -> Preview:
    with Session(engine) as session:
        counts = broadcasts_store.breakdown(
            session, draft.audience.contact_filter(), settings.default_region, draft.required_fields()
        )
    limit = limits.daily_limit(engine, settings)
    with Session(engine) as session:
        used = broadcasts_store.recipients_since(session, utcnow() - timedelta(days=1)) if limit else 0
    return Preview(counts, param_problems(draft), used, limit)


def window_values(local_time: str | None, quiet_hours: str | None) -> tuple[str | None, str | None]:
    """The window options in their stored form ("10:00", "21:00-08:00"); refused when malformed."""
    try:
        local = f"{parse_time(local_time):%H:%M}" if local_time and local_time.strip() else None
    except WindowError:
        raise BroadcastError("broadcast.error.local_time", value=local_time) from None
    try:
        quiet = format_quiet(parse_quiet(quiet_hours))
    except WindowError:
        raise BroadcastError("broadcast.error.quiet_hours", value=quiet_hours) from None
    return local, quiet


def fingerprint_of(row: Broadcast) -> str:
    """What an approval covers (bot/domain/approval.py), from the stored broadcast."""
    return approval_rules.fingerprint(
        row.template,
        row.language,
        row.template_def,
        row.params,
        row.audience,
        row.scheduled_at,
        row.local_time,
        row.quiet_hours,
    )


def needs_approval(engine: Engine, settings: Settings, draft: Draft) -> bool:
    above = settings.approval_above
    if above is None:
        return False
    if above < 0:
        return True
    with Session(engine) as session:
        counts = broadcasts_store.breakdown(
            session, draft.audience.contact_filter(), settings.default_region, draft.required_fields()
        )
    return approval_rules.needed(above, counts["recipients"])


def create(engine: Engine, settings: Settings, draft: Draft) -> tuple[Broadcast, bool]:
    """Store the broadcast (queued, or scheduled; `awaiting` when it needs a second admin's approval);
    idempotent per `request_key`. Sending is the runner's job."""
    if draft.template.status != "APPROVED":
        raise BroadcastError("broadcast.error.not_approved", name=draft.template.name, status=draft.template.status)
    problems = param_problems(draft) + media_problems(draft)
    if problems:
        raise BroadcastError("broadcast.error.params", problems=", ".join(problems))
    draft.params = resolve_sources(engine, draft.params)
    local_time, quiet_hours = window_values(draft.local_time, draft.quiet_hours)
    scheduled = draft.scheduled_at if draft.scheduled_at and draft.scheduled_at > utcnow() else None
    approval = needs_approval(engine, settings, draft)
    status = BroadcastStatus.SCHEDULED if scheduled else BroadcastStatus.QUEUED
    with session_scope(engine) as session:
        row, created = broadcasts_store.create(
            session,
            request_key=draft.request_key,
            template=draft.template.name,
            language=draft.template.language,
            template_def=template_def(draft.template),
            params={k: asdict(v) for k, v in draft.params.items()},
            audience=draft.audience.to_json(),
            status=BroadcastStatus.AWAITING_APPROVAL if approval else status,
            scheduled_at=scheduled,
            created_by=draft.created_by,
            report_lang=draft.report_lang,
            channel_id=draft.channel_id,
            local_time=local_time,
            quiet_hours=quiet_hours,
            approval_required=approval,
        )
        if created:
            row.fingerprint = fingerprint_of(row)
            session.flush()
            audit.record(
                session,
                draft.created_by,
                "broadcast.create",
                "broadcast",
                row.id,
                template=draft.template.name,
                scheduled=bool(scheduled),
                local_time=local_time,
                quiet_hours=quiet_hours,
            )
            if approval:
                audit.record(session, draft.created_by, "broadcast.approval_request", "broadcast", row.id)
    if created and scheduled is not None and not approval:
        wake_at(engine, row.id or 0, scheduled)
    return row, created


def wake_at(engine: Engine, broadcast_id: int, when: datetime) -> None:
    """The scheduler's wake-up job; if it cannot be stored the pump still finds the due row."""
    try:
        schedule(engine, broadcast_id, when)
    except Exception as exc:
        log.warning(
            "broadcast %s: wake-up job not stored (%s); the pump will start it", broadcast_id, type(exc).__name__
        )


def params_of(row: Broadcast) -> dict[str, ParamSource]:
    return {k: ParamSource(**v) for k, v in row.params.items()}


def required_fields_of(row: Broadcast) -> list[str]:
    return sorted({p.field for p in params_of(row).values() if p.field and not p.fallback.strip()})


def approval_problem(row: Broadcast, now: datetime | None = None) -> str | None:
    """None when the broadcast may send (no approval needed, or a valid one); else `missing|changed|expired`."""
    return approval_rules.holds(
        row.approval_required,
        fingerprint_of(row),
        row.approved_fingerprint,
        row.approved_at,
        row.approval_expires_at,
        row.started_at,
        now or utcnow(),
    )


def withdraw_approval(session: Session, row: Broadcast, why: str, from_: tuple[str, ...]) -> bool:
    """An approval that no longer holds (expired before the start, or the broadcast changed): back to
    `awaiting`, the old approval forgotten, in the audit log (and so the audit channel)."""
    done = broadcasts_store.update_fields(
        session,
        row.id or 0,
        from_,
        status=BroadcastStatus.AWAITING_APPROVAL,
        approved_fingerprint=None,
        approved_by=None,
        approved_at=None,
        approval_expires_at=None,
        fingerprint=fingerprint_of(row),
        lease_owner=None,
        lease_until=None,
    )
    if done:
        audit.record(session, "system", f"broadcast.approval_{why}", "broadcast", row.id)
        log.warning("broadcast %s: approval %s, nothing sent until it is approved again", row.id, why)
    return done


def start(engine: Engine, settings: Settings, broadcast_id: int) -> int | None:
    """Freeze the audience of a due broadcast and mark it running; None when it was not ours to start.

    A broadcast that needs an approval starts only with one that still holds; recipients with a send
    window get it here, in the same transaction as the freeze."""
    with session_scope(engine) as session:
        row = broadcasts_store.get(session, broadcast_id)
        if row is None:
            return None
        if why := approval_problem(row):
            withdraw_approval(session, row, why, (BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED))
            return None
        spec = AudienceSpec.from_json(row.audience)
        now = utcnow()
        total = broadcasts_store.start(
            session, broadcast_id, spec.contact_filter(), settings.default_region, required_fields_of(row), now
        )
        if total is not None:
            if windows.windowed(row, settings):
                windows.assign(session, settings, row, now)
            audit.record(session, row.created_by, "broadcast.start", "broadcast", broadcast_id, total=total)
        return total


TRANSITIONS = {
    "cancel": (
        (
            BroadcastStatus.AWAITING_APPROVAL,
            BroadcastStatus.SCHEDULED,
            BroadcastStatus.QUEUED,
            BroadcastStatus.RUNNING,
            BroadcastStatus.PAUSED,
        ),
        BroadcastStatus.CANCELLED,
    ),
    "pause": ((BroadcastStatus.RUNNING,), BroadcastStatus.PAUSED),
    "resume": (
        (BroadcastStatus.PAUSED, BroadcastStatus.STOPPED),
        BroadcastStatus.RUNNING,
    ),  # stopped: after fixing what stopped it (token, billing)
}


def change(engine: Engine, broadcast_id: int, action: str, actor: str) -> Broadcast:
    """Cancel, pause or resume; raises BroadcastError when the broadcast is not in a state for it."""
    allowed, to = TRANSITIONS[action]
    with session_scope(engine) as session:
        row = broadcasts_store.get(session, broadcast_id)
        if row is None:
            raise BroadcastError("broadcast.error.not_found", id=broadcast_id)
        extra: dict[str, Any] = {"pause_reason": "manual" if action == "pause" else None}
        if action == "resume":
            extra |= {"stop_code": None, "stop_reason": None, "finished_at": None}
        if not broadcasts_store.set_status(session, broadcast_id, allowed, to, **extra):
            raise BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        if action == "cancel":
            broadcasts_store.skip_pending(session, broadcast_id, BroadcastStatus.CANCELLED)
        audit.record(session, actor, f"broadcast.{action}", "broadcast", broadcast_id)
        session.refresh(row)
    if action == "cancel" and row.scheduled_at is not None:
        unschedule(engine, broadcast_id)
    return row


def retryable(code: int | None) -> bool:
    """A failure worth another try: a passing error code, or none at all (a 5xx page, a refused connection)."""
    return code is None or classify(code) in RETRYABLE


def retry_failed(engine: Engine, broadcast_id: int, actor: str, include_unknown: bool = False) -> int:
    """Send again to rows that failed for a passing reason (and `unknown` ones only when asked)."""
    with session_scope(engine) as session:
        row = broadcasts_store.get(session, broadcast_id)
        if row is None:
            raise BroadcastError("broadcast.error.not_found", id=broadcast_id)
        codes = [
            r.code
            for r in broadcasts_store.failure_reasons(session, broadcast_id, 100)
            if r.status == DeliveryStatus.FAILED and retryable(r.code)
        ]
        n = broadcasts_store.requeue(session, broadcast_id, codes, include_unknown)
        if n:
            broadcasts_store.set_status(
                session,
                broadcast_id,
                (BroadcastStatus.DONE, BroadcastStatus.STOPPED, BroadcastStatus.PAUSED, BroadcastStatus.RUNNING),
                BroadcastStatus.RUNNING,
                finished_at=None,
                stop_code=None,
                stop_reason=None,
                pause_reason=None,
            )
            audit.record(session, actor, "broadcast.retry", "broadcast", broadcast_id, rows=n)
        return n


@dataclass
class Report:
    broadcast: Broadcast
    counts: dict[str, int]
    reasons: list[broadcasts_store.Reason]
    ambiguity: broadcasts_store.Ambiguity = field(default_factory=broadcasts_store.Ambiguity)
    waiting: int = 0  # pending rows whose recipient's send window is closed now

    def n(self, *statuses: str) -> int:
        return sum(self.counts.get(s, 0) for s in statuses)

    @property
    def retryable(self) -> int:
        return sum(r.count for r in self.reasons if r.status == DeliveryStatus.FAILED and retryable(r.code))


def set_report_message(engine: Engine, broadcast_id: int, channel_id: str, message_ts: str) -> None:
    """Where the live report lives, so any process (web or worker) can update it."""
    with session_scope(engine) as session:
        broadcasts_store.set_report_message(session, broadcast_id, channel_id, message_ts)


def report(engine: Engine, broadcast_id: int) -> Report:
    with Session(engine) as session:
        row = broadcasts_store.get(session, broadcast_id)
        if row is None:
            raise BroadcastError("broadcast.error.not_found", id=broadcast_id)
        counts = broadcasts_store.counts(session, broadcast_id)
        windowed = bool(row.local_time or row.quiet_hours or row.next_window_at)
        reasons = broadcasts_store.failure_reasons(session, broadcast_id)
        erased = int((row.excluded or {}).get("erased") or 0)  # rows that went with their erased contact
        if erased:
            reasons.append(broadcasts_store.Reason(DeliveryStatus.SKIPPED, None, "erased", erased))
        return Report(
            row,
            counts,
            reasons,
            broadcasts_store.ambiguity(session, broadcast_id),
            broadcasts_store.waiting(session, broadcast_id) if windowed and counts.get("pending") else 0,
        )


def recent(engine: Engine, limit: int = 20) -> list[Report]:
    with Session(engine) as session:
        rows = broadcasts_store.recent(session, limit)
        return [Report(r, broadcasts_store.counts(session, r.id or 0), []) for r in rows]


def test_send(
    settings: Settings,
    template: Template,
    params: Mapping[str, ParamSource],
    phone: str,
    contact: Mapping[str, str] | None = None,
) -> str:
    """One message to one number (the sender's own phone) before the real thing."""
    values = {k: p.value(contact or {}) for k, p in params.items()}
    problems = check_values(template, values)
    if problems:
        raise BroadcastError("broadcast.error.params", problems=", ".join(problems))
    client = GraphClient(settings)
    try:
        return client.send(phone, template, values)
    except WhatsAppError as exc:
        raise BroadcastError("broadcast.error.test_failed", code=exc.code or exc.http_status, title=exc.title) from None
    except Ambiguous:
        raise BroadcastError("broadcast.error.test_unknown") from None
    finally:
        client.close()


def ambiguity(engine: Engine, broadcast_id: int) -> broadcasts_store.Ambiguity:
    """How many rows were ambiguous (a request without an answer), settled by a status webhook, resent."""
    with Session(engine) as session:
        return broadcasts_store.ambiguity(session, broadcast_id)


def resend_unknown(engine: Engine, settings: Settings) -> int:
    """Policy BROADCAST_RESEND_UNKNOWN_AFTER (off when 0): rows still `unknown` that long after they
    became ambiguous (no status webhook settled them) are sent again; a finished broadcast runs again
    for them. Returns how many rows were put back."""
    after = settings.broadcast_resend_unknown_after
    if not after:
        return 0
    total = 0
    with session_scope(engine) as session:
        for bid in broadcasts_store.unknown_broadcasts(session, utcnow() - timedelta(seconds=after)):
            n = broadcasts_store.resend_unknown(session, bid, utcnow() - timedelta(seconds=after))
            if n:
                broadcasts_store.set_status(
                    session, bid, (BroadcastStatus.DONE,), BroadcastStatus.RUNNING, finished_at=None
                )
                audit.record(session, "system", "broadcast.resend_unknown", "broadcast", bid, rows=n)
                log.warning("broadcast %s: %s rows without a status after %ss resent (policy)", bid, n, after)
            total += n
    return total
