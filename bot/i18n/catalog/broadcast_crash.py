"""Texts for ambiguous sends (a request without an answer, e.g. after a crash) and Meta's held sends."""

DE = {
    "broadcast.state.held": "von WhatsApp zur Qualitätsprüfung zurückgehalten",
    "broadcast.state.paused": "von WhatsApp angehalten",
    "broadcast.report.ambiguity": "ohne Antwort (unklar, ob angekommen) {ambiguous} · "
    "durch Statusmeldung geklärt {settled} · erneut gesendet {resent} · noch unklar {unknown}",
    "broadcast.report.resend_policy": "Unklare ohne Statusmeldung wurden erneut gesendet "
    "(BROADCAST_RESEND_UNKNOWN_AFTER): wer die erste Nachricht doch bekam, bekommt sie zweimal.",
    "broadcast.report.held": "von WhatsApp zurückgehalten {held}",
}

EN = {
    "broadcast.state.held": "held by WhatsApp for quality assessment",
    "broadcast.state.paused": "paused by WhatsApp",
    "broadcast.report.ambiguity": "no answer (may have arrived) {ambiguous} · "
    "settled by a status {settled} · resent {resent} · still unknown {unknown}",
    "broadcast.report.resend_policy": "Unknown ones without a status were resent "
    "(BROADCAST_RESEND_UNKNOWN_AFTER): whoever did get the first message gets it twice.",
    "broadcast.report.held": "held back by WhatsApp {held}",
}
