"""Safety since the last visit: each signal counted over the interval, and silence said out loud."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analysis.adherence import over_prescribed_days
from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from dashboard.analysis.safety import safety_since_last_visit
from dashboard.analysis.side_effects import daily_side_effect_severity
from dashboard.config import Thresholds
from tests.analysis import comedications, day, diary, side_effects, steps, ts

T = Thresholds()
AS_OF = day("2026-03-31")


def _safety(entries, effects=(), step_rows=(), comeds=(), last_visit="2026-03-15", period_start="2026-01-01",
            thresholds=T):
    frame = diary(*entries)
    steps_tbl = steps_table(steps(*step_rows), AS_OF)
    return safety_since_last_visit(
        diary=frame, severity=daily_side_effect_severity(side_effects(*effects), AS_OF),
        over_days=over_prescribed_days(daily_values(frame, AS_OF), steps_tbl), comedications=comedications(*comeds),
        last_visit=None if last_visit is None else ts(last_visit), period_start=ts(period_start), as_of=AS_OF,
        thresholds=thresholds)


def test_blood_pressure_counts_readings_not_days_and_only_since_the_last_visit():
    result = _safety([
        {"date": "2026-03-01", "at": "2026-03-01T08:00", "bp_systolic": 190, "bp_diastolic": 110},  # before the visit
        {"date": "2026-03-20", "at": "2026-03-20T08:00", "bp_systolic": 162, "bp_diastolic": 94},
        {"date": "2026-03-20", "at": "2026-03-20T20:00", "bp_systolic": 150, "bp_diastolic": 101},
        {"date": "2026-03-22", "at": "2026-03-22T08:00", "bp_systolic": 130, "bp_diastolic": 80},
        {"date": "2026-03-23", "pain": 4},
    ])
    assert (result.max_systolic, result.max_diastolic, result.high_readings, result.bp_days) == (162, 101, 2, 2)


def test_no_reading_since_the_last_visit_is_zero_days_not_missing():
    result = _safety([{"date": "2026-03-20", "pain": 4}])
    assert (result.max_systolic, result.high_readings, result.bp_days) == (None, 0, 0)


@pytest.mark.parametrize(("effects", "expected"), [
    ([("2026-03-16", "bladder", 1), ("2026-03-17", "bladder", 2), ("2026-03-18", "bladder", 0),
      ("2026-03-10", "bladder", 3)], (2, 2, 0)),
    ([("2026-03-16", "dissociation", 3), ("2026-03-17", "dissociation", 2), ("2026-03-18", "dissociation", 3)],
     (0, None, 2)),
    ([], (0, None, 0)),
])
def test_bladder_and_severe_dissociation_days(effects, expected):
    result = _safety([{"date": "2026-03-16", "pain": 4}], effects=effects)
    assert (result.bladder_days, result.bladder_max, result.severe_dissociation_days) == expected


def test_days_over_prescription_and_the_largest_excess():
    result = _safety([
        {"date": "2026-03-10", "dose_mg": 150},  # before the visit
        {"date": "2026-03-16", "dose_mg": 50}, {"date": "2026-03-17", "dose_mg": 75},
        {"date": "2026-03-18", "at": "2026-03-18T08:00", "dose_mg": 50},
        {"date": "2026-03-18", "at": "2026-03-18T20:00", "dose_mg": 50},
    ], step_rows=[{"start": "2026-01-01", "dose": 50}])
    assert (result.over_prescribed_days, result.max_excess_mg) == (2, 50.0)


def test_co_sedatives_active_in_the_interval():
    result = _safety(
        [{"date": "2026-03-16", "other_medication": "oxycodone 5 mg"}, {"date": "2026-03-01",
                                                                         "other_medication": "diazepam 5 mg"}],
        comeds=[{"name": "tramadol", "drug_class": "opioid", "start": "2025-01-01", "status": "active"},
                {"name": "lorazepam", "drug_class": "benzodiazepine", "start": "2025-01-01", "end": "2025-06-01"}])
    assert result.co_sedatives == ["oxycodone 5 mg (opioid)", "tramadol (opioid)"]


def test_without_a_visit_the_whole_review_period_counts():
    result = _safety([{"date": "2026-01-05", "bp_systolic": 170, "bp_diastolic": 90}], last_visit=None)
    assert (result.last_visit, result.high_readings, f"{result.start:%Y-%m-%d}") == (None, 1, "2026-01-01")
    assert set(result.json()) == {"last_visit", "max_systolic", "max_diastolic", "high_readings", "bp_days",
                                  "bladder_days", "bladder_max", "severe_dissociation_days",
                                  "over_prescribed_days", "max_excess_mg", "co_sedatives",
                                  "days", "diary_days", "coverage", "labs"}  # v3: coverage and labs
    assert isinstance(result.json()["last_visit"], type(None)) and isinstance(pd.Timestamp(result.end), pd.Timestamp)


@pytest.mark.parametrize(("dates", "last_visit", "expected"), [
    # Mar 15 to Mar 31, both counted: 17 days; entries on both ends count.
    (["2026-03-15", "2026-03-31"], "2026-03-15", (17, 2, 2 / 17)),
    (["2026-03-14", "2026-03-15", "2026-03-15", "2026-03-31"], "2026-03-15", (17, 2, 2 / 17)),  # a day once
    ([f"2026-03-{d:02d}" for d in range(15, 32)], "2026-03-15", (17, 17, 1.0)),
    ([], "2026-03-15", (17, 0, 0.0)),
    (["2026-03-31"], "2026-03-31", (1, 1, 1.0)),  # a visit on the as-of date
    (["2026-01-01", "2026-03-31"], None, (90, 2, 2 / 90)),  # no visit yet: the review period
])
def test_how_much_the_diary_covers_since_the_last_visit(dates, last_visit, expected):
    result = _safety([{"date": d, "pain": 4} for d in dates], last_visit=last_visit)
    assert (result.days, result.diary_days) == expected[:2]
    assert result.coverage == pytest.approx(expected[2])
    assert result.json()["days"] == expected[0] and result.json()["coverage"] == pytest.approx(expected[2])


@pytest.mark.parametrize(("diary_days", "thresholds", "sparse"), [
    (9, T, False),  # 9 of 17 days: 0.53
    (8, T, True),  # 8 of 17: 0.47
    (9, Thresholds(coverage_min_share=0.6), True),
    (0, T, True),
])
def test_too_sparse_to_say_none(diary_days, thresholds, sparse):
    result = _safety([{"date": f"2026-03-{d:02d}", "pain": 4} for d in range(15, 15 + diary_days)])
    assert result.too_sparse(thresholds) is sparse


def test_co_sedatives_are_one_line_per_drug_named_as_last_mentioned():
    """review-metrics.md v3: one ingredient under three spellings is one co-sedative, shown by its latest mention."""
    result = _safety(
        [{"date": "2026-03-16", "other_medication": "Oxycodone 5 mg"},
         {"date": "2026-03-18", "other_medication": "OXYCODONE 10mg"}],
        comeds=[{"name": "oxycodone", "drug_class": "opioid", "start": "2025-01-01", "status": "active"}])
    assert result.co_sedatives == ["OXYCODONE 10mg (opioid)"]
