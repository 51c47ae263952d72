"""Prescription checks, as an electronic health record's dose-range checking does them: one pure
function over a patient's stored titration steps and the new (or changed) steps, called by the
review page's step form and by accepting a proposed step (``dashboard.db.clinic_records``) and by
the import of clinic records (``dashboard.ingest.writer``), so the three say the same thing.

Troche steps only: they are the home titration the clinic's maximum speaks of. IV and IM steps are
in-clinic sessions dosed by weight, and have only the per-administration limit of
``dashboard.clinic_rules``.

1. **Above the maximum**: a daily dose above the clinic's ``max_daily_dose_mg`` (a *setting*,
   default 300 mg/day, the top of the refractory range: common maintenance doses 50-150 mg/day,
   150-300 mg/day or more for refractory pain; oral and sublingual doses vary widely, Blonk et al.
   2010, Eur J Pain 14:466-472; ASRA/AAPM/ASA consensus, Cohen et al. 2018, Reg Anesth Pain Med
   43:521-546) needs an explicit confirmation with a reason. Exactly the maximum passes.
2. **More than doubled**: a daily dose above twice the previous troche step's needs the same
   confirmation; exactly twice passes. Ketamine is titrated in small steps towards the lowest
   effective dose (Cohen et al. 2018); a larger jump is more often a slipped digit or a wrong
   unit than a plan.
3. **Overlap**: a step whose days fall within another troche step's is refused, with both steps
   named, unless the user chooses to end the existing step the day before the new one starts
   (possible only for a step that started earlier). A step without an end date runs until the next
   starts, so a new open-ended step after the latest one is the next step, not an overlap; but a
   step with an end date inside the latest step's days (a back-dated episode, say) would end the
   current prescription without saying so, and is an overlap.
4. **Gap**: days the change leaves without a troche step (between two steps, or days that had a
   step before the change) are said before saving: a warning, never a refusal.

A confirmation the stored steps already carry is not asked again: only what the change makes new
(a step whose numbers change, or the next step's rise when a step is inserted before it) counts.
Daily doses are ``clinic_rules.daily_dose``, the analysis's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

from dashboard import clinic_rules as rules

DOUBLING = 2.0
# Floating-point products of decimal doses (12.5 x 3 / 7 ...) must not tip a comparison.
TOLERANCE = 1e-9
ABOVE_MAXIMUM = "above_maximum"
MORE_THAN_DOUBLED = "more_than_doubled"
CONFIRM_NEEDS_REASON = "needs a confirmation with a reason"


@dataclass(frozen=True)
class NewStep:
    """A step to be written: a form's, a file row's or a proposed step's (already valid on its own,
    in canonical words). ``step_id``: the stored step it changes or accepts."""

    start: date
    dose_mg: float
    frequency: str
    route: str
    end: date | None = None
    max_per_day: float | None = None
    step_id: int | None = None


@dataclass(frozen=True)
class _Step:
    key: object  # a stored step's id, or ("new", index)
    start: date
    end: date | None
    dose_mg: float
    frequency: str
    max_per_day: float | None

    @property
    def daily(self) -> float | None:
        return rules.daily_dose(self.dose_mg, self.frequency, self.max_per_day)


@dataclass(frozen=True)
class Finding:
    """A rule the change breaks that a confirmation with a reason may pass: which, the numbers, in words."""

    check: str  # ABOVE_MAXIMUM or MORE_THAN_DOUBLED
    new_index: int  # which new step caused it
    daily_dose_mg: float
    limit_mg: float  # the maximum, or twice the previous step's daily dose
    previous_daily_dose_mg: float | None
    words: str

    def audit(self) -> dict:
        return {"check": self.check, "daily_dose_mg": self.daily_dose_mg, "limit_mg": self.limit_mg,
                "previous_daily_dose_mg": self.previous_daily_dose_mg, "words": self.words}


@dataclass(frozen=True)
class Ending:
    """Ending an existing step the day before a new one starts, in words."""

    step_id: int
    old_end: date | None
    end: date
    words: str  # "ends 125 mg daily (from 01 Aug 2026) on 14 Aug 2026"

    def audit(self) -> dict:
        return {"titration_step": self.step_id, "old_end": self.old_end, "new_end": self.end, "words": self.words}


@dataclass(frozen=True)
class Overlap:
    new_index: int
    field: str  # the new step's field that makes it overlap: start_date or end_date
    words: str  # both steps named
    ending: Ending | None  # how ending the existing step resolves it; None: it cannot


@dataclass(frozen=True)
class Result:
    findings: tuple[Finding, ...] = ()
    overlaps: tuple[Overlap, ...] = ()
    gaps: tuple[str, ...] = ()  # warnings, with the existing steps ended where that resolves an overlap

    @property
    def needs_confirmation(self) -> bool:
        return bool(self.findings)

    @property
    def endable(self) -> bool:
        """Whether every overlap is resolved by ending an existing step (the form's choice)."""
        return bool(self.overlaps) and all(o.ending is not None for o in self.overlaps)

    def endings(self) -> list[Ending]:
        return [o.ending for o in self.overlaps if o.ending is not None]

    def refusals(self, *, end_existing: bool = False, reason: str | None = None) -> list[tuple[int, str, str]]:
        """(new step's index, field, why) of each rule still broken with the user's choices: an
        overlap not resolved by ending the existing step, a finding without a reason. Empty: it may be saved."""
        out = []
        for o in self.overlaps:
            if o.ending is None or not end_existing:
                hint = (f"; or choose to end the existing step the day before ({o.ending.words})"
                        if o.ending is not None else "")
                out.append((o.new_index, o.field, o.words + hint))
        if not (reason or "").strip():
            out += [(f.new_index, "dose_mg", f"{f.words}: {CONFIRM_NEEDS_REASON}") for f in self.findings]
        return out

    def audit(self, *, end_existing: bool = False, reason: str | None = None) -> dict:
        """What the audit row keeps of the checks: the confirmations with their numbers and reason,
        the steps ended, the gaps said. Empty when nothing was checked out of the ordinary."""
        out: dict = {}
        if self.findings:
            out["confirmed"] = {"reason": (reason or "").strip(), "checks": [f.audit() for f in self.findings]}
        if end_existing and self.endings():
            out["ended"] = [e.audit() for e in self.endings()]
        if self.gaps:
            out["gaps"] = list(self.gaps)
        return out


def describe(dose_mg: float, frequency: str, max_per_day: float | None, start: date, end: date | None) -> str:
    """A step in words: "125 mg daily from 01 Aug 2026", "... to 01 Sep 2026"."""
    most = f" (at most {max_per_day:g} a day)" if frequency == "as needed" and max_per_day else ""
    until = f" to {end:%d %b %Y}" if end is not None else ""
    return f"{dose_mg:g} mg {frequency}{most} from {start:%d %b %Y}{until}"


def _schedule(step: _Step) -> str:
    most = f" (at most {step.max_per_day:g} a day)" if step.frequency == "as needed" and step.max_per_day else ""
    return f"{step.dose_mg:g} mg {step.frequency}{most}"


def _words(step: _Step) -> str:
    return describe(step.dose_mg, step.frequency, step.max_per_day, step.start, step.end)


def _per_day(value: float) -> str:
    return f"{round(value, 2):g} mg/day"


def _date(value) -> date | None:
    if value is None or (not isinstance(value, str) and pd.isna(value)):  # NaT is a datetime
        return None
    return pd.Timestamp(value).date()


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _stored_troche_steps(steps: pd.DataFrame) -> list[_Step]:
    """The active troche steps of a ``queries.titration_frame``."""
    if steps.empty:
        return []
    troche = steps[(steps["status"] == "active")
                   & (steps["route"].map(lambda r: rules.ROUTES.get(rules.words(r), r)) == rules.HOME_ROUTE)]
    return [_Step(int(s.step_id), _date(s.start_date), _date(s.end_date), float(s.dose_mg), str(s.frequency),
                  _number(s.max_per_day)) for s in troche.itertuples()]


def check(stored: pd.DataFrame, new: list[NewStep], *, maximum_mg: float, today: date) -> Result:
    """The prescription checks of writing ``new`` beside the ``stored`` steps (a ``titration_frame``:
    every step of the patient; the proposed ones are ignored). Pure: nothing is read or written."""
    troche_new = [(i, n) for i, n in enumerate(new) if rules.ROUTES.get(rules.words(n.route), n.route) == rules.HOME_ROUTE]
    replaced = {n.step_id for _, n in troche_new if n.step_id is not None}
    before = _stored_troche_steps(stored)
    others = [s for s in before if s.key not in replaced]
    mine = [_Step(("new", i) if n.step_id is None else n.step_id, n.start, n.end, n.dose_mg, n.frequency,
                  n.max_per_day) for i, n in troche_new]
    index_of = {step.key: i for step, (i, _) in zip(mine, troche_new)}
    overlaps = [o for step, (i, _) in zip(mine, troche_new) for o in _overlaps(step, i, others, before)]
    overlaps += _among_new(mine, [i for i, _ in troche_new])
    ended = {o.ending.step_id: o.ending.end for o in overlaps if o.ending is not None}
    after = [s if s.key not in ended else _Step(s.key, s.start, ended[s.key], s.dose_mg, s.frequency, s.max_per_day)
             for s in others] + mine
    findings = _new_findings(before, after, index_of, maximum_mg)
    resolvable = all(o.ending is not None for o in overlaps)
    gaps = _gap_words(before, after, today) if resolvable else ()
    return Result(tuple(findings), tuple(overlaps), tuple(gaps))


# --- overlaps -----------------------------------------------------------------------------------

def _runs_until(step: _Step, steps: list[_Step]) -> date | None:
    """The last day of ``step`` among ``steps``: its end date or the day before the next starts
    (whichever is first); None when it runs on."""
    later = [s.start for s in steps if s.start > step.start]
    bound = min(later) - timedelta(days=1) if later else None
    if step.end is None:
        return bound
    return step.end if bound is None else min(step.end, bound)


def _overlaps(new: _Step, index: int, others: list[_Step], stored: list[_Step]) -> list[Overlap]:
    """``others``: the stored steps the new one sits beside; ``stored``: all stored steps, the one it
    changes included, which bound how long each other step runs."""
    found = []
    for other in sorted(others, key=lambda s: s.start):
        if other.start == new.start:
            found.append(Overlap(index, "start_date", _clash(new, other, "both start that day"), None))
        elif other.start < new.start:
            runs_until = _runs_until(other, stored)
            is_next_step = runs_until is None and other.end is None and new.end is None
            if (runs_until is None or runs_until >= new.start) and not is_next_step:
                end = new.start - timedelta(days=1)
                words = f"ends {_schedule(other)} (from {other.start:%d %b %Y}) on {end:%d %b %Y}"
                ending = Ending(int(other.key), other.end, end, words) if isinstance(other.key, int) else None
                found.append(Overlap(index, "start_date", _clash(new, other, "it starts within that step's days"), ending))
        elif new.end is not None and new.end >= other.start:
            found.append(Overlap(index, "end_date", _clash(new, other, "it ends on or after that step's start"), None))
    return found


def _clash(new: _Step, other: _Step, how: str) -> str:
    return (f"the troche step of {_words(new)} overlaps the troche step of {_words(other)} ({how}): "
            "troche steps never overlap")


def _among_new(mine: list[_Step], indexes: list[int]) -> list[Overlap]:
    """Steps written together (a file's rows) follow one another: one may not start the day another
    does, nor end on or after the next one's start."""
    found = []
    ordered = sorted(zip(mine, indexes), key=lambda pair: pair[0].start)
    for (first, _), (second, j) in zip(ordered, ordered[1:]):
        if second.start == first.start:
            found.append(Overlap(j, "start_date", _clash(second, first, "both start that day"), None))
        elif first.end is not None and first.end >= second.start:
            found.append(Overlap(j, "start_date", _clash(second, first, "it starts within that step's days"), None))
    return found


# --- confirmations ------------------------------------------------------------------------------

def _findings(steps: list[_Step], maximum_mg: float) -> list[tuple[object, str, float, float, _Step | None, _Step]]:
    """(the step's key, check, daily dose, limit, previous step, step) of every rule broken along the sequence."""
    out = []
    previous = None
    for step in sorted(steps, key=lambda s: (s.start, str(s.key))):
        daily = step.daily
        if daily is not None and daily > maximum_mg + TOLERANCE:
            out.append((step.key, ABOVE_MAXIMUM, daily, maximum_mg, None, step))
        before = None if previous is None else previous.daily
        if daily is not None and before is not None and daily > DOUBLING * before + TOLERANCE:
            out.append((step.key, MORE_THAN_DOUBLED, daily, DOUBLING * before, previous, step))
        previous = step
    return out


def _new_findings(before: list[_Step], after: list[_Step], index_of: dict, maximum_mg: float) -> list[Finding]:
    def signature(f):
        key, check_name, daily, limit, previous, _ = f
        return key, check_name, round(daily, 9), round(limit, 9), None if previous is None else previous.key

    known = {signature(f) for f in _findings(before, maximum_mg)}
    out = []
    for f in _findings(after, maximum_mg):
        if signature(f) in known:
            continue
        key, check_name, daily, limit, previous, step = f
        # A rise into a stored step is caused by the new step before it.
        cause = index_of.get(key, index_of.get(previous.key if previous is not None else None, 0))
        if check_name == ABOVE_MAXIMUM:
            words = (f"{_per_day(daily)} ({_words(step)}) is above the clinic's maximum of {_per_day(limit)}")
        else:
            words = (f"{_per_day(daily)} ({_words(step)}) is more than twice the previous troche step's "
                     f"{_per_day(previous.daily)} ({_words(previous)}), {daily / previous.daily:.3g} times as much")
        out.append(Finding(check_name, cause, daily, limit, None if previous is None else previous.daily, words))
    return out


# --- gaps ---------------------------------------------------------------------------------------

def _covered(steps: list[_Step], horizon: date) -> set[date]:
    days: set[date] = set()
    for step in steps:
        last = _runs_until(step, steps) or horizon
        days.update(step.start + timedelta(days=n) for n in range((min(last, horizon) - step.start).days + 1))
    return days


def _between(covered: set[date]) -> set[date]:
    if not covered:
        return set()
    first, last = min(covered), max(covered)
    return {first + timedelta(days=n) for n in range((last - first).days + 1)} - covered


def _gap_words(before: list[_Step], after: list[_Step], today: date) -> list[str]:
    dates = [today] + [s.start for s in before + after] + [s.end for s in before + after if s.end is not None]
    horizon = max(dates)
    was, will = _covered(before, horizon), _covered(after, horizon)
    days = sorted((was - will) | (_between(will) - _between(was)))
    out = []
    for first, last in _ranges(days):
        when = f"on {first:%d %b %Y}" if first == last else f"from {first:%d %b %Y} to {last:%d %b %Y}"
        today_words = " (today)" if last == today else ""
        out.append(f"No troche step {when}{today_words}: these days would have no prescription")
    return out


def _ranges(days: list[date]) -> list[tuple[date, date]]:
    out: list[tuple[date, date]] = []
    for day in days:
        if out and day == out[-1][1] + timedelta(days=1):
            out[-1] = (out[-1][0], day)
        else:
            out.append((day, day))
    return out
