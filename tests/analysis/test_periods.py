"""Steps, baseline, visit intervals and the statistics of any period."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.adherence import daily_prescription
from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import (
    baseline,
    change_from_baseline,
    important_reduction,
    period_stats,
    responder_category,
    steps_table,
    visit_aligned_pain,
    visit_comparison_table,
    visit_intervals,
)
from dashboard.analysis.side_effects import daily_side_effect_severity
from dashboard.config import Thresholds
from tests.analysis import daily_diary, dates, day, diary, side_effects, steps, visits

T = Thresholds()
NAN = float("nan")


@pytest.mark.parametrize(
    ("rows", "as_of", "expected"),
    [
        # A step ends the day before the next starts; the last runs to the as-of date.
        ([{"start": "2026-01-01", "dose": 25}, {"start": "2026-01-15", "dose": 50}], "2026-02-01",
         [(1, "2026-01-01", "2026-01-14", 14), (2, "2026-01-15", "2026-02-01", 18)]),
        # An end_date before the next step wins; one after it does not.
        ([{"start": "2026-01-01", "dose": 25, "end": "2026-01-10"},
          {"start": "2026-01-15", "dose": 50, "end": "2026-03-01"}],
         "2026-02-01", [(1, "2026-01-01", "2026-01-10", 10), (2, "2026-01-15", "2026-02-01", 18)]),
        ([{"start": "2026-01-01", "dose": 25, "end": "2026-01-20"}, {"start": "2026-01-15", "dose": 50}],
         "2026-02-01", [(1, "2026-01-01", "2026-01-14", 14), (2, "2026-01-15", "2026-02-01", 18)]),
        # Steps starting after the as-of date, and proposed steps, do not count.
        ([{"start": "2026-01-01", "dose": 25}, {"start": "2026-03-01", "dose": 50},
          {"start": "2026-01-10", "dose": 75, "status": "proposed"}], "2026-01-20",
         [(1, "2026-01-01", "2026-01-20", 20)]),
        # An in-clinic IV step does not end the troche step taken at home.
        ([{"start": "2026-01-01", "dose": 25}, {"start": "2026-01-10", "dose": 35, "route": "IV", "end": "2026-01-10"}],
         "2026-01-20", [(1, "2026-01-01", "2026-01-20", 20), (2, "2026-01-10", "2026-01-10", 1)]),
        ([], "2026-01-20", []),
    ],
)
def test_steps_table_effective_ends(rows, as_of, expected):
    table = steps_table(steps(*rows), day(as_of))
    got = [(r.step_id, f"{r.start:%Y-%m-%d}", f"{r.end:%Y-%m-%d}", r.days) for r in table.itertuples()]
    assert got == expected
    assert table["start"].dtype == table["end"].dtype == "datetime64[ns]"


def test_steps_table_refuses_an_end_before_the_start():
    with pytest.raises(ValueError, match=r"titration step 7: end_date 2026-01-05 is before start_date 2026-01-10"):
        steps_table(steps({"step_id": 7, "start": "2026-01-10", "end": "2026-01-05", "dose": 25}), day("2026-02-01"))


JAN_BASELINE = {"start": "2026-01-01", "end": "2026-01-14", "diary_days": 3, "pain_days": 3, "mean_pain": 7.0,
                "missing": False}
NO_BASELINE = {"start": None, "end": None, "diary_days": 0, "pain_days": 0, "mean_pain": None, "missing": True}


@pytest.mark.parametrize(
    ("pains", "step_rows", "thresholds", "expected"),
    [
        # 14 days before the first troche step (Jan 15): Jan 1-14.
        ([6, 8, 7] + [None] * 11, [{"start": "2026-01-15", "dose": 25}], T,
         JAN_BASELINE),
        # Two days with pain: missing, never 0.
        ([6, 8] + [None] * 12, [{"start": "2026-01-15", "dose": 25}], T,
         {**JAN_BASELINE, "diary_days": 2, "pain_days": 2, "mean_pain": None, "missing": True}),
        # The setting: 7 baseline days (Jan 8-14) see only the last two days.
        ([6, 8, 7] + [None] * 9 + [2, 4], [{"start": "2026-01-15", "dose": 25}], Thresholds(baseline_days=7,
         min_baseline_diary_days=2), {"start": "2026-01-08", "end": "2026-01-14", "diary_days": 2, "pain_days": 2,
                                      "mean_pain": 3.0, "missing": False}),
        # The first troche step decides, not an earlier IV step.
        ([6, 8, 7] + [None] * 11,
         [{"start": "2026-01-05", "dose": 35, "route": "IV"}, {"start": "2026-01-15", "dose": 25}], T, JAN_BASELINE),
        # No troche step at all: no baseline.
        ([6, 8, 7], [{"start": "2026-01-05", "dose": 35, "route": "IV"}], T,
         NO_BASELINE),
        ([6, 8, 7], [], T, NO_BASELINE),
    ],
)
def test_baseline(pains, step_rows, thresholds, expected):
    daily = daily_values(daily_diary("2026-01-01", pains), day("2026-02-01"))
    result = baseline(daily, steps_table(steps(*step_rows), day("2026-02-01")), thresholds)
    got = {k: (f"{v:%Y-%m-%d}" if k in ("start", "end") and v is not None else v) for k, v in result.items()
           if k in expected}
    assert got == expected


def test_a_baseline_day_with_an_entry_but_no_pain_does_not_count_towards_it():
    entries = diary({"date": "2026-01-01", "pain": 5}, {"date": "2026-01-02", "pain": 5},
                    {"date": "2026-01-03", "mood": 5})
    result = baseline(daily_values(entries, day("2026-02-01")),
                      steps_table(steps({"start": "2026-01-15", "dose": 25}), day("2026-02-01")), T)
    assert (result["diary_days"], result["pain_days"], result["mean_pain"], result["missing"]) == (3, 2, None, True)


@pytest.mark.parametrize(
    ("rows", "as_of", "expected"),
    [
        ([], "2026-03-01", []),
        ([("2026-02-01", "in person")], "2026-03-01", [("2026-02-01", "2026-03-01", 29, "in person")]),
        ([("2026-02-01", "in person"), ("2026-02-15", "telehealth")], "2026-03-01",
         [("2026-02-01", "2026-02-14", 14, "in person"), ("2026-02-15", "2026-03-01", 15, "telehealth")]),
        # Two visits on one day open one interval.
        ([("2026-02-01", "in person"), ("2026-02-01", "infusion")], "2026-02-03",
         [("2026-02-01", "2026-02-03", 3, "in person, infusion")]),
        # A visit after the as-of date does not count; a visit on it opens a 1-day interval.
        ([("2026-02-01", "in person"), ("2026-03-05", "in person")], "2026-03-01",
         [("2026-02-01", "2026-03-01", 29, "in person")]),
        ([("2026-02-01", "in person"), ("2026-03-01", "in person")], "2026-03-01",
         [("2026-02-01", "2026-02-28", 28, "in person"), ("2026-03-01", "2026-03-01", 1, "in person")]),
    ],
)
def test_visit_intervals(rows, as_of, expected):
    result = visit_intervals(visits(*rows), day(as_of))
    assert [(f"{r.start:%Y-%m-%d}", f"{r.end:%Y-%m-%d}", r.days, r.kind) for r in result.itertuples()] == expected


@pytest.mark.parametrize(
    ("change_pct", "expected"),
    [
        (-50.0, "substantial"), (-49.99, "moderate"), (-30.0, "moderate"), (-29.99, "minimal"), (-15.0, "minimal"),
        (-14.99, "none"), (0.0, "none"), (14.99, "none"), (15.0, "worse"), (80.0, "worse"), (None, None),
    ],
)
def test_responder_category_edges(change_pct, expected):
    assert responder_category(change_pct, T) == expected


@pytest.mark.parametrize(
    ("pain", "base", "expected_points", "expected_pct", "expected_category"),
    [
        (4.2, 6.0, -1.8, -30.0, "moderate"),  # float noise: 100 * (4.2 - 6) / 6 = -29.999999999999996
        (7.0, 10.0, -3.0, -30.0, "moderate"),
        (3.0, 6.0, -3.0, -50.0, "substantial"),
        (6.9, 6.0, 0.9, 15.0, "worse"),
        (5.0, None, None, None, None),
        (None, 5.0, None, None, None),
        (2.0, 0.0, 2.0, None, None),  # no percentage of a zero baseline
    ],
)
def test_change_from_baseline(pain, base, expected_points, expected_pct, expected_category):
    points, pct = change_from_baseline(pain, base)
    assert points == (None if expected_points is None else pytest.approx(expected_points))
    assert pct == (None if expected_pct is None else pytest.approx(expected_pct))
    assert responder_category(pct, T) == expected_category


@pytest.mark.parametrize(
    ("points", "thresholds", "expected"),
    [(-2.0, T, True), (-1.99, T, False), (1.0, T, False), (None, T, None),
     (-1.5, Thresholds(important_change_points=1.5), True)],
)
def test_reduction_of_two_points(points, thresholds, expected):
    assert important_reduction(points, thresholds) == expected


def test_period_stats_by_hand():
    entries = diary(
        {"date": "2026-02-01", "pain": 4, "sleep": 6, "mood": 5, "function": 7, "dose_mg": 50},
        {"date": "2026-02-01", "at": "2026-02-01T20:00", "pain": 2},
        {"date": "2026-02-03", "pain": 5, "mood": 3, "enjoyment_interference": 5, "activity_interference": 8},
    )
    severity = daily_side_effect_severity(side_effects(("2026-02-01", "nausea", 1), ("2026-02-03", "nausea", 3),
                                                       ("2026-02-03", "bladder", 0)), day("2026-02-04"))
    daily = daily_values(entries, day("2026-02-04"))
    prescription = daily_prescription(steps_table(steps({"start": "2026-02-01", "dose": 50}), day("2026-02-04")))
    stats = period_stats(daily, severity, prescription, day("2026-02-01"), day("2026-02-04"), 8.0, T)
    assert stats == {
        "days": 4, "diary_days": 2, "completeness": 0.5,
        "mean_pain": 4.0,  # (mean(4, 2) + 5) / 2: the day with two entries weighs once
        "mean_sleep": 6.0, "mean_mood": 4.0, "mean_function": 7.0, "peg": 6.0,
        "change_from_baseline": -4.0, "change_from_baseline_pct": -50.0, "responder": "substantial",
        "reduction_ge_2_points": True,
        "side_effects": {"nausea": {"share_of_days": 1.0, "max_severity": 3, "severe_share_of_days": 0.5},
                         "bladder": {"share_of_days": 0.0, "max_severity": 0, "severe_share_of_days": 0.0}},
        "adherence": {"doses_taken": 1.0, "doses_prescribed": 4.0, "mg_taken": 50.0, "mg_prescribed": 200.0,
                      "doses_pct": 25.0, "mg_pct": 25.0},
    }


def test_period_stats_without_baseline_or_diary_are_missing_not_zero():
    empty = daily_values(diary(), day("2026-02-04"))
    severity = daily_side_effect_severity(side_effects(), day("2026-02-04"))
    stats = period_stats(empty, severity, daily_prescription(steps_table(steps(), day("2026-02-04"))),
                         day("2026-02-01"), day("2026-02-04"), None, T)
    assert stats["days"] == 4 and stats["diary_days"] == 0 and stats["completeness"] == 0.0
    for key in ("mean_pain", "mean_sleep", "mean_mood", "mean_function", "peg", "change_from_baseline",
                "change_from_baseline_pct", "responder", "reduction_ge_2_points"):
        assert stats[key] is None, key
    assert stats["side_effects"] == {}
    assert stats["adherence"]["doses_taken"] is None and stats["adherence"]["doses_prescribed"] is None


COMPARISON_BASE = {
    "period": ["baseline", "visit 2026-01-15 (in person)", "visit 2026-01-22 (telehealth)"],
    "start": dates("2026-01-01", "2026-01-15", "2026-01-22"), "end": dates("2026-01-14", "2026-01-21", "2026-01-25"),
    "days": [14, 7, 4],
}


@pytest.mark.parametrize(
    ("pains", "expected"),
    [
        # Baseline of 3 days at 8; then 6 and 4.
        ([8, 8, 8] + [None] * 11 + [6] * 7 + [4] * 4, {
            "diary_days": [3, 7, 4], "completeness": [3 / 14, 1.0, 1.0], "mean_pain": [8.0, 6.0, 4.0],
            "change_from_baseline": [NAN, -2.0, -4.0], "change_from_baseline_pct": [NAN, -25.0, -50.0],
            "responder": [None, "minimal", "substantial"], "reduction_ge_2_points": [None, True, True]}),
        # Baseline of 2 days: missing, so every change is missing too.
        ([8, 8] + [None] * 12 + [6] * 7 + [4] * 4, {
            "diary_days": [2, 7, 4], "completeness": [2 / 14, 1.0, 1.0], "mean_pain": [NAN, 6.0, 4.0],
            "change_from_baseline": [NAN, NAN, NAN], "change_from_baseline_pct": [NAN, NAN, NAN],
            "responder": [None, None, None], "reduction_ge_2_points": [None, None, None]}),
    ],
)
def test_visit_comparison_table(pains, expected):
    daily = daily_values(daily_diary("2026-01-01", pains, mood=5.0), day("2026-01-25"))
    steps_tbl = steps_table(steps({"start": "2026-01-15", "dose": 25}), day("2026-01-25"))
    table = visit_comparison_table(
        daily, daily_side_effect_severity(side_effects(), day("2026-01-25")), daily_prescription(steps_tbl), steps_tbl,
        visits(("2026-01-15", "in person"), ("2026-01-22", "telehealth")), day("2026-01-25"), T)
    want = pd.DataFrame({**COMPARISON_BASE, "diary_days": expected["diary_days"],
                         "completeness": expected["completeness"], "mean_pain": expected["mean_pain"],
                         "mean_sleep": [NAN] * 3, "mean_mood": [5.0] * 3, "mean_function": [NAN] * 3, "peg": [NAN] * 3,
                         "change_from_baseline": expected["change_from_baseline"],
                         "change_from_baseline_pct": expected["change_from_baseline_pct"],
                         "responder": pd.Series(expected["responder"], dtype="object"),
                         "reduction_ge_2_points": pd.Series(expected["reduction_ge_2_points"], dtype="object")})
    assert_frame_equal(table, want)


def test_visit_comparison_table_without_steps_or_visits_has_the_baseline_row_only():
    daily = daily_values(daily_diary("2026-01-01", [5, 5, 5]), day("2026-01-25"))
    steps_tbl = steps_table(steps(), day("2026-01-25"))
    table = visit_comparison_table(daily, daily_side_effect_severity(side_effects(), day("2026-01-25")),
                                   daily_prescription(steps_tbl), steps_tbl, visits(), day("2026-01-25"), T)
    assert table["period"].tolist() == ["baseline"]
    assert table["start"].isna().all() and table["mean_pain"].isna().all()


@pytest.mark.parametrize(
    ("visit_rows", "expected"),
    [
        ([("2026-01-02", "in person"), ("2026-01-04", "telehealth")], pd.DataFrame({
            "interval_start": dates("2026-01-02", "2026-01-02", "2026-01-04", "2026-01-04"),
            "days_since_visit": [0, 1, 0, 2], "pain": [2.0, 3.0, 4.0, 6.0], "is_latest": [False, False, True, True],
            "diary_date": dates("2026-01-02", "2026-01-03", "2026-01-04", "2026-01-06")})),
        ([], pd.DataFrame({
            "interval_start": pd.Series(dtype="datetime64[ns]"), "days_since_visit": pd.Series(dtype="int64"),
            "pain": pd.Series(dtype="float64"), "is_latest": pd.Series(dtype="bool"),
            "diary_date": pd.Series(dtype="datetime64[ns]")})),
    ],
)
def test_visit_aligned_pain(visit_rows, expected):
    daily = daily_values(daily_diary("2026-01-01", [1, 2, 3, 4, None, 6]), day("2026-01-06"))
    assert_frame_equal(visit_aligned_pain(daily, visits(*visit_rows), day("2026-01-06")), expected)
