"""WhatsApp errors, classified by Meta's `error.code` into what a sender does about them.

Meta advises branching on `error.code`, never on the HTTP status or the title; the table below is
ours (checked against Meta's list by a conformance test when `../shared` is present). The send API
has no idempotency key, so a request that may have reached Meta without an answer is `Ambiguous`,
never silently retried.
"""

from __future__ import annotations

from enum import StrEnum


class Kind(StrEnum):
    """What a broadcaster does about an error."""

    THROTTLE = "throttle"  # slow the whole broadcast down, retry the same message later
    PAIR = "pair"  # too many messages to this recipient: delay only this one
    TRANSIENT = "transient"  # retry with backoff a bounded number of times
    RECIPIENT = "recipient"  # this recipient cannot get it: fail it with its reason
    FATAL = "fatal"  # every further send would fail the same way: stop the broadcast


KINDS: dict[int, Kind] = {
    130429: Kind.THROTTLE,
    80007: Kind.THROTTLE,
    4: Kind.THROTTLE,
    131057: Kind.THROTTLE,
    131056: Kind.PAIR,
    131000: Kind.TRANSIENT,
    131016: Kind.TRANSIENT,
    1: Kind.TRANSIENT,
    2: Kind.TRANSIENT,
    131026: Kind.RECIPIENT,
    131047: Kind.RECIPIENT,
    131049: Kind.RECIPIENT,
    131050: Kind.RECIPIENT,
    130472: Kind.RECIPIENT,
    130497: Kind.RECIPIENT,
    131021: Kind.RECIPIENT,
    130403: Kind.RECIPIENT,
    131009: Kind.RECIPIENT,
    0: Kind.FATAL,
    10: Kind.FATAL,
    100: Kind.FATAL,
    190: Kind.FATAL,
    368: Kind.FATAL,
    131008: Kind.FATAL,
    131031: Kind.FATAL,
    131042: Kind.FATAL,
    131045: Kind.FATAL,
    131048: Kind.FATAL,
    131051: Kind.FATAL,
    131064: Kind.FATAL,
    135000: Kind.FATAL,
}


def classify(code: int | None, http_status: int = 400) -> Kind:
    """Our rule for a code; unknown codes fall back on the status (5xx transient, else per recipient)."""
    if code is not None:
        if code in KINDS:
            return KINDS[code]
        if 132000 <= code <= 132999 or 200 <= code <= 299:  # template/parameter and permission families
            return Kind.FATAL
    return Kind.TRANSIENT if http_status >= 500 else Kind.RECIPIENT


class WhatsAppError(Exception):
    """Meta answered with an error (or a 5xx page): the message was not sent."""

    def __init__(self, code: int | None, title: str, http_status: int, details: str = "") -> None:
        super().__init__(f"{code}: {title}")
        self.code, self.title, self.http_status, self.details = code, title, http_status, details
        self.kind = classify(code, http_status)


class Ambiguous(Exception):
    """The request may have reached Meta but no answer came back: do not resend blindly."""
