"""The text of an audit-channel post: who did what. A deletion never names the person or number."""

from __future__ import annotations

from bot.i18n import t
from handlers.blocks.contact_list import contact_label
from handlers.blocks.people import who
from handlers.blocks.text import cut, escape
from storage.audit_events import Committed
from storage.models import Contact

CONTACT_CHANGES = ("block", "unblock", "activate", "deactivate")
NAMED_ACTIONS = ("import.apply", "broadcast.start", "broadcast.cancel")  # other actions: the generic line
ICONS = {
    "import": ":inbox_tray:",
    "export": ":outbox_tray:",
    "broadcast": ":mega:",
    "attribute": ":label:",
    "contact": ":busts_in_silhouette:",
    "audience": ":dart:",
    "table_settings": ":gear:",
    "ticket": ":ticket:",
}


def actor_text(actor: str, lang: str) -> str:
    kind, _, name = actor.partition(":")
    if kind == "cli" and name:
        return t("auditfeed.cli", lang, name=escape(cut(name, 40)))
    return who(actor)


def audit_text(entry: Committed, contact: Contact | None, lang: str) -> str:
    """`contact` is the changed contact when it still exists (never looked up for deletions)."""
    actor = actor_text(entry.actor, lang)
    kind, _, verb = entry.action.partition(".")
    if entry.object_type == "contact" and entry.action == "contact.delete":
        return t("auditfeed.contact.delete", lang, who=actor, id=escape(entry.object_id or "?"))
    if entry.object_type == "contact" and kind == "contact" and verb in CONTACT_CHANGES:
        label = (
            contact_label(contact, lang)
            if contact is not None
            else t("auditfeed.contact_ref", lang, id=escape(entry.object_id or "?"))
        )
        return t(f"auditfeed.contact.{verb}", lang, who=actor, contact=label)
    numbers = [
        f"{escape(cut(k, 30))}: {v}"
        for k, v in entry.detail.items()
        if isinstance(v, int | float) and not isinstance(v, bool)
    ][:8]
    details = (" · " + ", ".join(numbers)) if numbers else ""
    if entry.action in NAMED_ACTIONS:
        return t(
            f"auditfeed.{entry.action}", lang, who=actor, id=escape(cut(entry.object_id or "?", 30)), details=details
        )
    obj = escape(cut(entry.object_type, 20)) + (f" #{escape(cut(entry.object_id, 30))}" if entry.object_id else "")
    icon = ICONS.get(kind, ICONS.get(entry.object_type, ":memo:"))
    return t(
        "auditfeed.generic",
        lang,
        icon=icon,
        who=actor,
        action=escape(cut(entry.action, 40)),
        object=obj,
        details=details,
    )
