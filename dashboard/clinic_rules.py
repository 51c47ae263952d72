"""What a titration step or a visit may say: one set of rules that the clinic-records importer
(``dashboard.ingest.clinic_records``) and the review page's forms (``dashboard.db.clinic_records``)
both call, so a step refused from a file is refused from a form, with the same words.

Spelling is normalised to one canonical word per meaning, so analysis compares like with like
(import-formats.md section 5):

- frequency: ``daily`` (also once daily, once a day, every day, qd), ``twice daily`` (twice a
  day, two/2 times daily, bid), ``every other day`` (alternate days, qod), ``N per week`` with
  N 1-14 (also ``N times per week``, ``Nx/week``, ``N a week``), ``as needed`` (prn). An as-needed
  step needs its maximum per day: given apart, or written ``as needed max 2 per day``.
- route: ``troche`` (buccal, sublingual, lozenge), ``IV`` (intravenous), ``IM`` (intramuscular),
  ``intranasal`` (nasal).
- visit kind: ``in person`` (in-person, office), ``telehealth`` (telemedicine, video, phone),
  ``infusion`` (an in-clinic IV/IM session, whose dose is an IV or IM step on that day).

Dates follow ``dashboard.fields.PLAN``. Troche steps of one patient never overlap: a step without
an end date runs until the next one starts; what else the stored steps allow (overlaps, the
clinic's maximum daily dose, a more than doubled dose, gaps) is ``dashboard.prescription_checks``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard import fields

MAX_DOSES_PER_DAY = 24.0
# The largest single dose a record may carry, per route: a guard against a slipped digit
# (500 for 50), never a prescribing limit. Troche and IV keep the importer's (``fields.DOSE_MAX_MG``); an IM
# injection (0.5-1 mg/kg sub-anaesthetic) and an intranasal dose (tens of mg) stay far below
# the limits set here (Cohen et al., ASRA/AAPM/ASA consensus guidelines on IV ketamine for
# chronic pain, Reg Anesth Pain Med 2018;43:521-546).
DOSE_MAX_MG = {"troche": fields.DOSE_MAX_MG, "IV": fields.DOSE_MAX_MG, "IM": 500.0, "intranasal": 200.0}
_WORDS = re.compile(r"[\s_\-]+")
FREQUENCIES = {
    "daily": "daily", "once daily": "daily", "once a day": "daily", "every day": "daily", "qd": "daily",
    "twice daily": "twice daily", "twice a day": "twice daily", "two times daily": "twice daily",
    "2 times daily": "twice daily", "2x daily": "twice daily", "bid": "twice daily",
    "every other day": "every other day", "alternate days": "every other day", "qod": "every other day",
    "as needed": "as needed", "prn": "as needed",
}
# What a form offers, in the order a clinician reads them.
FREQUENCY_CHOICES = ("daily", "twice daily", "every other day", "as needed",
                     *(f"{n} per week" for n in range(1, 15)))
_PER_WEEK = re.compile(r"([0-9]+) ?(?:x|times)? ?(?:per|a|/) ?week", re.ASCII)
_AS_NEEDED_MAX = re.compile(
    r"(?:as needed|prn),? \(?max(?:imum)?\.? ?([0-9]+(?:[.,][0-9]+)?) ?(?:x|times|doses?)? ?(?:per|a|/) ?day\)?",
    re.ASCII,
)
ROUTES = {
    "troche": "troche", "troches": "troche", "buccal": "troche", "sublingual": "troche", "lozenge": "troche",
    "buccal troche": "troche", "sublingual troche": "troche",
    "iv": "IV", "intravenous": "IV", "im": "IM", "intramuscular": "IM",
    "intranasal": "intranasal", "nasal": "intranasal", "nasal spray": "intranasal",
}
ROUTE_CHOICES = ("troche", "IV", "IM", "intranasal")
VISIT_KINDS = {
    "in person": "in person", "inperson": "in person", "office": "in person", "office visit": "in person",
    "telehealth": "telehealth", "telemedicine": "telehealth", "video": "telehealth", "phone": "telehealth",
    "infusion": "infusion",
}
VISIT_KIND_CHOICES = ("in person", "telehealth", "infusion")
INFUSION_ROUTES = ("IV", "IM")
HOME_ROUTE = "troche"


@dataclass(frozen=True)
class Problem:
    """One refused value: which field, what was given, and why."""

    field: str
    value: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field} ({self.value!r}): {self.reason}"


def words(text: str) -> str:
    return _WORDS.sub(" ", str(text).strip().lower()).rstrip(".")


def frequency(text: str) -> tuple[str, float | None]:
    """(canonical frequency, maximum doses a day if written in it); ValueError with the reason."""
    said = words(text)
    if said in FREQUENCIES:
        return FREQUENCIES[said], None
    per_week = _PER_WEEK.fullmatch(said)
    if per_week:
        count = int(per_week.group(1))
        if not 1 <= count <= 14:
            raise ValueError(f"{str(text).strip()!r}: a weekly frequency is 1 to 14 per week")
        return f"{count} per week", None
    as_needed = _AS_NEEDED_MAX.fullmatch(said)
    if as_needed:
        return "as needed", doses_per_day(float(as_needed.group(1).replace(",", ".")))
    raise ValueError(
        f"{str(text).strip()!r} is not a frequency: use daily, twice daily, every other day, "
        "N per week (N 1-14) or as needed (with a maximum per day)"
    )


def doses_per_day(value: float) -> float:
    if not 1 <= value <= MAX_DOSES_PER_DAY:
        raise ValueError(f"the maximum per day is a number of doses from 1 to {MAX_DOSES_PER_DAY:g}")
    return value


def route(text: str) -> str:
    said = words(text)
    if said not in ROUTES:
        raise ValueError(f"{str(text).strip()!r} is not a route: use troche (buccal or sublingual), IV, IM or "
                         "intranasal")
    return ROUTES[said]


def dose(value: float, route_name: str | None = None) -> float:
    """A dose in mg above 0 and at most the route's limit (the largest limit when the route is unknown)."""
    top = DOSE_MAX_MG.get(route_name or "", max(DOSE_MAX_MG.values()))
    if not (value == value and 0 < value <= top):  # value == value: not NaN
        where = f" by the {route_name} route" if route_name in DOSE_MAX_MG else ""
        raise ValueError(f"the dose must be a number of mg above 0 and at most {top:g}{where}")
    return float(value)


def plan_date(day: date, today: date | None = None) -> date:
    """A date within :data:`dashboard.fields.PLAN` (1900 to five years ahead)."""
    problem = fields.PLAN.problem(day, today)
    if problem:
        raise ValueError(problem)
    return day


def visit_kind(text: str) -> str:
    kind = VISIT_KINDS.get(words(text))
    if kind is None:
        raise ValueError(f"{str(text).strip()!r} is not a visit kind: use in person, telehealth or infusion")
    return kind


def step_problems(*, start: date, end: date | None, frequency_name: str, written_max: float | None,
                  max_per_day: float | None) -> tuple[float | None, list[Problem]]:
    """The rules between a step's fields (each already valid on its own): the maximum per day
    written in the frequency and given apart agree, an as-needed step has one, and the step
    ends on or after it starts. Returns the maximum per day to store and the problems."""
    problems = []
    if written_max is not None and max_per_day is not None and written_max != max_per_day:
        problems.append(Problem("max_per_day", f"{max_per_day:g}",
                                f"differs from the maximum written in the frequency ({frequency_name!r})"))
    kept = max_per_day if max_per_day is not None else written_max
    if frequency_name == "as needed" and kept is None:
        problems.append(Problem("frequency", frequency_name, "an as-needed step needs a maximum per day: fill "
                                "max_per_day or write 'as needed max 2 per day'"))
    if end is not None and end < start:
        problems.append(Problem("end_date", end.isoformat(), f"the end date is before the start date ({start})"))
    return kept, problems


# --- a step's daily dose --------------------------------------------------------------------------
# One rule for analysis (``dashboard.analysis.adherence`` re-exports it) and the prescription checks
# (``dashboard.prescription_checks``). It reads spellings leniently, as stored steps may hold them.

@dataclass(frozen=True)
class Schedule:
    """A frequency read as numbers: expected doses a day (None: no count) and the maximum per window."""

    doses_per_day: float | None
    window_days: int
    max_doses: float | None


_SCHEDULES = {
    "daily": Schedule(1.0, 1, 1.0), "once daily": Schedule(1.0, 1, 1.0), "once a day": Schedule(1.0, 1, 1.0),
    "twice daily": Schedule(2.0, 1, 2.0), "twice a day": Schedule(2.0, 1, 2.0),
    # Every other day allows 4 doses in any 7 days: ceil(7 / 2), days 1, 3, 5 and 7.
    "every other day": Schedule(0.5, 7, 4.0), "alternate days": Schedule(0.5, 7, 4.0),
}
_SCHEDULE_PER_WEEK = re.compile(r"^(\d+)\s*(?:x|times)?\s*(?:per|a|/)\s*week$")
_AS_NEEDED_WORDS = ("as needed", "prn")


def schedule(frequency: str | None, max_per_day: float | None = None) -> Schedule | None:
    """The schedule of a titration frequency (import-formats.md section 5), None if unrecognised.

    'as needed' has no expected count; its maximum is ``max_per_day`` doses a day.
    """
    text = " ".join(str(frequency or "").lower().split())
    if text in _SCHEDULES:
        return _SCHEDULES[text]
    if match := _SCHEDULE_PER_WEEK.match(text):
        per_week = float(match.group(1))
        return Schedule(per_week / 7, 7, per_week)
    if text in _AS_NEEDED_WORDS:
        has_max = max_per_day is not None and not pd.isna(max_per_day)
        return Schedule(None, 1, float(max_per_day) if has_max else None)
    return None


def daily_dose(dose_mg: float | None, frequency: str | None, max_per_day: float | None = None) -> float | None:
    """mg per day of a step (review-metrics.md v2, "Doses"): what labels, comparisons and the
    lowest effective dose use, because 25 mg twice daily is more than 40 mg daily.

    dose x 1 (daily), x 2 (twice daily), x 0.5 (every other day), x N / 7 (N per week),
    x the maximum per day (as needed); None when the frequency gives no daily amount.
    """
    if dose_mg is None or pd.isna(dose_mg):
        return None
    sched = schedule(frequency, max_per_day)
    if sched is None:
        return None
    per_day = sched.doses_per_day if sched.doses_per_day is not None else sched.max_doses
    return None if per_day is None else float(dose_mg) * per_day
