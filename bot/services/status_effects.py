"""What a failed delivery status means beyond its message, decided by Meta's error code.

A `failed` status webhook goes through the same classifier as an error answer to a send
(bot/whatsapp/errors.py), so both paths treat a code alike; storage/status_effects.py applies the
effect (once per message id).
"""

from __future__ import annotations

from bot.whatsapp.errors import Kind, classify

MARKETING_STOPPED = 131050  # "User has stopped marketing messages"
UNDELIVERABLE = 131026  # "Message undeliverable": no account, old app, terms not accepted, ...


def effect_of(code: int | None) -> str | None:
    """marketing_opt_out | undeliverable | stop_broadcast (account-level codes) | None."""
    if code is None:
        return None
    if code == MARKETING_STOPPED:
        return "marketing_opt_out"
    if code == UNDELIVERABLE:
        return "undeliverable"
    if classify(code) is Kind.FATAL:
        return "stop_broadcast"  # e.g. 131048 spam rate limit, 368 policy block, 131031 account locked
    return None
