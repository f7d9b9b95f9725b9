"""WhatsApp errors, classified by Meta's `error.code` into what a sender does about them.

Meta advises branching on `error.code`, never on the HTTP status or the title; the table below is
ours (checked against Meta's list by a conformance test when `../shared` is present). The send API
has no idempotency key, so a request that may have reached Meta without an answer is `Ambiguous`,
never silently retried.
"""

from __future__ import annotations

from enum import StrEnum

# Codes whose cause is one contact's data: 132005 (text too long once a long name was filled in),
# 132012 (parameter format), 132018 (parameter content), 100 (e.g. sending to our own number).
CONTACT_DATA = (132005, 132012, 132018, 100)
# Codes that say the account or number cannot send at all (Meta's error-codes page): 0/190 token,
# 3 capability, 10/200 permission, 131005 access denied, 131031 account locked, 131037 display name
# not approved, 131042 payment, 131045 number not registered, 131048 spam restriction, 131064
# enforcement, 133010 number not registered on the Cloud API, 368 policy block.
ACCOUNT = (0, 3, 10, 190, 200, 368, 131005, 131031, 131037, 131042, 131045, 131048, 131064, 133010)


class Kind(StrEnum):
    """What a broadcaster does about an error."""

    THROTTLE = "throttle"  # slow the whole broadcast down, retry the same message later
    PAIR = "pair"  # too many messages to this recipient: delay only this one
    TRANSIENT = "transient"  # retry with backoff a bounded number of times
    RECIPIENT = "recipient"  # this recipient cannot get it: fail it with its reason
    FATAL = "fatal"  # every further send would fail the same way: stop the broadcast


# Grouped by what Meta's error-codes page says a sender can do (a conformance test holds each code
# to the broadcaster's reading of that page: retry, delay the recipient, drop it, stop the campaign).
KINDS: dict[int, Kind] = {
    # throughput: the same message goes out later, slower
    130429: Kind.THROTTLE,
    80007: Kind.THROTTLE,
    4: Kind.THROTTLE,
    131057: Kind.THROTTLE,
    131056: Kind.PAIR,
    131000: Kind.TRANSIENT,
    131016: Kind.TRANSIENT,
    1: Kind.TRANSIENT,
    2: Kind.TRANSIENT,
    # this recipient (or its data) cannot get it; a run of the same code trips the breaker instead
    131026: Kind.RECIPIENT,
    131047: Kind.RECIPIENT,
    131049: Kind.RECIPIENT,
    131050: Kind.RECIPIENT,
    130472: Kind.RECIPIENT,
    130497: Kind.RECIPIENT,
    131021: Kind.RECIPIENT,  # sender and recipient are the same number
    130403: Kind.RECIPIENT,
    131009: Kind.RECIPIENT,
    **dict.fromkeys(CONTACT_DATA, Kind.RECIPIENT),
    # the account or number cannot send at all: stop after the first answer
    **dict.fromkeys(ACCOUNT, Kind.FATAL),
    # the request or the template is wrong: every recipient would fail the same way
    131008: Kind.FATAL,
    131051: Kind.FATAL,
    132000: Kind.FATAL,  # parameter count does not match the template
    132001: Kind.FATAL,  # template missing in this language or not approved
    132007: Kind.FATAL,  # template content violates a policy
    132015: Kind.FATAL,  # template paused for low quality
    132016: Kind.FATAL,  # template disabled
    135000: Kind.FATAL,
}


def classify(code: int | None, http_status: int = 400) -> Kind:
    """Our rule for a code.

    Without a Graph error body (`code` None: a proxy's HTML page, a bare status) a 4xx is no verdict
    on the recipient: 429 slows down, any other 4xx means nothing gets through and stops the
    broadcast. 5xx and refused connections are transient. Unknown codes in the template and
    permission families stop; other unknown codes fail the recipient (the breaker catches a run).
    """
    if code is not None:
        if code in KINDS:
            return KINDS[code]
        if 132000 <= code <= 132999 or 133000 <= code <= 133999 or 200 <= code <= 299:
            return Kind.FATAL  # template/parameter, registration and permission families
        return Kind.TRANSIENT if http_status >= 500 else Kind.RECIPIENT
    if http_status == 429:
        return Kind.THROTTLE
    if 400 <= http_status < 500:
        return Kind.FATAL
    return Kind.TRANSIENT


def is_contact_data(code: int | None) -> bool:
    """A code that depends on one contact's values (filled-in text too long, bad format, own number)."""
    return code in CONTACT_DATA


class Breaker:
    """Pauses a broadcast when the same per-recipient code hits `limit` recipients in a row.

    One bad contact fails alone with its reason; the same code on many recipients one after the
    other is no longer about them (a template or account problem Meta reports per message), so
    failing everyone would only burn the list.
    """

    def __init__(self, limit: int) -> None:
        self.limit = max(1, limit)
        self.code: int | None = None
        self.streak = 0

    def success(self) -> None:
        self.code, self.streak = None, 0

    def failure(self, code: int | None) -> bool:
        """Count one recipient failed with `code`; True when the breaker trips."""
        if code is None or code != self.code:
            self.code, self.streak = code, 0
        self.streak += 1
        return self.streak >= self.limit


class WhatsAppError(Exception):
    """Meta answered with an error (or a 5xx page): the message was not sent."""

    def __init__(self, code: int | None, title: str, http_status: int, details: str = "") -> None:
        super().__init__(f"{code}: {title}")
        self.code, self.title, self.http_status, self.details = code, title, http_status, details
        self.kind = classify(code, http_status)


class Ambiguous(Exception):
    """The request may have reached Meta but no answer came back: do not resend blindly."""
