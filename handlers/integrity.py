"""Tamper-evident values in our own Block Kit: what comes back in a click or a modal is what we wrote.

Slack signs every request, but the values inside it (overflow option values like `block:42`, button
values with record ids, a modal's `private_metadata` with contact ids and response_urls) are ours,
and a forged or replayed payload could change them. Every value that names a record to act on, and
every modal's metadata, is sealed: `value~mac`, where mac is HMAC-SHA256 over
`team_id + "\\x1f" + purpose + "\\x1f" + value`, truncated to 12 base64url characters (72 bits), keyed
by a key derived with a fixed label from the app's Slack secret (the raw secret is never used as the
key). The purpose is the element's `action_id` (or, for a modal's metadata, its `callback_id`), so a
contact card's sealed "1" (contact 1) is no import run 1 for "import_cancel", and the details
modal's metadata is no delete modal's. A value that was changed, sealed for another workspace or
another purpose, or never sealed (a message older than this code) fails `unseal` and the listener
answers "out of date, open it again" without changing anything. A list row's menu carries one MAC for
its five options, over the contact it names (`subject_mac`, `Sealer.unseal_for`); values sealed one by one,
as earlier messages have them, are still taken.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.config.settings import Settings

SEPARATOR = "~"
MAC_CHARS = 12  # 9 bytes of the HMAC, base64url without padding
LABEL = b"contactbot/block-kit-seal/v2"  # v2: bound to a purpose as well
MAX_METADATA = 3000  # Slack's limit for a view's private_metadata

Seal = Callable[[str, str], str]  # (value, purpose) -> sealed value


@lru_cache(maxsize=8)
def derive_key(secret: str) -> bytes:
    """The sealing key: an HMAC of a fixed label under the secret, so the secret itself is never the key."""
    return hmac.new(secret.encode(), LABEL, hashlib.sha256).digest()


def key_for(settings: Settings) -> bytes:
    """Every process of one app (web, worker) derives the same key from the same configuration."""
    secret = settings.slack_signing_secret or settings.slack_app_token or settings.slack_bot_token
    return derive_key(secret or "contactbot-without-slack-secrets")


def _mac(key: bytes, team_id: str, purpose: str, value: str) -> str:
    digest = hmac.new(key, f"{team_id}\x1f{purpose}\x1f{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:9]).decode()


def seal(value: str, team_id: str, key: bytes, purpose: str) -> str:
    return f"{value}{SEPARATOR}{_mac(key, team_id, purpose, value)}"


def unseal(sealed: object, team_id: str | None, key: bytes, purpose: str) -> str | None:
    """The value, or None when the seal is missing, wrong, or for another workspace or purpose."""
    if not isinstance(sealed, str) or not team_id or not purpose:
        return None
    value, sep, mac = sealed.rpartition(SEPARATOR)
    if not sep or len(mac) != MAC_CHARS:
        return None
    return value if hmac.compare_digest(mac, _mac(key, team_id, purpose, value)) else None


@dataclass(frozen=True)
class Sealer:
    """Seals and checks values for one workspace (the one the app is installed in)."""

    key: bytes
    team_id: str

    @classmethod
    def of(cls, settings: Settings, team_id: str | None) -> Sealer:
        return cls(key_for(settings), team_id or "")

    def seal(self, value: str, purpose: str) -> str:
        """`value` sealed for the element it goes into (`purpose`: that element's action_id)."""
        return seal(value, self.team_id, self.key, purpose)

    def unseal(self, sealed: object, purpose: str) -> str | None:
        """The value, if it was sealed for this workspace and for `purpose` (the action_id clicked)."""
        return unseal(sealed, self.team_id, self.key, purpose)

    def unseal_for(self, sealed: object, purpose: str, subject: Callable[[str], str | None]) -> str | None:
        """A value sealed by its subject's MAC (`subject_mac`, `subject(value)` names the subject), or, as
        messages drawn before that did, sealed on its own; None when neither seal holds."""
        if isinstance(sealed, str):
            value, sep, mac = sealed.rpartition(SEPARATOR)
            about = subject(value) if sep else None
            if about is not None and self.unseal(with_mac(about, mac), purpose) == about:
                return value
        return self.unseal(sealed, purpose)

    def view(self, view: dict[str, Any]) -> dict[str, Any]:
        """The modal with its `private_metadata` (a dict, or JSON text) sealed for its `callback_id`."""
        raw = view.get("private_metadata")
        if raw is None:
            return view
        text = raw if isinstance(raw, str) else json.dumps(raw, separators=(",", ":"))
        sealed = self.seal(text, _purpose_of(view))
        return {**view, "private_metadata": sealed[:MAX_METADATA]}  # cut: refused later, never misread

    def metadata(self, view: dict[str, Any] | None) -> dict[str, Any] | None:
        """A submitted modal's metadata, or None when it is not what we sealed for this workspace
        and for this modal's `callback_id`."""
        text = self.unseal((view or {}).get("private_metadata"), _purpose_of(view or {}))
        if text is None:
            return None
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return None
        return data if isinstance(data, dict) else None


def subject_mac(seal: Seal, subject: str, purpose: str) -> str:
    """One MAC over `subject` (e.g. `row:42`) for `purpose`, shared by every option that acts on it (`with_mac`).

    A list row's menu offers five actions on one contact; sealing each option on its own cost five HMACs per row,
    a hundred per page. What the seal has to prove is which contact the menu was shown for (every action in it
    was offered to this reader for that contact, and each is checked again when it runs), so one MAC per row,
    over the contact, does the same work."""
    return seal(subject, purpose).rpartition(SEPARATOR)[2]


def with_mac(value: str, mac: str) -> str:
    return f"{value}{SEPARATOR}{mac}"


def _purpose_of(view: dict[str, Any]) -> str:
    return f"view:{view.get('callback_id') or ''}"


def action_purpose(body: dict[str, Any]) -> str:
    """The purpose a clicked value was sealed for: the action_id Slack routed the click by."""
    return str(((body.get("actions") or [{}])[0] or {}).get("action_id") or "")
