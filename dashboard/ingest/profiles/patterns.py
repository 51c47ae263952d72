"""Date and time patterns (``strptime``) that staff choose for a file: what a pattern looks like,
whether it holds a time, and whether it can date a profile's rows."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from dashboard.ingest.profiles.spec import UNIX_LAYOUTS, ProfileError

# Tried first when guessing a date column: unambiguous, unlike day/month orders. Those with an
# offset (``+0000``, ``+01:00``, ``Z``) come first, so that a written offset is kept.
ISO_PATTERNS = ("%Y-%m-%dT%H:%M:%S%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z",
                "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%dT%H:%M:%S.%f", "%Y-%m-%d %H:%M",
                "%Y-%m-%dT%H:%M", "%Y-%m-%d")
# "%H%M": a 24-hour time written without a colon (0930, 2130), as paper-log transcriptions often are.
TIME_PATTERNS = ("%I:%M %p", "%H:%M", "%H:%M:%S", "%I:%M:%S %p", "%H%M")
# Tried after ISO: month/day/year (US) and day/month/year with slashes, day.month.year (Europe).
# A file whose days are all 12 or less reads both ways: the suggester shows both readings for staff
# to confirm (see suggest.date_readings), never choosing silently.
# Two-digit years (Android's short date, ``3/14/26``) last: ``%y`` reads 69-99 as 1969-1999 and
# 00-68 as 2000-2068 (Python's strptime), and the diary's date range refuses what falls outside it.
DAY_MONTH_PATTERNS = ("%m/%d/%Y %H:%M", "%d/%m/%Y %H:%M", "%m/%d/%Y %I:%M %p", "%d/%m/%Y %I:%M %p",
                      "%d.%m.%Y %H:%M", "%m/%d/%Y", "%d/%m/%Y", "%d.%m.%Y",
                      "%m/%d/%y %H:%M", "%d/%m/%y %H:%M", "%m/%d/%y %I:%M %p", "%d.%m.%y %H:%M",
                      "%m/%d/%y", "%d/%m/%y", "%d.%m.%y")
_EXAMPLE = datetime(2026, 3, 1, 21, 30, 5)  # day 1, month 3: a pattern's example shows which is which
_DIRECTIVE = re.compile(r"%(.)")
_DATE_DIRECTIVES = ({"Y", "y"}, {"m", "b", "B"}, {"d"})
_TIME_DIRECTIVES = set("HIMSpfzXc")


def _directives(pattern: str) -> set[str]:
    return set(_DIRECTIVE.findall(pattern.replace("%%", "")))


def has_time(pattern: str) -> bool:
    return pattern in UNIX_LAYOUTS or bool(_directives(pattern) & _TIME_DIRECTIVES)


def example(pattern: str) -> str:
    """How 1 March 2026, 21:30:05 looks in ``pattern``: shows staff what a pattern means."""
    at = _EXAMPLE.replace(tzinfo=timezone(timedelta(hours=1)))
    if pattern in UNIX_LAYOUTS:
        return str(int(at.timestamp()) * (1000 if pattern == "unix_ms" else 1))
    return at.strftime(pattern)


def check_pattern(m: dict, key: str, *, kind: str) -> str:
    """``m[key]`` when it is a date (or time) pattern that reads its own example back, or a Unix
    layout (``unix_s``, ``unix_ms``) for a date, else ProfileError."""
    pattern = m.get(key)
    if not isinstance(pattern, str) or not pattern.strip():
        raise ProfileError(f"{key}: give the {kind} pattern, e.g. {'%Y-%m-%d' if kind == 'date' else '%H:%M'}")
    if kind == "date" and pattern in UNIX_LAYOUTS:
        return pattern
    used = _directives(pattern)
    if kind == "date" and not all(used & need for need in _DATE_DIRECTIVES):
        raise ProfileError(f"{key}: {pattern!r} must hold a year (%Y), a month (%m or %b) and a day (%d)")
    if kind == "time":
        if not used & {"H", "I"} or used & {"Y", "y", "m", "b", "B", "d", "j"}:
            raise ProfileError(f"{key}: {pattern!r} must hold an hour (%H, or %I with %p) and no date")
        if "I" in used and "p" not in used:
            raise ProfileError(f"{key}: {pattern!r} has a 12-hour clock (%I) without am/pm (%p)")
    try:
        datetime.strptime(example(pattern), pattern)
    except ValueError as exc:
        raise ProfileError(f"{key}: {pattern!r} is not a pattern this importer can read ({exc})") from None
    return pattern
