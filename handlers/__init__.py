"""Slack listeners, registered per surface (commands, actions, views, events)."""

from __future__ import annotations

from slack_bolt import App

from handlers.actions import app_home as app_home_actions
from handlers.actions import attributes as attribute_actions
from handlers.actions import audiences as audience_actions
from handlers.actions import broadcasts as broadcast_actions  # also registers /contacts notify|broadcasts
from handlers.actions import contact_card as contact_card_actions
from handlers.actions import contact_list as contact_list_actions
from handlers.actions import export as export_actions
from handlers.actions import imports as import_actions
from handlers.actions import tickets as ticket_actions
from handlers.commands import contacts as contacts_command
from handlers.commands import groups as groups_command  # noqa: F401 - registers /contacts groups|attributes
from handlers.commands import help as help_command  # noqa: F401 - registers /contacts help|hilfe
from handlers.commands import import_export  # noqa: F401 - registers /contacts import|export
from handlers.events import app_home as app_home_events
from handlers.events import file_upload
from handlers.shortcuts import lookup_contact, send_notification
from handlers.views import attributes as attribute_views
from handlers.views import audiences as audience_views
from handlers.views import broadcast_composer, contact_delete


def register(app: App) -> None:
    contacts_command.register(app)
    contact_list_actions.register(app)
    export_actions.register(app)
    import_actions.register(app)
    file_upload.register(app)
    ticket_actions.register(app)
    contact_delete.register(app)
    broadcast_actions.register(app)
    broadcast_composer.register(app)
    audience_actions.register(app)
    audience_views.register(app)
    attribute_actions.register(app)
    attribute_views.register(app)
    app_home_events.register(app)
    app_home_actions.register(app)
    contact_card_actions.register(app)
    send_notification.register(app)
    lookup_contact.register(app)
    file_upload.register_fallback(app)  # last: acks every message event no listener above took
