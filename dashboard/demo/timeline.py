"""A story's calendar: diary span, visits every 4-8 weeks, and the titration steps they set."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np

from dashboard.demo.stories import Infusion, Step, Story
from dashboard.ingest.records import TitrationRecord, VisitRecord

BASELINE_DAYS = 14  # review-metrics.md: the baseline is the 14 days before the first troche step
FIRST_REVIEW_DAYS = (42, 56)  # intake to first review: the baseline plus 4-6 weeks on the first dose
VISIT_GAP_DAYS = (28, 56)  # visits every 4-8 weeks
QUIET_END_DAYS = 7  # the last visit leaves a week of diary "since last visit"
STABLE_NOTES = (
    "Diary reviewed; stable. Continue the current dose.",
    "Side effects and home BP reviewed; no change.",
    "Pain steady on the current dose; continue, diary as before.",
)


@dataclass(frozen=True)
class ActiveStep:
    dose: float
    per_day: int
    route: str
    step_index: int  # position in the patient's steps; the features use it to find "the 150 mg step"


@dataclass
class Timeline:
    start: date
    end: date
    visits: list[VisitRecord]
    steps: list[TitrationRecord]
    # The prescription on each diary day, None before the first step.
    daily: list[ActiveStep | None]
    bookings: list[VisitRecord] = field(default_factory=list)  # booked, not yet held (status 'booked')

    def visit_date(self, index: int) -> date:
        return self.visits[index].date

    def day_index(self, day: date) -> int:
        return (day - self.start).days

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.daily))]


def _visit_dates(start: date, end: date, rng: np.random.Generator) -> list[date]:
    dates = [start]
    gap = FIRST_REVIEW_DAYS
    while True:
        nxt = dates[-1] + timedelta(days=int(rng.integers(gap[0], gap[1] + 1)))
        if nxt > end - timedelta(days=QUIET_END_DAYS):
            return dates
        dates.append(nxt)
        gap = VISIT_GAP_DAYS


def _visit_note(item: Step | Infusion | None, previous: Step | None, index: int) -> str:
    if index == 0:
        return f"Intake. Baseline diary for 2 weeks, then troche {item.dose:g} mg {item.frequency}."
    if isinstance(item, Infusion):
        return f"{item.note}; troches {item.resume.dose:g} mg {item.resume.frequency} from tomorrow."
    if isinstance(item, Step):
        if item.note:
            return item.note[0].upper() + item.note[1:] + "."
        higher = previous is None or item.dose * item.per_day > previous.dose * previous.per_day
        verb = "Increase" if higher else "Change"
        return f"Diary reviewed. {verb} to {item.dose:g} mg {item.frequency}."
    return STABLE_NOTES[index % len(STABLE_NOTES)]


def build_timeline(story: Story, today: date, rng: np.random.Generator) -> Timeline:
    """Visits and steps for one story; raises if the story's plan needs more visits than its span allows."""
    end = today - timedelta(days=story.lag_days)
    start = end - timedelta(days=story.span_days - 1)
    dates = _visit_dates(start, end, rng)
    if len(dates) < len(story.plan):
        raise ValueError(f"{story.ref}: the plan needs {len(story.plan)} visits, the span allows {len(dates)}")
    steps: list[TitrationRecord] = []
    visits: list[VisitRecord] = []
    previous: Step | None = None

    def add_step(step: Step, on: date, end_date: date | None = None) -> None:
        steps.append(TitrationRecord(patient_ref=story.ref, start_date=on, dose_mg=float(step.dose),
                                     frequency=step.frequency, route=step.route, row=len(steps) + 2,
                                     end_date=end_date, note=step.note))

    for i, on in enumerate(dates):
        item = story.plan[i] if i < len(story.plan) else None
        if i == 0:
            add_step(item, on + timedelta(days=BASELINE_DAYS))
            kind = "in person"
        elif isinstance(item, Infusion):
            add_step(Step(item.dose, route="IV", note=item.note), on, end_date=on)
            add_step(item.resume, on + timedelta(days=1))
            kind = "infusion"
        else:
            if item is not None:
                add_step(item, on)
            kind = "in person" if rng.random() < 0.55 else "telehealth"
        visits.append(VisitRecord(patient_ref=story.ref, date=on, kind=kind, row=i + 2,
                                  note=_visit_note(item, previous, i)))
        if isinstance(item, (Step, Infusion)):
            previous = item if isinstance(item, Step) else item.resume
    return Timeline(start=start, end=end, visits=visits, steps=steps, daily=_daily(steps, start, end),
                    bookings=_bookings(story, today, len(visits)))


def _bookings(story: Story, today: date, held: int) -> list[VisitRecord]:
    """The next visit the clinic booked, relative to the demo's today (drawn from no random
    stream, so booking a visit never changes a story's diary)."""
    if story.booked is None:
        return []
    days, kind = story.booked
    note = "Booked; no record that it happened." if days < 0 else "Booked."
    return [VisitRecord(patient_ref=story.ref, date=today + timedelta(days=days), kind=kind, row=held + 2,
                        note=note, status="booked")]


def _daily(steps: list[TitrationRecord], start: date, end: date) -> list[ActiveStep | None]:
    """A step lasts until the next starts, or its end date (review-metrics.md, Periods)."""
    out: list[ActiveStep | None] = []
    for i in range((end - start).days + 1):
        day = start + timedelta(days=i)
        active = None
        for index, step in enumerate(steps):
            if step.start_date <= day and (step.end_date is None or day <= step.end_date):
                per_day = 2 if step.frequency == "twice daily" else 1
                active = ActiveStep(step.dose_mg, per_day, step.route, index)
            elif step.start_date > day:
                break
        out.append(active)
    return out
