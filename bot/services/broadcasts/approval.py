"""Four-eyes approval of broadcasts (issue 18): the request's content, approve, reject, change.

`CONTACTBOT_BROADCAST_APPROVAL` (off | above:N | always) decides at creation whether a broadcast
needs a second admin (service.create leaves it `awaiting`). Whoever asked can never approve it
(the same identity: `slack:<user>` from Slack, `cli:<login>` or `slack:<admin>` with `--as` from the
CLI). An approval covers the fingerprint the approver was shown (bot/domain/approval.py); the
runner re-checks it at the start and at every claim, so an expired, revoked or outdated approval
sends nothing. Every step is in the audit log.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.config.settings import Settings
from bot.domain.statuses import BroadcastStatus
from bot.services.broadcasts import service
from bot.services.broadcasts.scheduler import unschedule
from storage import audit
from storage import broadcasts as broadcasts_store
from storage.db import Engine, Session, session_scope
from storage.models import Broadcast, utcnow

PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")
# An approved broadcast that has not finished can still be revoked (rejected): it stops sending at once.
REVOCABLE = (BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED, BroadcastStatus.RUNNING, BroadcastStatus.PAUSED)


@dataclass
class Request:
    """What the approvers are shown: the broadcast, its audience now, and its text for one real recipient."""

    broadcast: Broadcast
    breakdown: dict[str, int]
    sample: str  # the template body with the first recipient's values filled in ("" when nobody qualifies)
    fingerprint: str


def render(body: str, values: dict[str, str]) -> str:
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def request(engine: Engine, settings: Settings, broadcast_id: int) -> Request:
    with Session(engine) as session:
        row = broadcasts_store.get(session, broadcast_id)
        if row is None:
            raise service.BroadcastError("broadcast.error.not_found", id=broadcast_id)
        spec = service.AudienceSpec.from_json(row.audience)
        required = service.required_fields_of(row)
        counts = broadcasts_store.breakdown(session, spec.contact_filter(), settings.default_region, required)
        sample = ""
        flt = spec.contact_filter()
        contact_id = broadcasts_store.sample_recipient(session, flt, settings.default_region, required)
        if contact_id is not None:
            params = service.params_of(row)
            fields = sorted({p.field for p in params.values() if p.field})
            contact = broadcasts_store.field_values(session, [contact_id], fields).get(contact_id, {})
            sample = render(str(row.template_def.get("body") or ""), {k: p.value(contact) for k, p in params.items()})
        return Request(row, counts, sample, service.fingerprint_of(row))


def set_posts(engine: Engine, broadcast_id: int, posts: list[list[str]]) -> None:
    """Where the approval request was posted (channel, ts), so the decision can update those messages."""
    with session_scope(engine) as session:
        broadcasts_store.update_fields(
            session, broadcast_id, (BroadcastStatus.AWAITING_APPROVAL,), approval_posts=posts[:20]
        )


def _get(session: Any, broadcast_id: int) -> Broadcast:
    row = broadcasts_store.get(session, broadcast_id)
    if row is None:
        raise service.BroadcastError("broadcast.error.not_found", id=broadcast_id)
    return row


def approve(engine: Engine, settings: Settings, broadcast_id: int, actor: str, seen: str | None = None) -> Broadcast:
    """A second admin approves; `seen` is the fingerprint the approver was shown (from the request's button).

    Refused: by the requester, when it is not awaiting approval, or when it changed since the request."""
    with session_scope(engine) as session:
        row = _get(session, broadcast_id)
        if row.status != BroadcastStatus.AWAITING_APPROVAL:
            raise service.BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        if actor == row.created_by:
            raise service.BroadcastError("broadcast.error.own_approval", id=broadcast_id)
        current = service.fingerprint_of(row)
        if seen is not None and not current.startswith(seen):
            raise service.BroadcastError("broadcast.error.approval_outdated", id=broadcast_id)
        now = utcnow()
        begins = max(now, row.scheduled_at) if row.scheduled_at else now
        expires = begins + timedelta(hours=settings.approval_hours)
        if row.started_at is not None:  # approved again after a withdrawn approval: the rows are frozen
            to = BroadcastStatus.RUNNING
        elif row.scheduled_at is not None and row.scheduled_at > now:
            to = BroadcastStatus.SCHEDULED
        else:
            to = BroadcastStatus.QUEUED
        if not broadcasts_store.update_fields(
            session,
            broadcast_id,
            (BroadcastStatus.AWAITING_APPROVAL,),
            status=to,
            approved_fingerprint=current,
            fingerprint=current,
            approved_by=actor[:50],
            approved_at=now,
            approval_expires_at=expires,
            decision_reason=None,
        ):
            raise service.BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        audit.record(session, actor, "broadcast.approve", "broadcast", broadcast_id, hours=settings.approval_hours)
        session.refresh(row)
    if to == BroadcastStatus.SCHEDULED and row.scheduled_at is not None:
        service.wake_at(engine, broadcast_id, row.scheduled_at)
    return row


def reject(engine: Engine, broadcast_id: int, actor: str, reason: str) -> Broadcast:
    """Reject a request, or revoke an approval not yet used up: nothing (more) is sent."""
    reason = reason.strip()[:300]
    if not reason:
        raise service.BroadcastError("broadcast.error.reason_required")
    with session_scope(engine) as session:
        row = _get(session, broadcast_id)
        allowed = (BroadcastStatus.AWAITING_APPROVAL, *(REVOCABLE if row.approval_required else ()))
        if not broadcasts_store.set_status(
            session, broadcast_id, allowed, BroadcastStatus.REJECTED, decision_reason=reason, approved_fingerprint=None
        ):
            raise service.BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        broadcasts_store.skip_pending(session, broadcast_id, BroadcastStatus.REJECTED)
        audit.record(session, actor, "broadcast.reject", "broadcast", broadcast_id, reason=reason)
        session.refresh(row)
    if row.scheduled_at is not None:
        unschedule(engine, broadcast_id)
    return row


def edit(
    engine: Engine,
    settings: Settings,
    broadcast_id: int,
    actor: str,
    *,
    scheduled_at: datetime | None = None,
    params: dict[str, service.ParamSource] | None = None,
    local_time: str | None = None,
    quiet_hours: str | None = None,
) -> Broadcast:
    """Change a broadcast that has not started; one that needs approval needs a new one afterwards."""
    with session_scope(engine) as session:
        row = _get(session, broadcast_id)
        waiting = (BroadcastStatus.AWAITING_APPROVAL, BroadcastStatus.QUEUED, BroadcastStatus.SCHEDULED)
        if row.status not in waiting or row.started_at is not None:
            raise service.BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        values: dict[str, Any] = {}
        if params is not None:
            template = service.template_from_def(row.template_def)
            params = {**service.params_of(row), **params}  # the parameters named change, the others stay
            draft = service.Draft(template, params, service.AudienceSpec.from_json(row.audience), actor)
            if problems := service.param_problems(draft):
                raise service.BroadcastError("broadcast.error.params", problems=", ".join(problems))
            values["params"] = {k: vars(v) for k, v in service.resolve_sources(engine, params).items()}
        if scheduled_at is not None:
            if scheduled_at <= utcnow():
                raise service.BroadcastError("broadcast.error.past")
            values["scheduled_at"] = scheduled_at
        if local_time is not None or quiet_hours is not None:
            local, quiet = service.window_values(local_time or row.local_time, quiet_hours or row.quiet_hours)
            values |= {"local_time": local, "quiet_hours": quiet}
        for key, value in values.items():
            setattr(row, key, value)
        current = service.fingerprint_of(row)
        values["fingerprint"] = current
        if row.approval_required and current != row.approved_fingerprint:
            values |= {
                "status": BroadcastStatus.AWAITING_APPROVAL,
                "approved_fingerprint": None,
                "approved_by": None,
                "approved_at": None,
                "approval_expires_at": None,
            }
        elif "scheduled_at" in values:
            values["status"] = BroadcastStatus.SCHEDULED
        session.expire(row)
        if not broadcasts_store.update_fields(session, broadcast_id, waiting, **values):
            raise service.BroadcastError("broadcast.error.state", id=broadcast_id, status=row.status)
        audit.record(
            session,
            actor,
            "broadcast.edit",
            "broadcast",
            broadcast_id,
            fields=",".join(sorted(k for k in values if k != "fingerprint")),
        )
        if values.get("status") == BroadcastStatus.AWAITING_APPROVAL:
            audit.record(session, actor, "broadcast.approval_request", "broadcast", broadcast_id)
        session.refresh(row)
    if row.status == BroadcastStatus.SCHEDULED and row.scheduled_at is not None:
        service.wake_at(engine, broadcast_id, row.scheduled_at)
    elif row.status == BroadcastStatus.AWAITING_APPROVAL:
        unschedule(engine, broadcast_id)
    return row
