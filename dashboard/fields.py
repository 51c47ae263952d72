"""The diary's fields and what values and dates the dashboard accepts: one table that every
importer, export, the store, the mapping page and the forms read, so that no entry point lets
in a value another would refuse (import-formats.md section 1; documented in docs/fields.md).

**Diary fields** (:data:`DIARY_FIELDS`): one row per field of a diary entry, in the native CSV's
column order, with its kind, range, unit, maximum length and LOINC code where LOINC has one.

**Doses** (:data:`DOSE_MAX_MG`): the largest ketamine dose one administration may carry, a
guard against a slipped digit (500 for 50), never a prescribing limit.

**Dates:**

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

# --- diary fields ------------------------------------------------------------------------------

SCALE, DOSE, PRESSURE, GRADE, TEXT = "scale", "dose", "pressure", "grade", "text"
DOSE_MAX_MG = 1000.0  # one administration (a diary entry's dose, a FHIR administration, a troche or IV step)


@dataclass(frozen=True)
class DiaryField:
    """One field of a diary entry. ``kind``: ``scale`` (0-10, decimals allowed), ``dose`` (mg),
    ``pressure`` (mmHg), ``grade`` (a side effect, a whole grade 0-3) or ``text``."""

    name: str
    kind: str
    meaning: str
    low: float | None = None
    high: float | None = None
    unit: str | None = None
    max_length: int | None = None
    loinc: str | None = None

    @property
    def numeric(self) -> bool:
        return self.kind != TEXT


def _scale(name: str, meaning: str, loinc: str | None = None) -> DiaryField:
    return DiaryField(name, SCALE, meaning, 0.0, 10.0, loinc=loinc)


def _grade(name: str, meaning: str) -> DiaryField:
    return DiaryField(name, GRADE, meaning, 0.0, 3.0)


# In the native CSV's column order (what the export writes).
DIARY_FIELDS: tuple[DiaryField, ...] = (
    _scale("pain", "average pain over the last 24 h, numeric rating scale", "72514-3"),
    _scale("pain_worst", "worst pain in the last 24 h"),
    _scale("sleep", "sleep quality last night, 0 (worst) - 10 (best)"),
    _scale("mood", "mood today, 0 (worst) - 10 (best)"),
    _scale("function", "ability to do daily tasks today, 0 (unable) - 10 (fully able)"),
    _scale("enjoyment_interference", "PEG item: how much pain interfered with enjoyment of life", "91145-3"),
    _scale("activity_interference", "PEG item: how much pain interfered with general activity", "91146-1"),
    _scale("peg", "the PEG score: mean of the three PEG items", "91147-9"),
    _scale("peg_pain", "PEG item: average pain over the past week (not the diary's 24-hour pain)", "75893-8"),
    DiaryField("dose_mg", DOSE, "ketamine troche dose taken with this entry (the sum if several)", 0.0, DOSE_MAX_MG,
               "mg"),
    _grade("dizziness", "side effect: dizziness"),
    _grade("nausea", "side effect: nausea"),
    _grade("brain_fog", "side effect: brain fog"),
    _grade("dissociation", "side effect: dissociation"),
    _grade("drowsiness", "side effect: drowsiness"),
    _grade("bladder", "side effect: urinary frequency, urgency, pain or blood"),
    DiaryField("bp_systolic", PRESSURE, "home blood pressure, systolic", 60.0, 260.0, "mmHg", loinc="8480-6"),
    DiaryField("bp_diastolic", PRESSURE, "home blood pressure, diastolic (below systolic)", 30.0, 160.0, "mmHg",
               loinc="8462-4"),
    DiaryField("other_medication", TEXT, "rescue or co-medication taken (e.g. oxycodone 10 mg)"),
    DiaryField("notes", TEXT, "the patient's notes", max_length=5000),
)
FIELD: dict[str, DiaryField] = {f.name: f for f in DIARY_FIELDS}
NOTES_MAX: int = FIELD["notes"].max_length  # type: ignore[assignment]  # characters of an entry's notes


def _names(*kinds: str) -> tuple[str, ...]:
    return tuple(f.name for f in DIARY_FIELDS if f.kind in kinds)


SCALES = _names(SCALE)
DIARY_MEASURES = _names(SCALE, DOSE, PRESSURE)  # the numbers a diary entry keeps in its own columns
SIDE_EFFECTS = _names(GRADE)  # kept as one row per effect (``models.SideEffect``)
DIARY_TEXTS = _names(TEXT)
BLOOD_PRESSURE = _names(PRESSURE)
RANGES: dict[str, tuple[float, float]] = {f.name: (f.low, f.high) for f in DIARY_FIELDS if f.numeric}  # type: ignore[misc]
LOINC: dict[str, str] = {f.name: f.loinc for f in DIARY_FIELDS if f.loinc}


# --- dates -------------------------------------------------------------------------------------

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
