"""Texts of CSV import (preview, progress, result, errors) and CSV export."""

DE = {
    "import.help": (
        "*Kontakte per CSV importieren*\n"
        "1. Lade eine `.csv`-Datei in diesen Kanal oder in die Direktnachricht mit mir hoch.\n"
        "2. Ich prüfe sie und zeige eine Vorschau: neu, geändert, unverändert, abgelehnte Zeilen. "
        "Es wird noch nichts gespeichert.\n"
        "3. Ein Admin bestätigt die Einwilligung der neuen Kontakte und importiert.\n\n"
        "Spalten (deutsch oder englisch, beliebige Reihenfolge): *Nummer* (Pflicht), Messenger, Name, "
        "Erstkontakt, Letzter Chat, Blockiert, Status, Aktiviert. Jede andere Spalte wird ein "
        "Nutzermerkmal. Leere Zellen ändern nichts. Massen-Aktivierung: nur Nummer, Messenger und "
        "`Aktiviert` = 1 (oder 0). Größer als {limit} darf die Datei nicht sein."
    ),
    "import.reading": ":hourglass_flowing_sand: Ich lese *{file}* …",
    "import.progress.read": ":hourglass_flowing_sand: *{file}*: {rows} Zeilen gelesen …",
    "import.progress.update": ":hourglass_flowing_sand: *{file}*: bestehende Kontakte werden aktualisiert …",
    "import.progress.create": ":hourglass_flowing_sand: *{file}*: neue Kontakte werden angelegt …",
    "import.progress.attributes": ":hourglass_flowing_sand: *{file}*: Nutzermerkmale werden gespeichert …",
    "import.progress.index": ":hourglass_flowing_sand: *{file}*: Sortierung und Suche werden neu aufgebaut …",
    "import.preview.title": "Vorschau für *{file}* ({rows} Zeilen). Noch ist nichts gespeichert.",
    "import.preview.fallback": "Import-Vorschau für {file}",
    "import.count.created": "neu",
    "import.count.updated": "geändert",
    "import.count.unchanged": "unverändert",
    "import.count.activated": "werden aktiviert",
    "import.count.deactivated": "werden deaktiviert",
    "import.count.rejected": "abgelehnt",
    "import.preview.opted_out": (
        ":warning: *{count}* Kontakte haben sich selbst abgemeldet (STOP). Die Datei würde sie "
        "aktivieren; sie bleiben inaktiv."
    ),
    "import.preview.new_attributes": "Neue Nutzermerkmale, die beim Import angelegt werden: {names}",
    "import.preview.errors": "*Abgelehnte Zeilen* (werden nicht importiert):",
    "import.preview.error_line": "Zeile {row}, {column}: {reason}",
    "import.preview.more_errors": "… und {count} weitere (alle in der angehängten CSV-Datei).",
    "import.preview.consent": (
        "Mit *Einwilligung bestätigt – importieren* sagst du, dass die {count} neuen Kontakte "
        "eingewilligt haben, "
        "kontaktiert zu werden. Die Einwilligung wird mit Datei, Zeit und deinem Namen gespeichert."
    ),
    "import.preview.nothing": "Diese Datei ändert nichts: alle gültigen Zeilen stimmen schon.",
    "import.preview.only_admins": "Importieren oder verwerfen können nur Admins.",
    "import.confirm": "Importieren",
    "import.confirm_consent": "Einwilligung bestätigt – importieren",
    "import.cancel": "Verwerfen",
    "import.confirm_dialog.title": "Import bestätigen",
    "import.confirm_dialog.text": "Die neuen Kontakte haben eingewilligt, kontaktiert zu werden.",
    "import.done": (
        ":white_check_mark: *{file}* importiert von <@{user}>: {created} neu, {updated} geändert, "
        "{unchanged} unverändert, {activated} aktiviert, {deactivated} deaktiviert, {rejected} abgelehnt."
    ),
    "import.done_plain": (
        "{file} importiert: {created} neu, {updated} geändert, {unchanged} unverändert, "
        "{activated} aktiviert, {deactivated} deaktiviert, {rejected} abgelehnt."
    ),
    "import.cancelled": ":wastebasket: Import von *{file}* verworfen von <@{user}>. Es wurde nichts gespeichert.",
    "import.already": "Dieser Import wurde schon {status}.",
    "import.status.applied": "übernommen",
    "import.status.applying": "gestartet",
    "import.status.cancelled": "verworfen",
    "import.status.failed": "abgebrochen",
    "import.failed": (
        ":x: Der Import von *{file}* ist fehlgeschlagen; es wurde nichts gespeichert. Bitte versuche es erneut."
    ),
    "import.gone": "Diesen Import gibt es nicht mehr. Lade die Datei bitte neu hoch.",
    "import.consent_needed": (
        "Die Datei enthält {count} neue Kontakte. Importiere sie nur mit deren Einwilligung (CLI: --consent-confirmed)."
    ),
    "import.rejected_file": "abgelehnte-zeilen.csv",
    "import.rejected_header.row": "Zeile",
    "import.rejected_header.column": "Spalte",
    "import.rejected_header.reason": "Grund",
    "import.rejected_header.value": "Wert",
    "import.error.prefix": ":x: *{file}* kann ich nicht importieren: {reason}",
    "import.error.empty": "die Datei ist leer.",
    "import.error.no_rows": "die Datei hat nur eine Kopfzeile, aber keine Kontakte.",
    "import.error.html": (
        "statt einer CSV-Datei kam eine HTML-Seite (meist die Slack-Anmeldeseite). Fehlt der App "
        "die Berechtigung files:read?"
    ),
    "import.error.spreadsheet": (
        "das ist eine Excel-Datei. Bitte in Excel „Speichern unter → CSV (Trennzeichen-getrennt)“ wählen."
    ),
    "import.error.binary": "das ist keine Textdatei (CSV).",
    "import.error.encoding": "die Zeichenkodierung ist unbekannt. Bitte als UTF-8 oder Windows-1252 speichern.",
    "import.error.malformed": "die Datei ist kein gültiges CSV ({detail}).",
    "import.error.no_phone": (
        "es gibt keine Spalte mit der Nummer (z. B. „Nummer“, „Telefon“ oder „Phone“). Gefundene Spalten: {columns}"
    ),
    "import.error.duplicate_column": "die Spalte „{column}“ kommt zweimal vor.",
    "import.error.too_big": "die Datei ist größer als {limit}.",
    "import.error.not_csv": "das ist keine CSV-Datei ({kind}).",
    "import.error.download": "die Datei ließ sich nicht von Slack laden ({detail}).",
    "import.row.phone.empty": "keine Nummer",
    "import.row.phone.scientific": "Nummer von Excel zerstört (wissenschaftliche Schreibweise): Ziffern fehlen",
    "import.row.phone.unparsable": "keine Telefonnummer",
    "import.row.phone.impossible": "Nummer hat die falsche Länge",
    "import.row.phone.invalid": "keine gültige Nummer",
    "import.row.messenger": "unbekannter Messenger",
    "import.row.too_long": "Text zu lang",
    "import.row.date": "kein Datum (z. B. 2026-01-31 14:00 oder 31.01.2026)",
    "import.row.flag": "erwartet ja/nein oder 1/0",
    "import.row.status": "erwartet aktiv/inaktiv",
    "import.row.status_conflict": "Status und Aktiviert widersprechen sich",
    "import.row.duplicate": "doppelt (wie Zeile {value})",
    "import.row.attr.not_number": "keine Zahl",
    "import.row.attr.not_date": "kein Datum (TT.MM.JJJJ oder JJJJ-MM-TT)",
    "import.row.attr.not_bool": "erwartet ja/nein",
    "import.row.attr.not_choice": "kein erlaubter Wert",
    "export.started": ":hourglass_flowing_sand: Ich erstelle die CSV-Datei …",
    "export.done": ":page_facing_up: Export mit {count} Kontakten ({filter}).",
    "export.filter.all": "alle Kontakte",
    "export.file_prefix": "kontakte",
    "export.file_title": "Kontakte {date}",
    "export.where": "Wohin soll die CSV-Datei?",
    "export.to_dm": "Als Direktnachricht",
    "export.to_channel": "In diesen Kanal",
    "export.failed": ":x: Der Export ist fehlgeschlagen. Bitte versuche es gleich noch einmal.",
    "export.channel_failed": "In diesen Kanal darf ich nicht schreiben; ich schicke die Datei per Direktnachricht.",
    "export.channel_admins_only": (
        "Nur Admins (CONTACTBOT_ADMINS) dürfen Kontakte in einen Kanal exportieren. "
        "Als Direktnachricht bekommst du die Liste jederzeit."
    ),
    "import.admins_only": (
        "*{file}* importiere ich nicht: nur Admins (CONTACTBOT_ADMINS) dürfen Kontakte importieren. "
        "Bitte eine Person aus CONTACTBOT_ADMINS, die Datei hochzuladen."
    ),
    "import.busy": "*{file}* lese ich nicht: deine vorige Datei ist noch in Arbeit. Lade sie danach noch einmal hoch.",
}

EN = {
    "import.help": (
        "*Import contacts from a CSV file*\n"
        "1. Upload a `.csv` file to this channel or to your direct message with me.\n"
        "2. I check it and show a preview: new, changed, unchanged, rejected rows. Nothing is "
        "saved yet.\n"
        "3. An admin confirms that the new contacts consented and imports.\n\n"
        "Columns (German or English, any order): *Number* (required), Messenger, Name, First contact, "
        "Last chat, Blocked, Status, Activated. Any other column becomes a user attribute. Empty "
        "cells change nothing. Bulk activation: only Number, Messenger and `Activated` = 1 (or 0). "
        "The file may be at most {limit}."
    ),
    "import.reading": ":hourglass_flowing_sand: Reading *{file}* …",
    "import.progress.read": ":hourglass_flowing_sand: *{file}*: {rows} rows read …",
    "import.progress.update": ":hourglass_flowing_sand: *{file}*: updating existing contacts …",
    "import.progress.create": ":hourglass_flowing_sand: *{file}*: creating new contacts …",
    "import.progress.attributes": ":hourglass_flowing_sand: *{file}*: saving user attributes …",
    "import.progress.index": ":hourglass_flowing_sand: *{file}*: rebuilding sorting and search …",
    "import.preview.title": "Preview of *{file}* ({rows} rows). Nothing is saved yet.",
    "import.preview.fallback": "Import preview of {file}",
    "import.count.created": "new",
    "import.count.updated": "changed",
    "import.count.unchanged": "unchanged",
    "import.count.activated": "to activate",
    "import.count.deactivated": "to deactivate",
    "import.count.rejected": "rejected",
    "import.preview.opted_out": (
        ":warning: *{count}* contacts opted out themselves (STOP). The file would activate them; they stay inactive."
    ),
    "import.preview.new_attributes": "New user attributes, created on import: {names}",
    "import.preview.errors": "*Rejected rows* (not imported):",
    "import.preview.error_line": "Row {row}, {column}: {reason}",
    "import.preview.more_errors": "… and {count} more (all in the attached CSV file).",
    "import.preview.consent": (
        "By clicking *Consent confirmed – import* you confirm that the {count} new contacts consented "
        "to be contacted. "
        "The consent is stored with the file, the time and your name."
    ),
    "import.preview.nothing": "This file changes nothing: every valid row is already up to date.",
    "import.preview.only_admins": "Only admins can import or discard.",
    "import.confirm": "Import",
    "import.confirm_consent": "Consent confirmed – import",
    "import.cancel": "Discard",
    "import.confirm_dialog.title": "Confirm import",
    "import.confirm_dialog.text": "The new contacts consented to be contacted.",
    "import.done": (
        ":white_check_mark: *{file}* imported by <@{user}>: {created} new, {updated} changed, "
        "{unchanged} unchanged, {activated} activated, {deactivated} deactivated, {rejected} rejected."
    ),
    "import.done_plain": (
        "{file} imported: {created} new, {updated} changed, {unchanged} unchanged, "
        "{activated} activated, {deactivated} deactivated, {rejected} rejected."
    ),
    "import.cancelled": ":wastebasket: Import of *{file}* discarded by <@{user}>. Nothing was saved.",
    "import.already": "This import was already {status}.",
    "import.status.applied": "applied",
    "import.status.applying": "started",
    "import.status.cancelled": "discarded",
    "import.status.failed": "aborted",
    "import.failed": ":x: Importing *{file}* failed; nothing was saved. Please try again.",
    "import.gone": "This import no longer exists. Please upload the file again.",
    "import.consent_needed": (
        "The file holds {count} new contacts. Import them only with their consent (CLI: --consent-confirmed)."
    ),
    "import.rejected_file": "rejected-rows.csv",
    "import.rejected_header.row": "Row",
    "import.rejected_header.column": "Column",
    "import.rejected_header.reason": "Reason",
    "import.rejected_header.value": "Value",
    "import.error.prefix": ":x: I cannot import *{file}*: {reason}",
    "import.error.empty": "the file is empty.",
    "import.error.no_rows": "the file has a header row but no contacts.",
    "import.error.html": (
        "an HTML page came instead of a CSV file (usually Slack's login page). Does the app lack the files:read scope?"
    ),
    "import.error.spreadsheet": "this is an Excel file. In Excel choose “Save as → CSV (comma delimited)”.",
    "import.error.binary": "this is not a text (CSV) file.",
    "import.error.encoding": "the character encoding is unknown. Please save as UTF-8 or Windows-1252.",
    "import.error.malformed": "the file is not valid CSV ({detail}).",
    "import.error.no_phone": (
        "there is no number column (e.g. “Number”, “Phone” or “Nummer”). Columns found: {columns}"
    ),
    "import.error.duplicate_column": "the column “{column}” appears twice.",
    "import.error.too_big": "the file is larger than {limit}.",
    "import.error.not_csv": "this is not a CSV file ({kind}).",
    "import.error.download": "the file could not be fetched from Slack ({detail}).",
    "import.row.phone.empty": "no number",
    "import.row.phone.scientific": "number destroyed by Excel (scientific notation): digits are lost",
    "import.row.phone.unparsable": "not a phone number",
    "import.row.phone.impossible": "number has the wrong length",
    "import.row.phone.invalid": "not a valid number",
    "import.row.messenger": "unknown messenger",
    "import.row.too_long": "text too long",
    "import.row.date": "not a date (e.g. 2026-01-31 14:00 or 31.01.2026)",
    "import.row.flag": "expected yes/no or 1/0",
    "import.row.status": "expected active/inactive",
    "import.row.status_conflict": "Status and Activated contradict each other",
    "import.row.duplicate": "duplicate (same as row {value})",
    "import.row.attr.not_number": "not a number",
    "import.row.attr.not_date": "not a date (DD.MM.YYYY or YYYY-MM-DD)",
    "import.row.attr.not_bool": "expected yes/no",
    "import.row.attr.not_choice": "not an allowed value",
    "export.started": ":hourglass_flowing_sand: Creating the CSV file …",
    "export.done": ":page_facing_up: Export of {count} contacts ({filter}).",
    "export.filter.all": "all contacts",
    "export.file_prefix": "contacts",
    "export.file_title": "Contacts {date}",
    "export.where": "Where should the CSV file go?",
    "export.to_dm": "As a direct message",
    "export.to_channel": "To this channel",
    "export.failed": ":x: The export failed. Please try again in a moment.",
    "export.channel_failed": "I may not post in this channel; I am sending the file as a direct message.",
    "export.channel_admins_only": (
        "Only admins (CONTACTBOT_ADMINS) may export contacts into a channel. "
        "You can always get the list as a direct message."
    ),
    "import.admins_only": (
        "I am not importing *{file}*: only admins (CONTACTBOT_ADMINS) may import contacts. "
        "Ask someone listed in CONTACTBOT_ADMINS to upload the file."
    ),
    "import.busy": "I am not reading *{file}*: your previous file is still being worked on. Upload it again afterwards.",
}
