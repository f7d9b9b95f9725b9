"""What a report says about sends Meta may have accepted without our knowing (a crash, a lost answer,
a 502): how many there were, how many a status webhook settled, how many the resend policy sent
again, how many are still unknown; and sends Meta holds back (`held_for_quality_assessment`, `paused`).
Plain text (numbers only), shared by the Slack report and `contactbot broadcast status`."""

from __future__ import annotations

from bot.domain.statuses import DeliveryStatus
from bot.i18n import number, t
from bot.services.broadcasts.service import Report


def lines(report: Report, lang: str) -> list[str]:
    a, out = report.ambiguity, []
    if a.ambiguous or a.resent or a.unknown:
        out.append(
            t(
                "broadcast.report.ambiguity",
                lang,
                ambiguous=number(max(a.ambiguous, a.unknown), lang),
                settled=number(a.settled, lang),
                resent=number(a.resent, lang),
                unknown=number(a.unknown, lang),
            )
        )
    if a.resent:
        out.append(t("broadcast.report.resend_policy", lang))
    if held := report.n(DeliveryStatus.HELD, DeliveryStatus.PAUSED):
        out.append(t("broadcast.report.held", lang, held=number(held, lang)))
    return out
