"""What dates the dashboard accepts: one rule that every importer, the command line and the
review ask, so that no entry point lets in a date another would refuse.

- A diary entry or a measure is dated 1900-01-01 up to tomorrow: the import day on the server
  may still be yesterday where the patient lives (a +14:00 patient writes tomorrow's date
  first), but no one writes a diary for the day after.
- A visit or a titration step is dated 1900-01-01 up to five years ahead: the clinic plans
  ahead, but not by decades, and a year 9999 would overflow the review's arithmetic.

A date outside is refused at import (with its file, row, column and value), is a usage error
on the command line, and, if one is stored anyway (an old database, a hand edit), is left out
of the review with a note rather than crashing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

EARLIEST = date(1900, 1, 1)
PLAN_YEARS_AHEAD = 5


@dataclass(frozen=True)
class DateRange:
    """The dates one kind of record may carry, relative to ``today`` (the import day)."""

    what: str  # "a diary entry", as a refusal names it
    why_latest: str
    days_ahead: int = 0
    years_ahead: int = 0

    def latest(self, today: date | None = None) -> date:
        today = (today or date.today()) + timedelta(days=self.days_ahead)
        try:
            return today.replace(year=today.year + self.years_ahead)
        except ValueError:  # 29 February, some years on
            return today.replace(year=today.year + self.years_ahead, day=28)

    def contains(self, day: date | datetime, today: date | None = None) -> bool:
        day = day.date() if isinstance(day, datetime) else day
        return EARLIEST <= day <= self.latest(today)

    def problem(self, day: date | datetime, today: date | None = None) -> str | None:
        """Why ``day`` is refused, or None when it is acceptable."""
        day = day.date() if isinstance(day, datetime) else day
        if day < EARLIEST:
            return f"the date is before {EARLIEST.isoformat()}: {self.what} is dated from {EARLIEST.isoformat()}"
        latest = self.latest(today)
        if day > latest:
            return f"the date is after {latest.isoformat()}: {self.what} is dated at most {self.why_latest}"
        return None


DIARY = DateRange("a diary entry or measure", "one day after the import day (the patient's local date)",
                  days_ahead=1)
PLAN = DateRange("a visit or titration step", f"{PLAN_YEARS_AHEAD} years after the import day",
                 years_ahead=PLAN_YEARS_AHEAD)
