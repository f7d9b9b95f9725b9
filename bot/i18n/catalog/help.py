"""Texts of `/contacts help` and of the global shortcut (keys `help.*`)."""

DE = {
    "help.title": ":information_source: *So benutzt du /contacts*",
    "help.unknown": "„{word}“ ist kein Befehl, und kein Kontakt passt dazu. Das kann `/contacts`:",
    "help.list": (
        "`/contacts`: die Kontaktliste (aktive Kontakte, neueste Chats zuerst) mit Sortierung, Filtern und Seiten."
    ),
    "help.search": ("`/contacts Müller`, `/contacts 0170 123`: Suche nach einem Teil des Namens oder der Nummer."),
    "help.card": (
        "`/contacts +49 170 1234567` (oder ein genauer Name): die Kontaktkarte mit allen Feldern, "
        "Nutzermerkmalen, Einwilligung und letztem Ticket."
    ),
    "help.help": "`/contacts help` oder `/contacts hilfe`: diese Hilfe.",
    "help.cmd.import": (
        "`/contacts import`: Anleitung für den CSV-Import; danach eine `.csv` in den "
        "Kanal oder DM mit dem Bot hochladen."
    ),
    "help.cmd.export": "`/contacts export`: die Kontakte als CSV-Datei (passend für Excel).",
    "help.cmd.notify": (
        "`/contacts notify`: eine WhatsApp-Vorlage an alle oder an eine Zielgruppe senden, sofort oder geplant."
    ),
    "help.cmd.broadcasts": "`/contacts broadcasts`: geplante, laufende und beendete Benachrichtigungen.",
    "help.cmd.groups": "`/contacts groups`: Zielgruppen anlegen, umbenennen, löschen.",
    "help.cmd.attributes": "`/contacts attributes`: Nutzermerkmale verwalten.",
    "help.cmd.settings": "`/contacts settings`: Tabelleneinstellungen (Spalten, Reihenfolge).",
    "help.cmd.other": "`/contacts {name}`",
    "help.more": (
        "Außerdem: der Shortcut *Sende Benachrichtigung* (Blitz-Symbol), *Kontakt nachschlagen* im Menü "
        "einer Nachricht mit Telefonnummer, und der Tab *Home* dieser App mit allen Zahlen."
    ),
    "help.admins": (
        "Ändern, löschen, importieren und senden dürfen nur Admins (CONTACTBOT_ADMINS); ansehen dürfen alle."
    ),
    "help.fallback": "Hilfe zu /contacts",
}

EN = {
    "help.title": ":information_source: *How to use /contacts*",
    "help.unknown": "“{word}” is not a command, and no contact matches it. This is what `/contacts` does:",
    "help.list": (
        "`/contacts`: the contact list (active contacts, latest chats first) with sorting, filters and pages."
    ),
    "help.search": "`/contacts Miller`, `/contacts 0170 123`: search for part of a name or a number.",
    "help.card": (
        "`/contacts +49 170 1234567` (or an exact name): the contact card with every field, user "
        "attributes, consent and the last ticket."
    ),
    "help.help": "`/contacts help` or `/contacts hilfe`: this help.",
    "help.cmd.import": (
        "`/contacts import`: how to import a CSV; then upload a `.csv` into a channel or DM with the bot."
    ),
    "help.cmd.export": "`/contacts export`: the contacts as a CSV file (fit for Excel).",
    "help.cmd.notify": (
        "`/contacts notify`: send a WhatsApp template to everyone or a target group, now or scheduled."
    ),
    "help.cmd.broadcasts": "`/contacts broadcasts`: scheduled, running and finished notifications.",
    "help.cmd.groups": "`/contacts groups`: create, rename and delete target groups.",
    "help.cmd.attributes": "`/contacts attributes`: manage user attributes.",
    "help.cmd.settings": "`/contacts settings`: table settings (columns, order).",
    "help.cmd.other": "`/contacts {name}`",
    "help.more": (
        "Also: the shortcut *Send notification* (lightning icon), *Look up contact* in the menu of a "
        "message with a phone number, and this app's *Home* tab with all the numbers."
    ),
    "help.admins": "Only admins (CONTACTBOT_ADMINS) may change, delete, import and send; everyone may look.",
    "help.fallback": "Help for /contacts",
}
