"""The whole demo clinic as parsed files, before anything touches a database."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import numpy as np

from dashboard.demo.diary import plan_days, write_day
from dashboard.demo.features import FEATURES, comedications
from dashboard.demo.stories import STORIES, Story
from dashboard.demo.timeline import Timeline, build_timeline
from dashboard.ingest.records import DiaryRecord, MeasureRecord, ParsedFile, PatientRecord
from dashboard.measures import LABS, LOINC


def patient_diary(story: Story, timeline: Timeline, rng: np.random.Generator) -> list[DiaryRecord]:
    days = plan_days(story, timeline, rng)
    for name, anchor in story.features.items():
        FEATURES[name](days, timeline, anchor, rng)
    records = [record for day in days for record in write_day(story, day, rng)]
    for row, record in enumerate(records, start=2):
        record.row = row
    return records


def _raw(seed: int, today: date, ref: str, part: str) -> bytes:
    """What an import record keeps as the 'original': an honest account of where the data came from."""
    return f"demo clinic generator seed={seed} today={today.isoformat()} patient={ref} part={part}".encode()


def patient_files(story: Story, index: int, seed: int, today: date) -> list[tuple[ParsedFile, bytes]]:
    """One patient's diary, titration steps, visits and medication list, each as its own file."""
    # A generator per patient: changing one story never changes another's data.
    rng = np.random.default_rng([seed, index])
    timeline = build_timeline(story, today, rng)
    patient = PatientRecord(ref=story.ref, name=story.name, birth_year=story.birth_year, condition=story.condition)
    parts = {
        "diary": ParsedFile(f"{story.ref} diary (demo)", "demo-diary", patients=[patient],
                            diary=patient_diary(story, timeline, rng)),
        "titration": ParsedFile(f"{story.ref} titration (demo)", "demo-titration", steps=timeline.steps),
        "visits": ParsedFile(f"{story.ref} visits (demo)", "demo-visits",
                             visits=timeline.visits + timeline.bookings),
        "medications": ParsedFile(f"{story.ref} medications (demo)", "demo-medications",
                                  comedications=comedications(story, timeline)),
        "labs": ParsedFile(f"{story.ref} laboratory results (demo)", "demo-labs", measures=lab_results(story, timeline)),
    }
    return [(parsed, _raw(seed, today, story.ref, part)) for part, parsed in parts.items()
            if parsed.diary or parsed.steps or parsed.visits or parsed.comedications or parsed.measures]


def lab_results(story: Story, timeline: Timeline) -> list[MeasureRecord]:
    """The story's laboratory results, each in the morning of its day, as a laboratory reports them."""
    out = []
    for row, (visit, after, code, value, high, text) in enumerate(story.labs, start=2):
        on = timeline.visit_date(visit if visit >= 0 else len(timeline.visits) - 1) + timedelta(days=after)
        lab = LABS[code]
        out.append(MeasureRecord(patient_ref=story.ref, system=LOINC, code=code,
                                 recorded_at=datetime.combine(min(on, timeline.end), time(8, 30)), row=row,
                                 name=lab.name, instrument=lab.instrument, value=value, answer_text=text,
                                 unit=lab.unit if lab.unit else ("mg/dL" if code == "1975-2" else None),
                                 reference_high=high, source="demo"))
    return out


def generate_clinic(seed: int = 7, today: date | None = None) -> list[tuple[ParsedFile, bytes]]:
    """Every demo file with its 'original' bytes; the same seed and today give the same clinic."""
    today = today or date.today()
    return [f for index, story in enumerate(STORIES) for f in patient_files(story, index, seed, today)]
