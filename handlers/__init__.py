"""Slack listeners, registered per surface (commands, actions, views, events)."""

from __future__ import annotations

from slack_bolt import App

from handlers.actions import contact_list as contact_list_actions
from handlers.commands import contacts as contacts_command
from handlers.views import contact_delete


def register(app: App) -> None:
    contacts_command.register(app)
    contact_list_actions.register(app)
    contact_delete.register(app)
