"""Recipient-local send windows (issue 18): each delivery's `not_before`/`not_after` in UTC, set at the freeze.

The sender's claim then only compares timestamps (`not_before <= now < not_after`), so it stays one
indexed statement however many zones a broadcast spans; a window computed once per (zone, quiet
hours) serves every recipient sharing them. Rows that missed their window (throttled, paused over
the quiet hours) get the next one from `reopen`.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from bot.config.settings import Settings
from bot.domain.send_windows import parse_quiet, parse_time, region_of, window, zone_for_number, zone_info
from storage import broadcasts as broadcasts_store
from storage.models import Broadcast

PAGE = 10_000


def windowed(row: Broadcast, settings: Settings) -> bool:
    """A broadcast with a local time, quiet hours, or recipients in a country with quiet hours of its own."""
    return bool(row.local_time or row.quiet_hours or settings.quiet_hours_by_country)


class Windows:
    """The window of each recipient of one broadcast, computed once per (zone, quiet hours)."""

    def __init__(self, row: Broadcast, settings: Settings) -> None:
        self.local: time | None = parse_time(row.local_time) if row.local_time else None
        self.quiet = parse_quiet(row.quiet_hours)
        self.by_country = {r: parse_quiet(q) for r, q in settings.quiet_hours_by_country.items()}
        self.default_zone = settings.default_timezone
        self.cache: dict[tuple[str, Any, datetime], tuple[datetime, datetime | None]] = {}

    def zone(self, phone: str, attribute: str | None) -> str:
        if attribute and zone_info(attribute) is not None:
            return attribute.strip()
        return zone_for_number(phone) or self.default_zone

    def of(self, phone: str, zone: str, start: datetime) -> tuple[datetime, datetime | None]:
        region = region_of(phone)
        quiet = self.by_country.get(region or "", self.quiet)
        key = (zone, quiet, start)
        found = self.cache.get(key)
        if found is None:
            info = zone_info(zone) or zone_info(self.default_zone)
            assert info is not None  # the default zone was checked with the settings
            found = self.cache[key] = window(info, start, self.local, quiet)
        return found


def assign(session: Any, settings: Settings, row: Broadcast, start: datetime) -> int:
    """Give every pending delivery of a just frozen broadcast its window; returns how many."""
    calc = Windows(row, settings)
    after, total = 0, 0
    while rows := broadcasts_store.window_rows(session, row.id or 0, after, PAGE):
        out = []
        for did, phone, attribute in rows:
            zone = calc.zone(phone, attribute)
            opens, closes = calc.of(phone, zone, start)
            out.append((did, opens, closes, zone))
        broadcasts_store.set_windows(session, out)
        after, total = rows[-1][0], total + len(rows)
    return total


def reopen(session: Any, settings: Settings, row: Broadcast, now: datetime) -> int:
    """Rows whose window closed before they went out get their next window (from now)."""
    calc = Windows(row, settings)
    rows = broadcasts_store.missed_windows(session, row.id or 0, now, PAGE)
    out = []
    for did, phone, zone in rows:
        name = zone or calc.zone(phone, None)
        opens, closes = calc.of(phone, name, now)
        out.append((did, opens, closes, name))
    broadcasts_store.set_windows(session, out)
    return len(out)
