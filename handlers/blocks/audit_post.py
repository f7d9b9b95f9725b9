"""The text of an audit-channel post: who did what. A deletion never names the person or number."""

from __future__ import annotations

from bot.i18n import t
from handlers.blocks.contact_list import contact_label
from handlers.blocks.people import who
from handlers.blocks.text import cut, escape
from storage.audit import Committed
from storage.models import Contact

CONTACT_CHANGES = ("block", "unblock", "activate", "deactivate")
ICONS = {"import": ":inbox_tray:", "export": ":outbox_tray:", "broadcast": ":mega:", "contact": ":busts_in_silhouette:",
         "attribute": ":label:", "audience": ":dart:", "table_settings": ":gear:"}


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
        label = contact_label(contact, lang) if contact is not None else \
            t("auditfeed.contact_ref", lang, id=escape(entry.object_id or "?"))
        return t(f"auditfeed.contact.{verb}", lang, who=actor, contact=label)
    numbers = [f"{escape(k)}: {v}" for k, v in entry.detail.items()
               if isinstance(v, int | float) and not isinstance(v, bool)][:8]
    obj = escape(cut(entry.object_type, 20)) + (f" #{escape(cut(entry.object_id, 30))}" if entry.object_id else "")
    return t("auditfeed.generic", lang, icon=ICONS.get(kind, ICONS.get(entry.object_type, ":memo:")), who=actor,
             action=escape(cut(entry.action, 40)), object=obj, details=(" · " + ", ".join(numbers)) if numbers else "")
