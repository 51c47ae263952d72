"""The review summary: its shape, missing values as None, and the stored patient end to end."""

from __future__ import annotations

import json
from datetime import date, datetime

import numpy as np
import pandas as pd
import pytest

from dashboard.analysis.response import LOWEST_DOSE_NOTE
from dashboard.analysis.summary import build_summary, json_ready, truncated
from dashboard.stored.review import patient_summary
from dashboard.config import Thresholds
from dashboard.db.models import CoMedication, DiaryEntry, Patient, SideEffect, TitrationStep, Visit
from dashboard.db.session import session_scope
from dashboard.db.settings_store import save_thresholds
from tests.analysis import comedications, daily_diary, day, diary, side_effects, steps, visits

T = Thresholds()
STEP_KEYS = {"start", "end", "dose_mg", "frequency", "route", "days", "diary_days", "completeness", "mean_pain",
             "response_window", "response_pain", "response_ci", "response_change_pct", "responder", "early",
             "side_effects", "adherence"}
INTERVAL_KEYS = {"start", "end", "days", "diary_days", "completeness", "mean_pain", "mean_sleep", "mean_mood",
                 "mean_function", "change_from_baseline", "change_from_baseline_pct", "responder", "side_effects"}


def _summary(entries, effects=None, step_rows=(), visit_rows=(), records=(), as_of="2026-02-28", thresholds=T):
    return build_summary(
        patient={"ref": "P-1", "name": None}, diary=entries,
        side_effects=effects if effects is not None else side_effects(),
        steps=steps(*step_rows), visits=visits(*visit_rows), comedications=comedications(*records),
        thresholds=thresholds, as_of=day(as_of))


# Baseline Jan 1-14 at 8; step of 25 mg from Jan 15, of 50 mg from Feb 1 (14 days to Feb 14: early).
PAINS = [8] * 14 + [6] * 17 + [4] * 14
STEPS = ({"start": "2026-01-15", "dose": 25}, {"start": "2026-02-01", "dose": 50})


def test_summary_shape_and_values():
    summary = _summary(daily_diary("2026-01-01", PAINS, mood=5, dose_mg=25), step_rows=STEPS,
                       visit_rows=[("2026-01-15", "in person")], as_of="2026-02-14")
    assert STEP_KEYS <= set(summary["steps"][0]) and INTERVAL_KEYS <= set(summary["visit_intervals"][0])
    assert {"patient", "as_of", "baseline", "steps", "visit_intervals", "lowest_effective_dose",
            "flags"} <= set(summary)
    # A patient given by reference alone is written with the fields the typed record has.
    assert summary["patient"] == {"ref": "P-1", "name": None, "birth_year": None, "condition": None}
    assert summary["as_of"] == "2026-02-14"
    assert {k: summary["baseline"][k] for k in ("start", "end", "mean_pain", "diary_days")} == {
        "start": "2026-01-01", "end": "2026-01-14", "mean_pain": 8.0, "diary_days": 14}
    first, second = summary["steps"]
    # 17 days: shorter than 14 onset + 7 response days, so early, judged on its last 7 days.
    assert (first["start"], first["end"], first["days"], first["early"]) == ("2026-01-15", "2026-01-31", 17, True)
    assert first["response_window"] == {"start": "2026-01-25", "end": "2026-01-31"}
    assert (first["response_pain"], first["response_ci"], first["response_change_pct"], first["responder"]) == (
        6.0, [6.0, 6.0], -25.0, "minimal")
    assert (second["early"], second["response_window"], second["response_pain"], second["responder"]) == (
        True, {"start": "2026-02-08", "end": "2026-02-14"}, 4.0, "substantial")
    assert second["adherence"] == {"doses_taken": 14.0, "doses_prescribed": 14.0, "mg_taken": 350.0,
                                   "mg_prescribed": 700.0, "doses_pct": 100.0, "mg_pct": 50.0}
    assert summary["lowest_effective_dose"] == {"dose_mg": 50.0, "daily_dose_mg": 50.0, "frequency": "daily",
                                                "step_start": "2026-02-01", "step_id": 2,
                                                "responder": "substantial", "note": LOWEST_DOSE_NOTE}
    # Version 2: mg/day, autocorrelation-aware intervals, and each step against the one before.
    assert (first["daily_dose_mg"], first["response_r1"], first["response_n_eff"], first["vs_previous"]) == (
        25.0, 0.0, 7.0, None)
    # v3: the second step's 25 mg taken of 50 mg prescribed a day is 50 %: not a fair test; 2 points less
    # pain is clinically important; no step is judged yet, and the second can be from 14 + 6 days after it began.
    assert second["vs_previous"] == {"difference": -2.0, "ci": [-2.0, -2.0], "verdict": "too early to judge",
                                     "previous_step_id": 1, "qualifiers": ["low_adherence"],
                                     "clinically_important": True, "infusions": []}
    assert summary["last_judged_step"] is None
    assert summary["current_step"]["judged_from"] == "2026-02-21"
    assert {"safety_since_last_visit", "flag_counts", "review_period", "next_visit"} <= set(summary)
    interval = summary["visit_intervals"][0]
    assert (interval["start"], interval["end"], interval["days"], interval["mean_pain"]) == (
        "2026-01-15", "2026-02-14", 31, round((6 * 17 + 4 * 14) / 31, 2))
    assert summary["current_step"]["dose_mg"] == 50.0 and summary["last_visit"]["date"] == "2026-01-15"
    json.dumps(summary, allow_nan=False)


def test_summary_step_adherence_under_a_daily_step_counts_the_steps_days():
    summary = _summary(daily_diary("2026-01-01", PAINS, dose_mg=25), step_rows=STEPS, as_of="2026-02-14")
    assert summary["steps"][0]["adherence"]["doses_prescribed"] == 17.0


def test_baseline_with_too_few_days_makes_every_change_missing():
    pains = [8, 8] + [None] * 12 + [4] * 31
    summary = _summary(daily_diary("2026-01-01", pains), step_rows=STEPS, visit_rows=[("2026-01-15", "in person")],
                       as_of="2026-02-14")
    assert summary["baseline"]["mean_pain"] is None and summary["baseline"]["missing"] is True
    for step in summary["steps"]:
        assert (step["response_change_pct"], step["responder"], step["response_change"]) == (None, None, None)
        assert step["response_pain"] == 4.0
    interval = summary["visit_intervals"][0]
    assert [interval[k] for k in ("change_from_baseline", "change_from_baseline_pct", "responder",
                                  "reduction_ge_2_points")] == [None, None, None, None]
    assert summary["lowest_effective_dose"] is None


@pytest.mark.parametrize(
    ("entries", "step_rows", "visit_rows", "expected_steps", "expected_intervals"),
    [
        (daily_diary("2026-02-01", [5, 5, 5]), (), (), 0, 0),  # no steps, no visits
        (diary(), STEPS, [("2026-01-15", "in person")], 2, 1),  # no diary
        (diary(), (), (), 0, 0),  # nothing at all
    ],
)
def test_summary_of_an_incomplete_record(entries, step_rows, visit_rows, expected_steps, expected_intervals):
    summary = _summary(entries, step_rows=step_rows, visit_rows=visit_rows)
    assert len(summary["steps"]) == expected_steps and len(summary["visit_intervals"]) == expected_intervals
    assert summary["baseline"]["mean_pain"] is None and summary["lowest_effective_dose"] is None
    for step in summary["steps"]:
        assert step["mean_pain"] is None and step["response_pain"] is None and step["response_ci"] is None
        assert step["diary_days"] == 0 and step["side_effects"] == {}
    for interval in summary["visit_intervals"]:
        assert interval["mean_pain"] is None and interval["completeness"] == 0.0
    json.dumps(summary, allow_nan=False)


def test_summary_flags_are_json_ready():
    entries = daily_diary("2026-01-30", [2, 2, 2, 6], bp_systolic=170, bp_diastolic=90)
    summary = _summary(entries, effects=side_effects(("2026-02-02", "dissociation", 3)), as_of="2026-02-02")
    unacknowledged = {"new": True, "acknowledged": False, "acknowledged_by": None, "acknowledged_at": None,
                      "acknowledgement_note": None}
    assert summary["flags"] == [
        {"rule": "bp_high", "start": "2026-01-30", "end": "2026-02-02", "name": "High blood pressure", "safety": True,
         "detail": "BP >= 160/100 mmHg on 4 days; highest systolic 170, highest diastolic 90 mmHg",
         "shown_start": "2026-01-30", "shown_end": "2026-02-02", **unacknowledged},
        {"rule": "dissociation_severe", "start": "2026-02-02", "end": "2026-02-02", "name": "Severe dissociation",
         "safety": True, "detail": "severe dissociation (3) on 1 day", "shown_start": "2026-02-02",
         "shown_end": "2026-02-02", **unacknowledged},
        {"rule": "pain_spike", "start": "2026-02-02", "end": "2026-02-02", "name": "Pain spike", "safety": False,
         "detail": "pain 6 at most, up to +4 over the previous week's mean, on 1 day", "shown_start": "2026-02-02",
         "shown_end": "2026-02-02", **unacknowledged},
    ]
    assert [(c["rule"], c["open"], c["new"]) for c in summary["flag_counts"]] == [
        ("bp_high", 1, 1), ("dissociation_severe", 1, 1), ("pain_spike", 1, 1)]
    assert summary["safety_since_last_visit"] == {
        "last_visit": None, "max_systolic": 170.0, "max_diastolic": 90.0, "high_readings": 4, "bp_days": 4,
        "bladder_days": 0, "bladder_max": None, "severe_dissociation_days": 1, "over_prescribed_days": 0,
        "max_excess_mg": None, "co_sedatives": [], "days": 4, "diary_days": 4, "coverage": 1.0, "labs": []}


@pytest.mark.parametrize(("value", "key", "expected"), [
    (-29.7, "response_change_pct", -29.7), (-29.999, "change_from_baseline_pct", -29.99),
    (-29.999, "mean_pain", -30.0), (49.996, "change_from_baseline_pct", 49.99), (-0.004, "x_pct", 0.0),
])
def test_percentages_are_truncated_toward_zero_in_json(value, key, expected):
    assert json_ready({key: value}) == {key: expected}


@pytest.mark.parametrize(("value", "expected"), [(-29.7, -29.0), (29.7, 29.0), (-30.0, -30.0), (-0.4, 0.0)])
def test_truncated_shown_percentages(value, expected):
    assert truncated(value) == expected


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (float("nan"), None), (np.float64("nan"), None), (pd.NaT, None), (None, None), (pd.NA, None),
        (np.float64(2.345678), 2.35), (1 / 3, 0.33), (np.int64(4), 4), (np.bool_(True), True), (False, False),
        (pd.Timestamp("2026-03-01"), "2026-03-01"), (date(2026, 3, 1), "2026-03-01"),
        (datetime(2026, 3, 1, 23, 30), "2026-03-01"), (np.datetime64("NaT"), None), (float("inf"), None),
        ({"a": [np.float64(1.005), (pd.NaT, "x")]}, {"a": [1.0, [None, "x"]]}),
    ],
)
def test_json_ready(value, expected):
    assert json_ready(value) == expected


def _store_patient(url: str) -> None:
    with session_scope(url) as session:
        patient = Patient(ref="P-7", name="Test", created_at=datetime(2026, 1, 1))
        session.add(patient)
        session.flush()
        for i, pain in enumerate(PAINS):
            when = datetime(2026, 1, 1 + i, 21, 0) if i < 31 else datetime(2026, 2, i - 30, 21, 0)
            entry = DiaryEntry(patient_id=patient.id, recorded_at=when, diary_date=when.date(), pain=float(pain),
                               dose_mg=25.0 if i >= 14 else None, source="csv")
            session.add(entry)
            session.flush()
            if i == 40:
                session.add(SideEffect(entry_id=entry.id, effect="bladder", severity=1))
        for start, dose in ((date(2026, 1, 15), 25.0), (date(2026, 2, 1), 50.0)):
            session.add(TitrationStep(patient_id=patient.id, start_date=start, dose_mg=dose, frequency="daily",
                                      route="troche", status="active"))
        session.add(TitrationStep(patient_id=patient.id, start_date=date(2026, 2, 10), dose_mg=75.0, frequency="daily",
                                  route="troche", status="proposed"))
        session.add(Visit(patient_id=patient.id, date=date(2026, 1, 15), kind="in person"))
        session.add(CoMedication(patient_id=patient.id, name="oxycodone 5 mg", start_date=date(2026, 2, 1),
                                 status="active", source="fhir"))


def test_patient_summary_from_the_store_with_the_clinics_thresholds(db_url):
    _store_patient(db_url)
    with session_scope(db_url) as session:
        before = patient_summary(session, "P-7", as_of=date(2026, 2, 14))
    assert [s["dose_mg"] for s in before["steps"]] == [25.0, 50.0]  # the proposed step does not count
    assert before["baseline"]["mean_pain"] == 8.0 and before["steps"][1]["early"] is True
    assert {f["rule"] for f in before["flags"]} == {"bladder", "co_sedative"}
    with session_scope(db_url) as session:
        save_thresholds(session, {"onset_days": 7, "baseline_days": 7}, updated_by="dr")
    with session_scope(db_url) as session:
        after = patient_summary(session, "P-7", as_of=date(2026, 2, 14))
    assert after["baseline"]["start"] == "2026-01-08" and after["thresholds"]["onset_days"] == 7
    assert after["steps"][1]["early"] is False and after["steps"][1]["response_window"] == {
        "start": "2026-02-08", "end": "2026-02-14"}


def test_patient_summary_of_an_unknown_patient(db_url):
    with session_scope(db_url) as session, pytest.raises(LookupError, match="'nobody'"):
        patient_summary(session, "nobody")
