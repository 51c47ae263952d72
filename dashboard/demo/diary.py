"""From a story's calendar to diary entries: plan each day, let the story's features act, write entries.

A day's pain is the baseline less the relief the dose has built up so far, plus the weekday
pattern, flares and noise. Ketamine's analgesia builds over 2-4 weeks of consistent dosing
(Cohen et al. 2018, Reg Anesth Pain Med 43:521), so relief approaches each dose's level
with a time constant of about a week rather than jumping on the day of the step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, time

import numpy as np

from dashboard.demo.stories import Story
from dashboard.demo.timeline import ActiveStep, Timeline
from dashboard.ingest.records import DiaryRecord

ONSET_TAU_DAYS = 8.0  # ~85 % of a step's relief after 2 weeks, ~97 % after 4
INFUSION_TAU_DAYS = 14.0  # an infusion's extra relief wears off over a few weeks
# Worse on Mondays and Tuesdays after an active weekend, a little better on Saturdays.
WEEKDAY_PAIN = (0.7, 0.3, 0.0, 0.0, -0.1, -0.3, 0.1)
SLOT_WINDOWS = {"morning": ((6, 30), (9, 45)), "midday": ((12, 0), (15, 30)), "evening": ((18, 30), (22, 45))}
SLOT_PAIN = {"morning": -0.2, "midday": 0.0, "evening": 0.3}
MISSED_DOSE = 0.04
# Kept low (was 0.05): adherence counts a day without a written dose as none taken (review-metrics.md
# v3), so a patient who forgets to write one dose in twenty would read as a low-adherence story.
DOSE_NOT_WRITTEN = 0.01
EFFECTS_RECORDED = 0.8

FLARE_NOTES = (
    "bad flare after gardening", "flare after a long day at work", "weather turned cold, everything aches",
    "overdid it at the weekend, paying for it now", "flare after the car journey to my mum's",
)
GOOD_NOTES = (
    "slept better", "good day, walked to the shops and back", "pain more in the background today",
    "managed a short swim", "first morning in ages without waking from pain",
)
EFFECT_NOTES = (
    "felt floaty 30 min after troche", "bit dizzy after the troche, sat down for a while",
    "foggy this afternoon, lost my train of thought at work", "a little queasy after the dose",
)


@dataclass
class Day:
    """What happens on one diary day, before it is written down as 0-3 entries."""

    date: date
    step: ActiveStep | None
    pain: float
    slots: list[str]
    doses: list[float] = field(default_factory=list)  # doses as written, in order (0 = skipped)
    effects: dict[str, float] = field(default_factory=dict)  # expected severity per effect
    effects_recorded: bool = False
    forced_effects: dict[str, int] = field(default_factory=dict)
    mood_cap: float | None = None
    bp: tuple[int, int] | None = None
    notes: list[str] = field(default_factory=list)
    medication: list[str] = field(default_factory=list)
    offset: int | None = None
    late_note: str | None = None  # one more entry at 23:30, with this note
    flare_start: bool = False

    def ensure_entries(self, n: int = 1) -> None:
        """A feature needs this day written down (a story's key day is never a missing day)."""
        for slot in ("evening", "morning", "midday"):
            if len(self.slots) >= n:
                break
            if slot not in self.slots:
                self.slots.append(slot)
        self.slots.sort(key=list(SLOT_WINDOWS).index)


def relief_curve(story: Story, timeline: Timeline) -> list[float]:
    keep, fade = math.exp(-1 / ONSET_TAU_DAYS), math.exp(-1 / INFUSION_TAU_DAYS)
    relief, boost, target, out = 0.0, 0.0, 0.0, []
    for active in timeline.daily:
        if active is None:
            target = 0.0
        elif active.route == "troche":
            target = story.relief_at(active.dose * active.per_day)
        else:  # an infusion day: the troche relief carries on, the infusion adds a boost that fades
            boost += story.infusion_boost
        relief = target + (relief - target) * keep
        out.append(min(relief + boost, 0.85))
        boost *= fade
    return out


def _flares(n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    extra, starts = np.zeros(n), np.zeros(n, dtype=bool)
    i = 0
    while i < n:
        if rng.random() < 0.03:
            length = int(rng.integers(1, 4))
            extra[i: i + length] = rng.uniform(1.5, 3.0)
            starts[i] = True
            i += length
        i += 1
    return extra, starts


def _slots(story: Story, rng: np.random.Generator) -> list[str]:
    if rng.random() < story.missing:
        return []
    n = int(rng.choice(3, p=story.slots)) + 1
    if n == 1:
        return ["evening"] if rng.random() < 0.7 else ["morning"]
    return ["morning", "evening"] if n == 2 else ["morning", "midday", "evening"]


def _doses(active: ActiveStep | None, rng: np.random.Generator) -> tuple[list[float], bool]:
    """Troche doses as the patient writes them; returns (doses, missed)."""
    if active is None or active.route != "troche":
        return [], False
    if rng.random() < MISSED_DOSE:
        return ([0.0] if rng.random() < 0.5 else []), True
    if rng.random() < DOSE_NOT_WRITTEN:
        return [], False
    return [active.dose] * active.per_day, False


def _expected_effects(story: Story, active: ActiveStep | None) -> dict[str, float]:
    if active is None:
        return {e: 0.0 for e in story.effects}
    if active.route != "troche":  # the infusion's dissociation is felt in clinic, an echo by evening
        return {e: (1.2 if e == "dissociation" else 0.0) for e in story.effects}
    scale = (active.dose * active.per_day / 100) ** 2
    return {e: story.effect_load.get(e, 0.0) * scale for e in story.effects}


def plan_days(story: Story, timeline: Timeline, rng: np.random.Generator) -> list[Day]:
    relief = relief_curve(story, timeline)
    flare, flare_start = _flares(len(relief), rng)
    days: list[Day] = []
    for i, on in enumerate(timeline.days):
        active = timeline.daily[i]
        pain = story.baseline_pain * (1 - relief[i]) + WEEKDAY_PAIN[on.weekday()] + flare[i] + rng.normal(0, 0.6)
        doses, missed = _doses(active, rng)
        day = Day(date=on, step=active, pain=pain, slots=_slots(story, rng), doses=doses,
                  effects=_expected_effects(story, active), effects_recorded=rng.random() < EFFECTS_RECORDED,
                  offset=story.offset_minutes, flare_start=bool(flare_start[i]))
        if story.bp_readings and rng.random() < story.bp_readings:
            day.bp = (int(np.clip(rng.normal(127, 8), 100, 150)), int(np.clip(rng.normal(80, 6), 60, 94)))
        _daily_note(day, story, missed, rng)
        days.append(day)
    days[0].ensure_entries()
    days[-1].ensure_entries()
    return days


def _daily_note(day: Day, story: Story, missed: bool, rng: np.random.Generator) -> None:
    r = rng.random()
    if day.flare_start and r < 0.7:
        day.notes.append(str(rng.choice(FLARE_NOTES)))
    elif missed and r < 0.6:
        day.notes.append("forgot my troche this morning")
    elif max(day.effects.values(), default=0) >= 0.8 and r < 0.25:
        day.notes.append(str(rng.choice(EFFECT_NOTES)))
    elif day.pain < 0.6 * story.baseline_pain and r < 0.08:
        day.notes.append(str(rng.choice(GOOD_NOTES)))
    if story.other_medication and day.pain >= story.baseline_pain + 1.0 and rng.random() < 0.5:
        day.medication.append(story.other_medication)


def _rate(value: float, precision: float) -> float:
    """A rating as the patient gives it: on their scale's steps, 0-10, one decimal at most."""
    return round(min(10.0, max(0.0, round(value / precision) * precision)), 1)


def _at(day: date, slot: str, rng: np.random.Generator) -> datetime:
    (h0, m0), (h1, m1) = SLOT_WINDOWS[slot]
    minute = int(rng.integers(h0 * 60 + m0, h1 * 60 + m1 + 1))
    return datetime.combine(day, time(minute // 60, minute % 60))


def _spread(items: list, n: int) -> list[list]:
    """First item with the first entry, the rest with the last (a morning troche, an evening one)."""
    out: list[list] = [[] for _ in range(n)]
    for k, item in enumerate(items):
        out[0 if k == 0 else n - 1].append(item)
    return out


def _medication_text(taken: list[str]) -> str:
    """"oxycodone 10 mg x2" for the same tablet twice, as a patient would write it."""
    counted = {name: taken.count(name) for name in dict.fromkeys(taken)}
    return "; ".join(name if n == 1 else f"{name} x{n}" for name, n in counted.items())


def write_day(story: Story, day: Day, rng: np.random.Generator) -> list[DiaryRecord]:
    n = len(day.slots)
    if n == 0:
        return []
    doses, meds = _spread(day.doses, n), _spread(day.medication, n)
    records = []
    for k, slot in enumerate(day.slots):
        pain = day.pain + SLOT_PAIN[slot] + rng.normal(0, 0.35)
        m: dict[str, float | str] = {"pain": _rate(pain, story.precision)}
        if doses[k]:
            m["dose_mg"] = float(sum(doses[k]))
        if meds[k]:
            m["other_medication"] = _medication_text(meds[k])
        effects: dict[str, int] = {}
        if k == 0:
            m["sleep"] = _rate(7.0 - 0.4 * (day.pain - 4) + rng.normal(0, 0.8), story.precision)
            if day.bp:
                m["bp_systolic"], m["bp_diastolic"] = float(day.bp[0]), float(day.bp[1])
        if k == n - 1:
            m.update(_evening_measures(story, day, pain, rng))
            effects = _severities(story, day, rng)
            if day.notes:
                m["notes"] = "\n".join(day.notes)
        records.append(DiaryRecord(patient_ref=story.ref, recorded_at=_at(day.date, slot, rng), row=0,
                                   utc_offset_minutes=day.offset, measures=m, side_effects=effects))
    if day.late_note:
        late = {"pain": _rate(day.pain + 1.5, story.precision), "notes": day.late_note}
        records.append(DiaryRecord(patient_ref=story.ref, recorded_at=datetime.combine(day.date, time(23, 30)),
                                   row=0, utc_offset_minutes=day.offset, measures=late))
    return records


def _evening_measures(story: Story, day: Day, pain: float, rng: np.random.Generator) -> dict[str, float]:
    mood = 7.2 - 0.45 * (day.pain - 4) + rng.normal(0, 0.6)
    # Outside a story's low-mood run, mood stays above the flag's threshold (mood <= 2).
    mood = rng.uniform(1.0, day.mood_cap) if day.mood_cap is not None else max(mood, 2.6)
    m = {"mood": _rate(mood, story.precision),
         "function": _rate(7.5 - 0.6 * (day.pain - 4) + rng.normal(0, 0.6), story.precision)}
    if day.mood_cap is not None:
        m["mood"] = min(m["mood"], day.mood_cap)
    if story.records_worst:
        m["pain_worst"] = _rate(pain + rng.uniform(0.8, 2.5), story.precision)
    if story.peg and day.date.weekday() == 6:
        m["enjoyment_interference"] = _rate(0.9 * pain + rng.normal(0, 0.7), 1.0)
        m["activity_interference"] = _rate(pain + rng.normal(0, 0.7), 1.0)
    return m


def _severities(story: Story, day: Day, rng: np.random.Generator) -> dict[str, int]:
    """Every tracked effect, 0 included ("none"), on days the patient filled in the side effects."""
    if not (day.effects_recorded or day.forced_effects):
        return {}
    out = {}
    for effect, expected in day.effects.items():
        cap = story.effect_cap.get(effect, 2)
        out[effect] = int(np.clip(round(expected + rng.normal(0, 0.4)), 0, cap)) if expected > 0 else 0
    out.update(day.forced_effects)
    return out
