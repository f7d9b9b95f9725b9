"""Texts of the contact card (keys `card.*`); field names and menu labels come from `contacts`."""

DE = {
    "card.created": "Angelegt",
    "card.updated": "Geändert",
    "card.blocked_messages": "Schrieb trotz Blockierung: {count}×, zuletzt {when}",
    "card.consent.title": "*Einwilligung*",
    "card.consent.given": "erteilt {when} · Quelle: {source} · bestätigt von {by}",
    "card.consent.none": "Keine Einwilligung erfasst: dieser Kontakt bekommt keine Benachrichtigungen.",
    "card.consent.withdrawn": ":no_bell: widerrufen am {when}",
    "card.unknown": "unbekannt",
    "card.attributes.title": "*Nutzermerkmale*",
    "card.attributes.none": "Keine Nutzermerkmale gespeichert.",
    "card.attributes.more": "… und {count} weitere",
    "card.ticket.title": "*Letztes Ticket*",
    "card.ticket.none": "Noch kein Ticket.",
    "card.ticket.line": "#{id} · {status} · eröffnet {opened} · letzte Nachricht {last} · {count} Nachrichten",
    "card.ticket.last_text": "{author}: {text}",
    "card.button.details": "Ticket-Details",
    "card.fallback": "Kontaktkarte: {who}",
    "card.lookup.no_number": (
        "In dieser Nachricht finde ich keine Telefonnummer. Nutze „Kontakt nachschlagen“ an einer "
        "Nachricht mit einer Nummer wie +49 170 1234567, oder suche mit `/contacts 0170 123`."
    ),
    "card.lookup.not_found": "Zu {numbers} gibt es keinen Kontakt.",
    "card.lookup.more": "Die Nachricht enthält weitere Nummern; ich zeige die ersten {count}.",
}

EN = {
    "card.created": "Created",
    "card.updated": "Changed",
    "card.blocked_messages": "Wrote while blocked: {count}×, last {when}",
    "card.consent.title": "*Consent*",
    "card.consent.given": "given {when} · source: {source} · confirmed by {by}",
    "card.consent.none": "No consent on record: this contact gets no notifications.",
    "card.consent.withdrawn": ":no_bell: withdrawn on {when}",
    "card.unknown": "unknown",
    "card.attributes.title": "*User attributes*",
    "card.attributes.none": "No user attributes stored.",
    "card.attributes.more": "… and {count} more",
    "card.ticket.title": "*Last ticket*",
    "card.ticket.none": "No ticket yet.",
    "card.ticket.line": "#{id} · {status} · opened {opened} · last message {last} · {count} messages",
    "card.ticket.last_text": "{author}: {text}",
    "card.button.details": "Ticket details",
    "card.fallback": "Contact card: {who}",
    "card.lookup.no_number": (
        "I find no phone number in this message. Use “Look up contact” on a message with a number "
        "like +49 170 1234567, or search with `/contacts 0170 123`."
    ),
    "card.lookup.not_found": "There is no contact for {numbers}.",
    "card.lookup.more": "The message holds more numbers; I show the first {count}.",
}
