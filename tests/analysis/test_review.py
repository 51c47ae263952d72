"""The review page's model: chart frames, notes, visit and treatment facts, and agreement with the summary."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from dashboard.analysis.review import build_review, treatment_days
from dashboard.analysis.review_frames import chart_daily, labelled_by_step, long_severity, patient_notes
from dashboard.analysis.visit_dates import next_visit
from dashboard.analysis.side_effects import daily_side_effect_severity, side_effects_by_step
from dashboard.analysis.summary import build_summary
from dashboard.config import Thresholds
from tests.analysis import comedications, daily_diary, day, diary, side_effects, steps, ts, visits

T = Thresholds()
NAN = float("nan")


def _same(values, expected) -> bool:
    """Lists of floats equal, NaN matching NaN."""
    return len(values) == len(expected) and all(
        (math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(map(float, values), map(float, expected)))


# --------------------------------------------------------------------------- chart_daily

@pytest.mark.parametrize(("entries", "expected_7d"), [
    # Days 1, 2, 4 and 9: the window is 7 calendar days, so day 9 reaches back to day 3 only.
    (daily_diary("2026-03-01", [2, 4, None, 6, None, None, None, None, 8]), [2.0, 3.0, 4.0, 7.0]),
    # A day with a mood but no pain has no 7-day mean of its own.
    (diary({"date": "2026-03-01", "pain": 5}, {"date": "2026-03-02", "mood": 6}, {"date": "2026-03-03", "pain": 7}),
     [5.0, NAN, 6.0]),
    # Three entries a day weigh as one day: the day's mean (5) enters the window once.
    (diary({"date": "2026-03-01", "pain": 1}, {"date": "2026-03-02", "pain": 3, "at": "2026-03-02T08:00"},
           {"date": "2026-03-02", "pain": 5, "at": "2026-03-02T12:00"},
           {"date": "2026-03-02", "pain": 7, "at": "2026-03-02T20:00"}), [1.0, 3.0]),
])
def test_chart_daily_7_day_mean(entries, expected_7d):
    out = chart_daily(daily_values(entries, day("2026-03-31")), steps_table(steps(), day("2026-03-31")))
    assert _same(out["pain_7d"], expected_7d)


@pytest.mark.parametrize(("step", "expected"), [
    ({"dose": 50}, 50.0),                                          # daily: one dose
    ({"dose": 20, "frequency": "twice daily"}, 40.0),
    ({"dose": 50, "frequency": "every other day"}, 50.0),          # a dose day holds one dose, not 25 mg
    ({"dose": 30, "frequency": "3 per week"}, 30.0),
    ({"dose": 20, "frequency": "10 per week"}, 40.0),              # 10 a week cannot fit in one a day
    ({"dose": 25, "frequency": "as needed", "max_per_day": 2}, 50.0),
    ({"dose": 25, "frequency": "as needed"}, NAN),                 # no maximum: nothing to be above
    ({"dose": 12.5, "frequency": "weekly-ish"}, NAN),              # unknown frequency
    ({"dose": 35, "route": "IV"}, NAN),                            # in-clinic: not the diary's troche dose
])
def test_chart_daily_prescribed_mg_per_day(step, expected):
    # Diary on 1-3 March; the step starts on the 2nd: the 1st has no step and so no prescription.
    entries = daily_diary("2026-03-01", [6, 5, 4], dose_mg=25)
    tbl = steps_table(steps({"start": "2026-03-02", **step}), day("2026-03-03"))
    out = chart_daily(daily_values(entries, day("2026-03-03")), tbl)
    assert _same(out["dose_prescribed_mg"], [NAN, expected, expected])
    assert list(out["diary_date"]) == [ts("2026-03-01"), ts("2026-03-02"), ts("2026-03-03")]


def test_chart_daily_follows_each_step_and_keeps_daily_values():
    entries = daily_diary("2026-03-01", [6, 5, 4, 3], dose_mg=25)
    step_rows = ({"start": "2026-03-01", "dose": 25}, {"start": "2026-03-03", "dose": 50})
    tbl = steps_table(steps(*step_rows), day("2026-03-04"))
    daily = daily_values(entries, day("2026-03-04"))
    out = chart_daily(daily, tbl)
    assert _same(out["dose_prescribed_mg"], [25, 25, 50, 50])
    assert_frame_equal(out[daily.columns], daily)


def test_chart_daily_of_an_empty_diary():
    out = chart_daily(daily_values(diary(), day("2026-03-01")), steps_table(steps({"start": "2026-02-01", "dose": 25}),
                                                                            day("2026-03-01")))
    assert out.empty and {"pain_7d", "dose_prescribed_mg"} <= set(out.columns)


# --------------------------------------------------------------------------- long_severity

@pytest.mark.parametrize(("rows", "expected"), [
    ((("2026-03-01", "nausea", 2), ("2026-03-02", "bladder", 1), ("2026-03-02", "nausea", 0)),
     [("2026-03-01", "nausea", 2.0), ("2026-03-02", "nausea", 0.0), ("2026-03-02", "bladder", 1.0)]),
    # Two entries on one day: the day's highest severity.
    ((("2026-03-01", "dizziness", 1), ("2026-03-01", "dizziness", 3)), [("2026-03-01", "dizziness", 3.0)]),
    # An effect from another app keeps its name, after the diary's own effects.
    ((("2026-03-01", "headache", 2), ("2026-03-01", "dissociation", 1)),
     [("2026-03-01", "dissociation", 1.0), ("2026-03-01", "headache", 2.0)]),
    # After the as-of date: left out.
    ((("2026-04-01", "nausea", 3),), []),
    ((), []),
])
def test_long_severity(rows, expected):
    out = long_severity(daily_side_effect_severity(side_effects(*rows), day("2026-03-31")))
    assert list(out.columns) == ["diary_date", "effect", "severity"]
    assert [(d.strftime("%Y-%m-%d"), e, s) for d, e, s in out.itertuples(index=False)] == expected
    assert (str(out["diary_date"].dtype), str(out["severity"].dtype)) == ("datetime64[ns]", "float64")


# --------------------------------------------------------------------------- patient_notes

NOTES = diary(
    {"date": "2026-03-01", "at": "2026-03-01T09:00", "pain": 7, "notes": "Flare (bad) today* after gardening"},
    {"date": "2026-03-02", "at": "2026-03-02T20:00", "pain": 6, "other_medication": "Oxycodone 5 mg"},
    {"date": "2026-03-03", "at": "2026-03-03T08:00", "pain": 5, "notes": "Slept well"},
    {"date": "2026-03-03", "at": "2026-03-03T21:00", "pain": 5, "notes": "Long walk in the Straße"},
    {"date": "2026-03-04", "at": "2026-03-04T10:00", "pain": 4},
    {"date": "2026-03-05", "at": "2026-03-05T10:00", "pain": 4, "notes": "written after the review date"},
)


@pytest.mark.parametrize(("as_of", "since", "search", "expected"), [
    ("2026-03-04", None, "", ["03-03 21:00", "03-03 08:00", "03-02 20:00", "03-01 09:00"]),  # newest first
    ("2026-03-05", None, "", ["03-05 10:00", "03-03 21:00", "03-03 08:00", "03-02 20:00", "03-01 09:00"]),
    ("2026-03-02", None, "", ["03-02 20:00", "03-01 09:00"]),                                 # as-of cut
    ("2026-03-04", "2026-03-03", "", ["03-03 21:00", "03-03 08:00"]),                        # since: inclusive
    ("2026-03-04", None, "FLARE", ["03-01 09:00"]),                                           # case-insensitive
    ("2026-03-04", None, "(bad)", ["03-01 09:00"]),                                           # plain text, not regex
    ("2026-03-04", None, "today*", ["03-01 09:00"]),
    ("2026-03-04", None, ".*", []),
    ("2026-03-04", None, "[", []),
    ("2026-03-04", None, "oxycodone", ["03-02 20:00"]),                                       # other medication too
    ("2026-03-04", None, "STRASSE", ["03-03 21:00"]),                                         # casefold: ß is ss
    ("2026-03-04", "2026-03-02", "gardening", []),                                           # both filters apply
    ("2026-03-04", None, "written after", []),
])
def test_patient_notes(as_of, since, search, expected):
    out = patient_notes(NOTES, day(as_of), since=day(since) if since else None, search=search)
    assert list(out["recorded_at"].dt.strftime("%m-%d %H:%M")) == expected
    assert list(out.columns) == ["recorded_at", "diary_date", "notes", "other_medication"]


def test_patient_notes_of_an_empty_diary():
    assert patient_notes(diary(), day("2026-03-01"), search="pain").empty


# --------------------------------------------------------------------------- next_visit, treatment_days

VISITS = visits(("2026-03-01", "in person"), ("2026-03-15", "telehealth"), ("2026-03-15", "infusion"))


@pytest.mark.parametrize(("visit_rows", "as_of", "expected"), [
    (VISITS, "2026-02-28", {"date": day("2026-03-01"), "kind": "in person"}),
    (VISITS, "2026-03-01", {"date": day("2026-03-15"), "kind": "infusion, telehealth"}),  # today's visit is the last
    (VISITS, "2026-03-15", None),
    (VISITS, "2026-04-01", None),
    (visits(), "2026-03-01", None),
])
def test_next_visit(visit_rows, as_of, expected):
    got = next_visit(visit_rows, day(as_of))
    assert (None if got is None else {"date": got.date.date(), "kind": got.kind}) == expected


@pytest.mark.parametrize(("step_rows", "as_of", "expected"), [
    (({"start": "2026-03-01", "dose": 25},), "2026-03-01", 1),       # the first day counts
    (({"start": "2026-03-01", "dose": 25},), "2026-03-10", 10),
    (({"start": "2026-03-01", "dose": 25}, {"start": "2026-03-15", "dose": 50}), "2026-03-20", 20),
    (({"start": "2026-02-20", "dose": 35, "route": "IV"}, {"start": "2026-03-01", "dose": 25}), "2026-03-01", 10),
    (({"start": "2026-03-01", "dose": 25},), "2026-02-28", None),     # not started by the review date
    (({"start": "2026-03-01", "dose": 25, "status": "proposed"},), "2026-03-10", None),  # not accepted
    ((), "2026-03-01", None),
])
def test_treatment_days(step_rows, as_of, expected):
    assert treatment_days(steps_table(steps(*step_rows), day(as_of)), day(as_of)) == expected


# --------------------------------------------------------------------------- labelled_by_step

@pytest.mark.parametrize(("step_rows", "effect_rows", "expected"), [
    # Two steps of the same dose stay apart by their start.
    (({"start": "2026-03-01", "dose": 50}, {"start": "2026-03-05", "dose": 25}, {"start": "2026-03-08", "dose": 50}),
     (("2026-03-02", "nausea", 1), ("2026-03-06", "nausea", 2), ("2026-03-09", "nausea", 3)),
     ["50 mg/day from 01 Mar 2026", "25 mg/day from 05 Mar 2026", "50 mg/day from 08 Mar 2026"]),
    (({"start": "2026-03-01", "dose": 12.5, "frequency": "twice daily"},), (("2026-03-02", "dizziness", 1),),
     ["25 mg/day from 01 Mar 2026"]),
    (({"start": "2026-03-01", "dose": 25},), (), []),
])
def test_labelled_by_step(step_rows, effect_rows, expected):
    as_of = day("2026-03-10")
    tbl = steps_table(steps(*step_rows), as_of)
    entries = daily_diary("2026-03-01", [5] * 10)
    by_step = side_effects_by_step(daily_side_effect_severity(side_effects(*effect_rows), as_of),
                                   daily_values(entries, as_of), tbl)
    out = labelled_by_step(by_step, tbl)
    assert list(out["step_label"]) == expected
    assert list(out["daily_dose_mg"]) == [float(label.split(" mg")[0]) for label in expected]


# --------------------------------------------------------------------------- build_review

# Baseline 1-14 Jan, a 25 mg step from 15 Jan, 50 mg from 1 Feb; visits on the step days.
FULL = dict(
    diary=daily_diary("2026-01-01", [8] * 14 + [6] * 17 + [4] * 14, dose_mg=25, mood=5, notes="ok"),
    side_effects=side_effects(("2026-01-20", "nausea", 2), ("2026-02-05", "bladder", 1)),
    steps=steps({"start": "2026-01-15", "dose": 25}, {"start": "2026-02-01", "dose": 50}),
    visits=visits(("2026-01-15", "in person"), ("2026-02-01", "telehealth"), ("2026-03-01", "in person")),
    comedications=comedications({"name": "oxycodone", "drug_class": "opioid", "start": "2026-01-10"}),
)
CASES = {
    "full": FULL,
    "no diary": {**FULL, "diary": diary(), "side_effects": side_effects()},
    "no titration": {**FULL, "steps": steps()},
    "no visits": {**FULL, "visits": visits()},
    "baseline missing": {**FULL, "diary": daily_diary("2026-01-20", [6] * 26)},
    "nothing": {"diary": diary(), "side_effects": side_effects(), "steps": steps(), "visits": visits(),
                "comedications": comedications()},
}


def _frames(case: dict) -> dict:
    return {"patient": {"ref": "P-1", "name": None}, **case, "thresholds": T, "as_of": day("2026-02-14")}


@pytest.mark.parametrize("name", list(CASES))
def test_build_review_summary_is_build_summary(name):
    review = build_review(**_frames(CASES[name]))
    summary = review.to_dict()
    assert summary == build_summary(**_frames(CASES[name]))
    # The page's own frames agree with the typed records and the JSON they sit beside.
    assert len(review.step_table) == len(review.step_summaries) == len(summary["steps"])
    assert len(review.flags) == len(summary["flags"])
    assert len(review.visit_table) == 1 + len(review.visit_intervals)  # the baseline row first
    assert len(review.visit_intervals) == len(summary["visit_intervals"])
    assert (review.daily["diary_date"] <= ts("2026-02-14")).all()


@pytest.mark.parametrize(("name", "expected"), [
    ("full", {"treatment_days": 31, "next_visit": {"date": day("2026-03-01"), "kind": "in person"}, "days": 45}),
    ("no diary", {"treatment_days": 31, "next_visit": {"date": day("2026-03-01"), "kind": "in person"}, "days": 0}),
    ("no titration", {"treatment_days": None, "next_visit": {"date": day("2026-03-01"), "kind": "in person"},
                      "days": 45}),
    ("no visits", {"treatment_days": 31, "next_visit": None, "days": 45}),
    ("nothing", {"treatment_days": None, "next_visit": None, "days": 0}),
])
def test_build_review_facts_of_incomplete_records(name, expected):
    review = build_review(**_frames(CASES[name]))
    nxt = None if review.next_visit is None else {"date": review.next_visit.date.date(), "kind": review.next_visit.kind}
    assert (review.treatment_days, nxt, len(review.daily)) == (
        expected["treatment_days"], expected["next_visit"], expected["days"])


def test_step_table_is_judged_on_the_exact_baseline_as_the_summary_is():
    # Baseline mean 99/14 = 7.0714...; the summary rounds it to 7.07 for JSON. The step's window
    # pain 4.95 is exactly 30 % below the exact baseline (moderate), but only 29.98 % below 7.07.
    case = {**FULL, "diary": daily_diary("2026-01-01", [7] * 13 + [8] + [4.95] * 21), "side_effects": side_effects(),
            "steps": steps({"start": "2026-01-15", "dose": 25}), "visits": visits()}
    frames = {**_frames(case), "as_of": day("2026-02-04")}
    review = build_review(**frames)
    assert review.baseline.mean_pain == review.to_dict()["baseline"]["mean_pain"] == 7.07
    assert [s.responder for s in review.step_summaries] == ["moderate"]
    assert list(review.step_table["responder"]) == ["moderate"]
    assert review.lowest_effective_dose.dose_mg == 25.0


def test_review_frames_have_the_chart_columns():
    review = build_review(**_frames(FULL))
    assert {"diary_date", "pain", "pain_7d", "dose_taken_mg", "dose_prescribed_mg"} <= set(review.daily.columns)
    assert list(review.side_effect_days["effect"]) == ["nausea", "bladder"]
    assert list(review.notes.columns) == ["recorded_at", "diary_date", "notes", "other_medication"]
    assert len(review.notes) == 45 and review.notes["recorded_at"].is_monotonic_decreasing
    assert list(review.effects_by_step["step_label"]) == ["25 mg/day from 15 Jan 2026", "50 mg/day from 01 Feb 2026"]
    assert review.gaps.empty and list(review.flags.columns) == [
        "rule", "start", "end", "detail", "name", "safety", "new", "acknowledged", "acknowledged_by", "acknowledged_at",
        "acknowledgement_note", "shown_start", "shown_end"]
    assert {"sleep_7d", "mood_7d", "function_7d"} <= set(review.daily.columns)
    assert isinstance(review.aligned, pd.DataFrame) and set(review.aligned["interval_start"]) == {
        ts("2026-01-15"), ts("2026-02-01")}
