"""The report's picture: the delivery funnel over time and the failures by reason, as a PNG drawn here.

Pillow draws it (one well-kept package with its own font; matplotlib would add seven packages to the
image for two simple plots). The figures come from the same `Report` the message shows, the curves
from `storage.history.timeline` (aggregated in SQL), so the alt text, the curves' ends and the
message agree. Which process uploads a chart, and when, is decided on the broadcast row
(`storage.history.claim_chart`): at most every CHART_EVERY seconds while it sends, once per final state.
"""

from __future__ import annotations

import io
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from bot.domain.statuses import BroadcastStatus, DeliveryStatus
from bot.i18n import number, t
from bot.services.broadcasts.service import Report
from storage import history
from storage.db import Engine, Session, session_scope
from storage.models import utcnow

CHART_EVERY = 300.0  # seconds between progress charts: files.* calls stay rare (Tier 3/4), the thread short
FINAL = (BroadcastStatus.DONE, BroadcastStatus.STOPPED, BroadcastStatus.CANCELLED, BroadcastStatus.PAUSED)
WIDTH, HEIGHT = 1200, 560
COLORS = {"sent": (66, 133, 244), "delivered": (52, 168, 83), "read": (142, 68, 173), "failed": (219, 68, 55)}
INK, GRID, MUTED = (29, 28, 29), (221, 221, 221), (97, 96, 97)
MAX_REASONS = 6


@dataclass(frozen=True)
class Figures:
    sent: int
    delivered: int
    read: int
    failed: int

    @classmethod
    def of(cls, report: Report) -> Figures:
        """The report message's own counts (handlers/blocks/broadcasts.py: `_counts_text`)."""
        return cls(
            sent=report.n(DeliveryStatus.SENT, DeliveryStatus.DELIVERED, DeliveryStatus.READ),
            delivered=report.n(DeliveryStatus.DELIVERED, DeliveryStatus.READ),
            read=report.n(DeliveryStatus.READ),
            failed=report.n(DeliveryStatus.FAILED),
        )


def key(report: Report) -> str:
    """What a chart shows: its status and figures (a chart is drawn again only when one of them changed)."""
    f = Figures.of(report)
    return f"{report.broadcast.status}|{f.sent}|{f.delivered}|{f.read}|{f.failed}"


def reason_label(code: int | None, title: str, lang: str) -> str:
    """A failure reason as plain text (the message's words, no mrkdwn): our text for the code, else its title."""
    if code is None:
        try:
            return t(f"broadcast.reason.{title}", lang)
        except KeyError:
            return title or t("broadcast.reason.unknown_code", lang)
    try:
        return f"{t(f'broadcast.code.{code}', lang)} ({code})"
    except KeyError:
        return f"{title} ({code})"


def failures(report: Report, lang: str) -> list[tuple[str, int]]:
    """The report's failed rows by reason, most common first (skipped rows never went out: not here)."""
    return [(reason_label(r.code, r.title, lang), r.count) for r in report.reasons if r.status == DeliveryStatus.FAILED]


def alt_text(report: Report, lang: str) -> str:
    """The chart in words, for screen readers: the same figures as the message (at most 1,000 characters)."""
    f = Figures.of(report)
    reasons = failures(report, lang)
    text = t(
        "chart.alt",
        lang,
        id=report.broadcast.id,
        template=report.broadcast.template,
        sent=number(f.sent, lang),
        delivered=number(f.delivered, lang),
        read=number(f.read, lang),
        failed=number(f.failed, lang),
    )
    if reasons:
        text += " " + t(
            "chart.alt_reasons", lang, reasons="; ".join(f"{label}: {number(n, lang)}" for label, n in reasons)
        )
    return text[:1000]


def due(engine: Engine, report: Report, final: bool) -> str | None:
    """The chart key when this process should draw and upload a chart now (and has taken that on), else None.

    Final states get one chart each; while it sends, one at most every CHART_EVERY seconds, the first
    only after it has sent that long (a short broadcast gets exactly one, when it finishes)."""
    b = report.broadcast
    if not b.channel_id or not b.message_ts:
        return None
    now = utcnow()
    finished = b.status in FINAL
    if not finished:
        if final or b.status != BroadcastStatus.RUNNING or b.started_at is None:
            return None
        if now - b.started_at < timedelta(seconds=CHART_EVERY):
            return None
    if not Figures.of(report).sent and not Figures.of(report).failed:
        return None  # nothing went out: nothing to draw
    k = key(report)
    with session_scope(engine) as session:
        not_after = None if finished else now - timedelta(seconds=CHART_EVERY)
        return k if history.claim_chart(session, b.id or 0, k, now, not_after) else None


def uploaded(engine: Engine, broadcast_id: int, file_id: str) -> str | None:
    """Note the new chart; returns the previous chart's file id (to delete: the thread keeps the latest)."""
    with session_scope(engine) as session:
        return history.set_chart_file(session, broadcast_id, file_id)


def failed(engine: Engine, broadcast_id: int, chart_key: str) -> None:
    with session_scope(engine) as session:
        history.release_chart(session, broadcast_id, chart_key)


def _unit(first: datetime | None, last: datetime | None) -> str:
    if first is None or last is None or last - first <= timedelta(minutes=10):
        return "second"
    return "minute" if last - first <= timedelta(hours=24) else "hour"


def _series(engine: Engine, report: Report) -> dict[str, list[tuple[datetime, int]]]:
    """Per series the cumulative count at each bucket's time (buckets of a second, a minute or an hour, by how
    long the broadcast has been sending: a few hundred points at most)."""
    b = report.broadcast
    with Session(engine) as session:
        rows = history.timeline(session, b.id or 0, _unit(b.started_at, b.finished_at or utcnow()))
    out: dict[str, list[tuple[datetime, int]]] = {name: [] for name in history.SERIES}
    totals = dict.fromkeys(history.SERIES, 0)
    for at, series, n in rows:
        totals[series] += n
        out[series].append((at, totals[series]))
    return out


FONT_FILES = ("DejaVuSans.ttf", "LiberationSans-Regular.ttf", "NotoSans-Regular.ttf")  # found by Pillow in the
# system's font directories (the Docker image installs fonts-dejavu-core)
_GERMAN = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss", "→": "->"})


@lru_cache(maxsize=8)
def _font(size: int) -> tuple[ImageFont.FreeTypeFont | ImageFont.ImageFont, bool]:
    """A system font with umlauts, else Pillow's own (ASCII only: the text is then spelled `ae`, `ss`, ...)."""
    for name in FONT_FILES:
        try:
            return ImageFont.truetype(name, size), True
        except OSError:
            continue
    return ImageFont.load_default(size=size), False


def _drawable(text: str, full: bool) -> str:
    """Text the font can draw: as is with a full font; German spelling without umlauts and no other non-ASCII
    otherwise (the alt text keeps the real words)."""
    if full:
        return text
    plain = unicodedata.normalize("NFKD", text.translate(_GERMAN))
    return "".join(ch for ch in plain if ch.isascii())


class Pen:
    """Draws text in one size with whatever font is available."""

    def __init__(self, draw: ImageDraw.ImageDraw, size: int) -> None:
        self.draw = draw
        self.font, self.full = _font(size)

    def text(self, xy: tuple[int, int], text: str, fill: tuple[int, int, int]) -> None:
        self.draw.text(xy, _drawable(text, self.full), fill=fill, font=self.font)

    def width(self, text: str) -> int:
        return int(self.draw.textlength(_drawable(text, self.full), font=self.font))


def _fmt_time(at: datetime, span: timedelta) -> str:
    at = at.astimezone(UTC)
    return at.strftime("%H:%M:%S" if span <= timedelta(minutes=10) else "%d.%m. %H:%M")


def render(engine: Engine, report: Report, lang: str) -> bytes:
    """The PNG: left the funnel over time (cumulative, one line per status), right the failures by reason."""
    reasons = failures(report, lang)
    series = _series(engine, report)
    image = Image.new("RGB", (WIDTH, HEIGHT), "white")
    draw = ImageDraw.Draw(image)
    title, font, small = Pen(draw, 22), Pen(draw, 15), Pen(draw, 13)
    b = report.broadcast
    title.text(
        (24, 16),
        t("chart.title", lang, id=b.id, template=b.template, status=t(f"broadcast.status.{b.status}", lang)),
        INK,
    )
    _funnel(draw, series, Figures.of(report), lang, (24, 64, 760, HEIGHT - 24), font, small)
    _reasons(draw, reasons, lang, (800, 64, WIDTH - 24, HEIGHT - 24), font, small)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


def _funnel(
    draw: ImageDraw.ImageDraw,
    series: dict[str, list[tuple[datetime, int]]],
    figures: Figures,
    lang: str,
    box: tuple[int, int, int, int],
    font: Pen,
    small: Pen,
) -> None:
    left, top, right, bottom = box
    font.text((left, top), t("chart.funnel", lang), INK)
    legend_y = top + 26
    x = left
    for name in history.SERIES:
        value = getattr(figures, name)
        label = f"{t(f'chart.series.{name}', lang)} {number(value, lang)}"
        draw.rectangle((x, legend_y + 4, x + 12, legend_y + 16), fill=COLORS[name])
        small.text((x + 18, legend_y), label, INK)
        x += 30 + small.width(label)
    plot = (left + 60, legend_y + 34, right - 10, bottom - 28)
    px0, py0, px1, py1 = plot
    times = [at for points in series.values() for at, _ in points]
    peak = max([figures.sent, figures.failed, 1] + [n for points in series.values() for _, n in points])
    start = min(times) if times else utcnow()
    end = max(times) if times else start
    end = max(end, start + timedelta(seconds=1))
    span = end - start
    for i in range(5):  # horizontal grid with counts
        y = py1 - (py1 - py0) * i // 4
        draw.line((px0, y, px1, y), fill=GRID)
        small.text((left, y - 8), number(round(peak * i / 4), lang), MUTED)
    draw.line((px0, py0, px0, py1), fill=MUTED)
    draw.line((px0, py1, px1, py1), fill=MUTED)
    for frac in (0.0, 0.5, 1.0):
        x = px0 + int((px1 - px0) * frac)
        label = _fmt_time(start + span * frac, span) + " UTC" * (frac == 1.0)
        width = small.width(label)
        small.text((min(max(px0, x - width // 2), px1 - width), py1 + 6), label, MUTED)

    def xy(at: datetime, n: int) -> tuple[int, int]:
        x = px0 + int((px1 - px0) * ((at - start) / span))
        return x, py1 - int((py1 - py0) * n / peak)

    for name in history.SERIES:
        points = series[name]
        if not points:
            continue
        path = [xy(start, 0)] if points[0][0] > start else []
        last = 0
        for at, n in points:
            x, y = xy(at, n)
            if path:
                path.append((x, path[-1][1]))  # a step: the count holds until the next bucket
            path.append((x, y))
            last = n
        path.append(xy(end, last))
        draw.line(path, fill=COLORS[name], width=3)


def _reasons(
    draw: ImageDraw.ImageDraw,
    reasons: list[tuple[str, int]],
    lang: str,
    box: tuple[int, int, int, int],
    font: Pen,
    small: Pen,
) -> None:
    left, top, right, _ = box
    font.text((left, top), t("chart.reasons", lang), INK)
    if not reasons:
        small.text((left, top + 34), t("chart.no_failures", lang), MUTED)
        return
    peak = max(n for _, n in reasons) or 1
    y = top + 34
    for label, n in reasons[:MAX_REASONS]:
        text = label
        while len(text) > 8 and small.width(text) > right - left:
            text = text[:-2].rstrip() + "…"
        small.text((left, y), text, INK)
        width = int((right - left - 70) * n / peak)
        draw.rectangle((left, y + 20, left + max(2, width), y + 38), fill=COLORS["failed"])
        small.text((left + max(2, width) + 8, y + 21), number(n, lang), INK)
        y += 56
