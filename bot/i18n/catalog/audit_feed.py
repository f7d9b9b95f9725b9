"""Texts posted to the audit channel (keys `auditfeed.*`). Never a name or number for deletions."""

DE = {
    "auditfeed.contact.block": ":no_entry: {who} hat {contact} blockiert.",
    "auditfeed.contact.unblock": ":white_check_mark: {who} hat die Blockierung von {contact} aufgehoben.",
    "auditfeed.contact.activate": ":large_green_circle: {who} hat {contact} aktiviert.",
    "auditfeed.contact.deactivate": ":white_circle: {who} hat {contact} deaktiviert.",
    "auditfeed.contact.delete": ":wastebasket: {who} hat Kontakt #{id} mit allen Daten endgültig gelöscht.",
    "auditfeed.contact_ref": "Kontakt #{id}",
    "auditfeed.generic": "{icon} {who}: `{action}` ({object}){details}",
    "auditfeed.cli": "{name} (Kommandozeile)",
    "auditfeed.import.apply": ":inbox_tray: {who} hat einen CSV-Import übernommen (Import #{id}){details}.",
    "auditfeed.broadcast.start": ":mega: {who} hat eine Benachrichtigung gestartet (#{id}){details}.",
    "auditfeed.broadcast.cancel": ":mega: {who} hat eine Benachrichtigung abgebrochen (#{id}){details}.",
}

EN = {
    "auditfeed.contact.block": ":no_entry: {who} blocked {contact}.",
    "auditfeed.contact.unblock": ":white_check_mark: {who} unblocked {contact}.",
    "auditfeed.contact.activate": ":large_green_circle: {who} activated {contact}.",
    "auditfeed.contact.deactivate": ":white_circle: {who} deactivated {contact}.",
    "auditfeed.contact.delete": ":wastebasket: {who} deleted contact #{id} and all data about it for good.",
    "auditfeed.contact_ref": "contact #{id}",
    "auditfeed.generic": "{icon} {who}: `{action}` ({object}){details}",
    "auditfeed.cli": "{name} (command line)",
    "auditfeed.import.apply": ":inbox_tray: {who} applied a CSV import (import #{id}){details}.",
    "auditfeed.broadcast.start": ":mega: {who} started a notification (#{id}){details}.",
    "auditfeed.broadcast.cancel": ":mega: {who} cancelled a notification (#{id}){details}.",
}
