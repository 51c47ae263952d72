"""What makes each story: the days a feature changes, anchored to one of the patient's visits.

Every feature takes the planned days, the calendar, its anchor visit and the patient's own
random generator, and changes days in place. The review page's flags should find each of
them (review-metrics.md, Flags): bladder, over_prescribed, dissociation_severe, bp_high,
low_mood, diary_gap, co_sedative, no_benefit_escalation.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

import numpy as np

from dashboard.demo.diary import Day
from dashboard.demo.stories import Story
from dashboard.demo.timeline import Timeline
from dashboard.ingest.records import CoMedicationRecord
from dashboard.medications import drug_class

# Notes that exercise plain-text rendering: markup characters and a line break, as patients type them.
PLAIN_TEXT_NOTES = (
    "pain > 8 after physio & the cold snap\nhand *really* swollen, couldn't hold the kettle",
    "took 2 troches <50 mg each> & still 8/10 by lunch\n__don't__ tell me to rest, I can't",
)


def _day(days: list[Day], timeline: Timeline, on: date) -> Day:
    return days[min(max(timeline.day_index(on), 0), len(days) - 1)]


def _between(days: list[Day], timeline: Timeline, start: date, end: date) -> list[Day]:
    lo, hi = max(timeline.day_index(start), 0), min(timeline.day_index(end), len(days))
    return days[lo:hi]


def _visit(timeline: Timeline, index: int) -> date:
    return timeline.visit_date(index)


def _next_visit(timeline: Timeline, index: int) -> date:
    return timeline.visit_date(index + 1) if index + 1 < len(timeline.visits) else timeline.end + timedelta(days=1)


def late_entry(days, timeline, anchor, rng) -> None:
    day = _day(days, timeline, _visit(timeline, anchor) + timedelta(days=9))
    day.ensure_entries()
    day.late_note = "can't sleep, hand burning like it's on fire"


def plain_text_note(days, timeline, anchor, rng) -> None:
    day = _day(days, timeline, _visit(timeline, anchor) + timedelta(days=5))
    day.ensure_entries()
    day.pain += 1.5
    day.notes = [PLAIN_TEXT_NOTES[0]]


def migraine_attacks(days, timeline, anchor, rng) -> None:
    """Chronic migraine: three attack days a week on a milder background pain, whatever the dose."""
    for week in range(0, len(days), 7):
        chunk = days[week: week + 7]
        for index in rng.choice(len(chunk), size=min(3, len(chunk)), replace=False):
            day = chunk[int(index)]
            day.pain += rng.uniform(3.0, 4.5)
            if day.slots and rng.random() < 0.12:
                day.notes.append(str(rng.choice(["migraine from 2pm, lay in the dark",
                                                 "woke with a migraine, sick and shaky"])))


def low_mood(days, timeline, anchor, rng) -> None:
    start = _visit(timeline, anchor) + timedelta(days=12)
    run = _between(days, timeline, start, start + timedelta(days=5))
    for k, day in enumerate(run):
        day.ensure_entries()
        day.mood_cap = 2.0
        day.notes = {0: ["feeling really low, nothing is working"], 2: ["didn't get out of bed today"]}.get(k, [])


def high_dose_reaction(days, timeline, anchor, rng) -> None:
    """The step started at visit ``anchor``: dissociation and nausea (from its dose) and home BP in the 160s-170s."""
    step = _between(days, timeline, _visit(timeline, anchor), _next_visit(timeline, anchor))
    notes = ("felt floaty 30 min after troche, like watching myself from outside",
             "sick after the troche, couldn't eat lunch",
             "BP 170/100 on the home monitor, called the clinic", "dizzy and detached all morning")
    for k, offset in enumerate((5, 9, 14, 20)):
        day = step[min(offset, len(step) - 1)]
        day.ensure_entries(2)
        day.bp = (int(rng.integers(162, 177)), int(rng.integers(95, 105)))
        day.effects_recorded = True
        day.notes = [notes[k]]


def bladder(days, timeline, anchor, rng) -> None:
    """Possible ketamine cystitis: urinary frequency and urgency from ~3 weeks before visit ``anchor``."""
    onset = _visit(timeline, anchor) - timedelta(days=20)
    settled = _visit(timeline, anchor) + timedelta(days=35)
    for day in _between(days, timeline, onset, timeline.end + timedelta(days=1)):
        if day.date < settled:
            day.forced_effects["bladder"] = int(rng.choice([0, 1, 2], p=[0.05, 0.6, 0.35]))
        else:  # better at the lower dose: mild now and then over the next two months, then gone
            fading = max(0.0, 0.4 * (1 - (day.date - settled).days / 60))
            day.forced_effects["bladder"] = int(rng.random() < fading)
    first = _day(days, timeline, onset + timedelta(days=2))
    first.ensure_entries()
    first.notes = ["bladder: peeing every hour or so since the weekend, some urgency"]
    for offset, note in ((6, "up 4 times in the night to pee"), (12, "stinging when I pee, drinking more water")):
        _day(days, timeline, onset + timedelta(days=offset)).notes = [note]


def extra_troche(days, timeline, anchor, rng) -> None:
    """More than prescribed: a second troche on a daily step, on seven bad days."""
    step = _between(days, timeline, _visit(timeline, anchor) + timedelta(days=10), _next_visit(timeline, anchor))
    chosen = sorted(rng.choice(len(step), size=min(7, len(step)), replace=False))
    for k, index in enumerate(chosen):
        day = step[int(index)]
        day.ensure_entries(2)
        day.doses = [day.step.dose, day.step.dose]
        day.pain += 1.5
        day.notes = [PLAIN_TEXT_NOTES[1] if k == 0 else "took a second troche, pain was unbearable"]


def travel(days, timeline, anchor, rng) -> None:
    """Two weeks abroad: the app writes the local time there with its offset."""
    leave = _visit(timeline, anchor) + timedelta(days=8)
    trip = _between(days, timeline, leave, leave + timedelta(days=14))
    for day in trip:
        day.offset = 60
    trip[0].ensure_entries()
    trip[0].notes = ["in Madrid visiting my sister, long flight, feet burning"]


def sparse(days, timeline, anchor, rng) -> None:
    """A patient who writes when they remember: two baseline entries, and weeks missing."""
    for k, day in enumerate(days[:14]):
        day.slots = ["evening"] if k in (0, 6) else []
    for fraction, length in ((0.35, 12), (0.6, 19), (0.82, 10)):
        start = int(fraction * len(days))
        for day in days[start: start + length]:
            day.slots = []
            day.notes = []


def opioid_taper(days, timeline, anchor, rng) -> None:
    """Oxycodone 20 -> 10 -> 5 mg a day, stepped down at visits ``anchor`` and ``anchor + 3``."""
    for day in days:
        daily = _oxycodone_daily(timeline, anchor, day.date)
        if day.slots and rng.random() < 0.55:
            day.medication = [f"oxycodone {daily / 2:g} mg"] * 2 if daily > 5 else ["oxycodone 5 mg"]


def _oxycodone_daily(timeline: Timeline, anchor: int, on: date) -> float:
    if on < _visit(timeline, anchor):
        return 20.0
    return 10.0 if on < _visit(timeline, anchor + 3) else 5.0


def recent_high_bp(days, timeline, anchor, rng) -> None:
    """Home BP in the 160s/100 on two of the last days of the diary, after the last visit: a safety
    flag that is new at the next visit. Fixed values (no random draw), so the rest of the story is unchanged."""
    notes = ("headache this morning, BP 168/102 on the home monitor", "BP still high, 164/100")
    for k, back in enumerate((3, 1)):
        day = _day(days, timeline, timeline.end - timedelta(days=back))
        day.ensure_entries()
        day.bp = (168 - 4 * k, 102 - 2 * k)
        day.notes = [notes[k]]


def quiet_since_last_visit(days, timeline, anchor, rng) -> None:
    """The diary goes quiet after the last visit: from its third day on, one day in three is written
    (review-metrics.md v3: "diary too sparse to say" instead of "none reported"), and its last day
    is written, so the diary still ends where the story says. Deterministic, so the patient's
    random stream before the last visit is unchanged."""
    last = _visit(timeline, len(timeline.visits) - 1)
    quiet = _between(days, timeline, last + timedelta(days=3), timeline.end + timedelta(days=1))
    for k, day in enumerate(quiet[:-1]):
        if k % 3:
            day.slots = []
            day.notes = []
    if quiet:
        quiet[-1].ensure_entries()


FEATURES: dict[str, Callable[[list[Day], Timeline, int, np.random.Generator], None]] = {
    f.__name__: f
    for f in (late_entry, plain_text_note, migraine_attacks, low_mood, high_dose_reaction, bladder,
              extra_troche, travel, sparse, opioid_taper, recent_high_bp, quiet_since_last_visit)
}


def comedications(story: Story, timeline: Timeline) -> list[CoMedicationRecord]:
    """The clinic's medication list: the rescue medication, and the opioid taper where there is one."""
    records = []
    if story.other_medication:
        name = story.other_medication.split()[0]
        records.append(CoMedicationRecord(
            patient_ref=story.ref, name=name, start_date=timeline.start - timedelta(days=400), row=2,
            source="clinic", drug_class=drug_class(name), status="active",
            dose_text=f"{story.other_medication} as needed"))
    if "opioid_taper" in story.features:
        anchor = story.features["opioid_taper"]
        taper = ((timeline.start - timedelta(days=3 * 365), _visit(timeline, anchor), 20),
                 (_visit(timeline, anchor), _visit(timeline, anchor + 3), 10),
                 (_visit(timeline, anchor + 3), None, 5))
        for start, stop, mg in taper:
            records.append(CoMedicationRecord(
                patient_ref=story.ref, name="oxycodone", start_date=start, row=len(records) + 2, source="clinic",
                rxnorm="7804", drug_class=drug_class("oxycodone", "7804"),
                end_date=stop - timedelta(days=1) if stop else None, status="completed" if stop else "active",
                dose_text=f"{mg} mg a day" + (f" ({mg // 2} mg twice daily)" if mg > 5 else "")))
    return records
