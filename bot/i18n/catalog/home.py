"""Texts of the App Home tab (keys `home.*`)."""

DE = {
    "home.title": "Kontakte auf einen Blick",
    "home.count.total": "Alle",
    "home.count.active": "Aktiv",
    "home.count.inactive": "Inaktiv",
    "home.count.blocked": "Blockiert",
    "home.new": "Neu in den letzten 7 Tagen: *{week}* · in den letzten 30 Tagen: *{month}*",
    "home.by_messenger": "*Nach Messenger*",
    "home.empty": (
        "Noch keine Kontakte. Lade eine CSV-Datei hoch (siehe „CSV-Import: Anleitung“) oder verbinde "
        "WhatsApp; dann stehen hier die Zahlen."
    ),
    "home.button.open_list": "Kontaktliste öffnen",
    "home.button.notify": "Sende Benachrichtigung",
    "home.button.import_help": "CSV-Import: Anleitung",
    "home.button.table_settings": "Tabelleneinstellungen",
    "home.button.groups": "Zielgruppen",
    "home.button.refresh": "Aktualisieren",
    "home.button.broadcasts": "Alle Benachrichtigungen",
    "home.runs.title": "Letzte Importe und Exporte",
    "home.runs.none": "Noch keine Importe oder Exporte.",
    "home.run.import": ":inbox_tray: Import *{name}* · {status} · {when} · {who}",
    "home.run.export": ":outbox_tray: Export · {when} · {who}",
    "home.import_status.preview": "Vorschau, nicht bestätigt",
    "home.import_status.applying": "wird angewendet",
    "home.import_status.applied": "übernommen",
    "home.import_status.cancelled": "abgebrochen",
    "home.import_status.failed": "fehlgeschlagen",
    "home.count_word.created": "neu",
    "home.count_word.updated": "geändert",
    "home.count_word.unchanged": "unverändert",
    "home.count_word.rejected": "abgelehnt",
    "home.count_word.errors": "Fehler",
    "home.count_word.activated": "aktiviert",
    "home.count_word.deactivated": "deaktiviert",
    "home.count_word.opted_out": "abgemeldet",
    "home.count_word.rows": "Zeilen",
    "home.count_word.contacts": "Kontakte",
    "home.broadcasts.title": "Geplante und laufende Benachrichtigungen",
    "home.broadcasts.none": "Keine Benachrichtigung geplant oder unterwegs.",
    "home.broadcast.line": ":mega: *{template}* · {status} · {when}",
    "home.broadcast.no_template": "(Vorlage unbekannt)",
    "home.broadcast.status.scheduled": ":calendar: geplant",
    "home.broadcast.status.queued": ":hourglass_flowing_sand: wartet auf den Start",
    "home.broadcast.status.running": ":arrow_forward: läuft",
    "home.broadcast.status.paused": ":double_vertical_bar: pausiert",
    "home.broadcast.progress": "{done} von {total} gesendet ({percent} %)",
    "home.broadcast.scheduled_for": "geplant für {when}",
    "home.broadcast.detail.delivered": "zugestellt",
    "home.broadcast.detail.read": "gelesen",
    "home.broadcast.detail.failed": "fehlgeschlagen",
    "home.updated": "Stand: {when} · Öffne den Tab erneut oder klicke „Aktualisieren“ für frische Zahlen.",
    "home.role.admin": ":key: Du bist Admin: du darfst Kontakte ändern, importieren und Benachrichtigungen senden.",
    "home.role.viewer": ":eyes: Du kannst Kontakte ansehen; ändern dürfen nur Admins (CONTACTBOT_ADMINS).",
    "home.tip": (
        "Tipp: `/contacts +49 170 1234567` zeigt die Kontaktkarte, `/contacts Müller` sucht, "
        "`/contacts help` erklärt alle Befehle."
    ),
    "home.coming.title": "Kommt bald",
    "home.coming.close": "OK",
    "home.coming.body": (
        "*{feature}* ist in dieser Installation noch nicht eingerichtet. Bis dahin hilft "
        "`/contacts help` mit allem, was schon geht."
    ),
    "home.import_help.body": (
        "*So importierst du Kontakte*\n"
        "1. Lade eine `.csv`-Datei in einen Kanal, in dem contactbot ist, oder hier in den Direktchat.\n"
        "2. Spalten: Nummer (Pflicht, z. B. `+49 170 1234567` oder `0170 1234567`), Messenger, Name, "
        "Activated (1/0) und beliebige Nutzermerkmale.\n"
        "3. Du bekommst erst eine Vorschau; erst „Bestätigen“ (nur Admins) schreibt die Kontakte.\n"
        "Importiere nur Kontakte, die der Kontaktaufnahme zugestimmt haben."
    ),
}

EN = {
    "home.title": "Contacts at a glance",
    "home.count.total": "All",
    "home.count.active": "Active",
    "home.count.inactive": "Inactive",
    "home.count.blocked": "Blocked",
    "home.new": "New in the last 7 days: *{week}* · in the last 30 days: *{month}*",
    "home.by_messenger": "*By messenger*",
    "home.empty": (
        "No contacts yet. Upload a CSV file (see “CSV import: how to”) or connect WhatsApp; "
        "the numbers show up here then."
    ),
    "home.button.open_list": "Open contact list",
    "home.button.notify": "Send notification",
    "home.button.import_help": "CSV import: how to",
    "home.button.table_settings": "Table settings",
    "home.button.groups": "Target groups",
    "home.button.refresh": "Refresh",
    "home.button.broadcasts": "All notifications",
    "home.runs.title": "Latest imports and exports",
    "home.runs.none": "No imports or exports yet.",
    "home.run.import": ":inbox_tray: Import *{name}* · {status} · {when} · {who}",
    "home.run.export": ":outbox_tray: Export · {when} · {who}",
    "home.import_status.preview": "preview, not confirmed",
    "home.import_status.applying": "being applied",
    "home.import_status.applied": "applied",
    "home.import_status.cancelled": "cancelled",
    "home.import_status.failed": "failed",
    "home.count_word.created": "new",
    "home.count_word.updated": "updated",
    "home.count_word.unchanged": "unchanged",
    "home.count_word.rejected": "rejected",
    "home.count_word.errors": "errors",
    "home.count_word.activated": "activated",
    "home.count_word.deactivated": "deactivated",
    "home.count_word.opted_out": "opted out",
    "home.count_word.rows": "rows",
    "home.count_word.contacts": "contacts",
    "home.broadcasts.title": "Scheduled and running notifications",
    "home.broadcasts.none": "No notification scheduled or on its way.",
    "home.broadcast.line": ":mega: *{template}* · {status} · {when}",
    "home.broadcast.no_template": "(unknown template)",
    "home.broadcast.status.scheduled": ":calendar: scheduled",
    "home.broadcast.status.queued": ":hourglass_flowing_sand: waiting to start",
    "home.broadcast.status.running": ":arrow_forward: running",
    "home.broadcast.status.paused": ":double_vertical_bar: paused",
    "home.broadcast.progress": "{done} of {total} sent ({percent} %)",
    "home.broadcast.scheduled_for": "scheduled for {when}",
    "home.broadcast.detail.delivered": "delivered",
    "home.broadcast.detail.read": "read",
    "home.broadcast.detail.failed": "failed",
    "home.updated": "As of {when} · Open the tab again or click “Refresh” for fresh numbers.",
    "home.role.admin": ":key: You are an admin: you may change and import contacts and send notifications.",
    "home.role.viewer": ":eyes: You can view contacts; only admins (CONTACTBOT_ADMINS) may change them.",
    "home.tip": (
        "Tip: `/contacts +49 170 1234567` shows the contact card, `/contacts Miller` searches, "
        "`/contacts help` explains every command."
    ),
    "home.coming.title": "Coming soon",
    "home.coming.close": "OK",
    "home.coming.body": (
        "*{feature}* is not set up in this installation yet. Meanwhile `/contacts help` shows "
        "everything that works already."
    ),
    "home.import_help.body": (
        "*How to import contacts*\n"
        "1. Upload a `.csv` file into a channel where contactbot is, or here into the direct message.\n"
        "2. Columns: number (required, e.g. `+49 170 1234567` or `0170 1234567`), messenger, name, "
        "Activated (1/0) and any user attributes.\n"
        "3. You get a preview first; only “Confirm” (admins only) writes the contacts.\n"
        "Import only contacts who agreed to be contacted."
    ),
}
