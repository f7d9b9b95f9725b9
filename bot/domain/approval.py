"""Four-eyes approval of broadcasts: what an approval covers and when it holds. Pure functions.

An approval covers exactly what the second admin saw: a fingerprint over the template (name,
language, body), the parameters, the audience, the scheduled time and the send window. A broadcast
changed in any of these has another fingerprint and needs a new approval. An approval holds for a
start within its validity (`approval_expires_at`: the approval hours after it was given, or after the
scheduled time when that is later); once sending began within it, the broadcast may finish
(pausing and resuming included), as long as what is sent is still what was approved.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _stamp(value: datetime | None) -> int | None:
    return None if value is None else int(_aware(value).timestamp())


def fingerprint(
    template: str,
    language: str,
    template_def: Mapping[str, Any],
    params: Mapping[str, Any],
    audience: Mapping[str, Any],
    scheduled_at: datetime | None,
    local_time: str | None,
    quiet_hours: str | None,
) -> str:
    data = {
        "template": [template, language, template_def.get("body", ""), template_def.get("header", "")],
        "params": params,
        "audience": audience,
        "at": _stamp(scheduled_at),
        "window": [local_time or "", quiet_hours or ""],
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()


def needed(above: int | None, recipients: int) -> bool:
    """`above`: None = approval off; -1 = always; N = more than N recipients."""
    return above is not None and recipients > above


def holds(
    required: bool,
    current: str,
    approved: str | None,
    approved_at: datetime | None,
    expires_at: datetime | None,
    started_at: datetime | None,
    now: datetime,
) -> str | None:
    """None when the broadcast may send now; else why not: `missing`, `changed` or `expired`."""
    if not required:
        return None
    if approved_at is None or approved is None or expires_at is None:
        return "missing"
    if approved != current:
        return "changed"
    began = started_at or now
    if _aware(began) > _aware(expires_at):
        return "expired"
    return None
