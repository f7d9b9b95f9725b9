"""Recipient-local send windows: which time zone a number lives in, and when its window opens and closes.

Pure functions. A broadcast may ask for "at 10:00 in each recipient's local time" (`local_time`)
and/or "never between 21:00 and 08:00 recipient time" (`quiet`). At the freeze each delivery gets
`not_before`/`not_after` in UTC from these, so the sender's claim is a plain timestamp comparison.

The zone of a number: a `timezone` contact attribute when it names an IANA zone, else
`phonenumbers.timezone.time_zones_for_number`. A number that maps to several zones (Russian and
Australian mobiles, UK numbers, ...) takes the country's most populous zone when it is among them
(`MOST_POPULOUS`: Moscow, Sydney, London, New York, ...), else the first one listed (phonenumbers
lists them alphabetically). A number with no known zone gets the configured default zone.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as pn_timezone
from phonenumbers.tzdata import TIMEZONE_DATA

# The country's most populous zone, preferred when a number maps to several zones including it.
MOST_POPULOUS = (
    "Europe/Moscow",
    "Australia/Sydney",
    "Europe/London",
    "America/New_York",
    "America/Toronto",
    "America/Sao_Paulo",
    "America/Mexico_City",
    "Asia/Jakarta",
    "Asia/Almaty",
    "Africa/Kinshasa",
    "America/Argentina/Buenos_Aires",
    "Europe/Madrid",
    "Europe/Lisbon",
    "America/Santiago",
    "America/Guayaquil",
    "Europe/Kyiv",
    "Europe/Kiev",
    "Asia/Ulaanbaatar",
    "Pacific/Auckland",
    "Europe/Paris",
    "Europe/Amsterdam",
    "Europe/Copenhagen",
    "America/Bogota",
)
_PREFERRED = {zone: rank for rank, zone in enumerate(MOST_POPULOUS)}
HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


class WindowError(ValueError):
    """A time or quiet-hours value that is not HH:MM / HH:MM-HH:MM."""


def parse_time(value: str) -> time:
    match = HHMM.match(value.strip())
    if not match:
        raise WindowError(value)
    return time(int(match.group(1)), int(match.group(2)))


def parse_quiet(value: str | None) -> tuple[time, time] | None:
    """`21:00-08:00` -> (21:00, 08:00); empty or `off` -> None."""
    if value is None or value.strip().lower() in ("", "off", "aus", "none"):
        return None
    start, sep, end = value.strip().partition("-")
    if not sep:
        raise WindowError(value)
    quiet = parse_time(start), parse_time(end)
    if quiet[0] == quiet[1]:
        raise WindowError(value)
    return quiet


def format_quiet(quiet: tuple[time, time] | None) -> str | None:
    return None if quiet is None else f"{quiet[0]:%H:%M}-{quiet[1]:%H:%M}"


@lru_cache(maxsize=1)
def _uniform_zones() -> dict[str, str]:
    """Calling codes whose every prefix maps to one and the same zone (Germany, France, ...): no parsing needed."""
    zones: dict[str, set[tuple[str, ...]]] = {}
    for prefix, found in TIMEZONE_DATA.items():
        for n in (1, 2, 3):
            if int(prefix[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
                zones.setdefault(prefix[:n], set()).add(tuple(found))
                break
    return {cc: next(iter(z))[0] for cc, z in zones.items() if len(z) == 1 and len(next(iter(z))) == 1}


def pick_zone(zones: tuple[str, ...] | list[str]) -> str | None:
    """The documented rule for several zones: the most populous one when listed, else the first."""
    known = [z for z in zones if z and z != "Etc/Unknown"]
    if not known:
        return None
    return min(known, key=lambda z: (_PREFERRED.get(z, len(_PREFERRED)), known.index(z)))


def zone_for_number(phone: str) -> str | None:
    """IANA zone of an E.164 number (None: unknown)."""
    digits = phone.lstrip("+")
    uniform = _uniform_zones()
    for n in (1, 2, 3):
        if digits[:n] in uniform:
            return uniform[digits[:n]]
    try:
        parsed = phonenumbers.parse(phone if phone.startswith("+") else "+" + phone)
    except phonenumbers.NumberParseException:
        return None
    return pick_zone(pn_timezone.time_zones_for_number(parsed))


def region_of(phone: str) -> str | None:
    """ISO country of an E.164 number by its calling code (the main country for shared codes like +1)."""
    digits = phone.lstrip("+")
    for n in (1, 2, 3):
        if digits[:n].isdigit() and int(digits[:n]) in phonenumbers.COUNTRY_CODE_TO_REGION_CODE:
            return phonenumbers.region_code_for_country_code(int(digits[:n]))
    return None


@lru_cache(maxsize=512)
def zone_info(name: str | None) -> ZoneInfo | None:
    if not name:
        return None
    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _at(day: datetime, when: time, zone: ZoneInfo) -> datetime:
    """That day's wall-clock time in the zone, in UTC (a time skipped by DST lands an hour later)."""
    local = datetime(day.year, day.month, day.day, when.hour, when.minute, tzinfo=zone)
    return local.astimezone(UTC)


def _in_quiet(local: time, quiet: tuple[time, time]) -> bool:
    start, end = quiet
    return start <= local < end if start < end else (local >= start or local < end)


def window(
    zone: ZoneInfo, start: datetime, local_time: time | None, quiet: tuple[time, time] | None
) -> tuple[datetime, datetime | None]:
    """(not_before, not_after) in UTC for one recipient: the first moment at or after `start` that is at
    `local_time` (when given) and outside the quiet hours, and when that open stretch ends (None: never)."""
    begin = start.astimezone(zone)
    if local_time is not None:
        candidate = _at(begin, local_time, zone)
        if candidate < start:  # today's has passed: tomorrow's
            candidate = _at(begin + timedelta(days=1), local_time, zone)
        begin = candidate.astimezone(zone)
    if quiet is None:
        return begin.astimezone(UTC), None
    if _in_quiet(begin.timetz().replace(tzinfo=None), quiet):
        end_today = _at(begin, quiet[1], zone)
        begin = (end_today if end_today > begin else _at(begin + timedelta(days=1), quiet[1], zone)).astimezone(zone)
    close = _at(begin, quiet[0], zone)
    if close <= begin:
        close = _at(begin + timedelta(days=1), quiet[0], zone)
    return begin.astimezone(UTC), close
