"""Answers when the long-job queue (CSV previews, imports, exports, report CSVs) is full: what was not started,
that nothing changed, and what to do."""

DE = {
    "jobs.busy.preview": (
        ":hourglass: *{file}* lese ich gerade nicht: es laufen schon {running} Importe und Exporte, "
        "und {waiting} warten. Es wurde nichts geändert. Lade die Datei in ein paar Minuten noch einmal hoch."
    ),
    "jobs.busy.import": (
        ":hourglass: Der Import ist nicht gestartet: es laufen schon {running} Importe und Exporte, "
        "und {waiting} warten. Es wurde nichts geändert; die Vorschau bleibt. "
        "Klicke in ein paar Minuten noch einmal auf den Knopf."
    ),
    "jobs.busy.export": (
        ":hourglass: Der Export ist nicht gestartet: es laufen schon {running} Importe und Exporte, "
        "und {waiting} warten. Fordere ihn in ein paar Minuten noch einmal an."
    ),
    "jobs.busy.report": (
        ":hourglass: Die CSV zum Bericht ist nicht erstellt: es laufen schon {running} Importe und Exporte, "
        "und {waiting} warten. Klicke in ein paar Minuten noch einmal auf den CSV-Knopf."
    ),
}

EN = {
    "jobs.busy.preview": (
        ":hourglass: I am not reading *{file}* right now: {running} imports and exports are running and "
        "{waiting} are waiting. Nothing was changed. Upload the file again in a few minutes."
    ),
    "jobs.busy.import": (
        ":hourglass: The import did not start: {running} imports and exports are running and {waiting} are "
        "waiting. Nothing was changed; the preview stays. Click the button again in a few minutes."
    ),
    "jobs.busy.export": (
        ":hourglass: The export did not start: {running} imports and exports are running and {waiting} are "
        "waiting. Ask for it again in a few minutes."
    ),
    "jobs.busy.report": (
        ":hourglass: The report's CSV was not made: {running} imports and exports are running and {waiting} are "
        "waiting. Click the CSV button again in a few minutes."
    ),
}
