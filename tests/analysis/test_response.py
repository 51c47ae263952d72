"""Response windows, the t-interval, step responses and the lowest effective dose."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from scipy import stats as scipy_stats
from pandas.testing import assert_frame_equal

from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from dashboard.analysis.response import (
    WindowStats,
    compare_steps,
    lag1_autocorrelation,
    lowest_effective_dose,
    response_window,
    step_response_table,
    t_interval,
    window_stats,
)
from dashboard.analysis.side_effects import daily_side_effect_severity, side_effects_by_step
from dashboard.config import Thresholds
from tests.analysis import daily_diary, dates, day, side_effects, steps, ts

T = Thresholds()
# Student's t, two-sided 95 % (0.975 quantile), from printed tables, by degrees of freedom.
T_975 = {1: 12.706204736174698, 3: 3.182446305284263, 6: 2.446911851144969}


@pytest.mark.parametrize(
    ("start", "end", "thresholds", "expected"),
    [
        ("2026-01-01", "2026-01-30", T, ("2026-01-15", "2026-01-30", False)),  # 30 days: drop the first 14
        ("2026-01-01", "2026-01-21", T, ("2026-01-15", "2026-01-21", False)),  # 21 days: exactly 7 remain
        ("2026-01-01", "2026-01-20", T, ("2026-01-14", "2026-01-20", True)),  # 20 days: early, last 7 days
        ("2026-01-01", "2026-01-05", T, ("2026-01-01", "2026-01-05", True)),  # shorter than 7: the whole step
        ("2026-01-01", "2026-01-01", T, ("2026-01-01", "2026-01-01", True)),
        ("2026-01-01", "2026-01-20", Thresholds(onset_days=7), ("2026-01-08", "2026-01-20", False)),
        ("2026-01-01", "2026-01-30", Thresholds(min_response_days=20), ("2026-01-11", "2026-01-30", True)),
    ],
)
def test_response_window(start, end, thresholds, expected):
    window_start, window_end, early = response_window(ts(start), ts(end), thresholds)
    assert (f"{window_start:%Y-%m-%d}", f"{window_end:%Y-%m-%d}", early) == expected


def _by_hand(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (n - 1))
    half = T_975[n - 1] * sd / math.sqrt(n)
    return mean - half, mean + half


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        # mean 5, s = sqrt(2/3), n = 4: half-width t(3) * s / 2
        ([4.0, 5.0, 6.0, 5.0], (5 - T_975[3] * math.sqrt(2 / 3) / 2, 5 + T_975[3] * math.sqrt(2 / 3) / 2)),
        ([4.0, 6.0], (5 - 12.706204736174698, 5 + 12.706204736174698)),
        ([3.0, 3.0, 3.0, 3.0, 3.0, 3.0, 3.0], (3.0, 3.0)),
        ([2.0, 7.5, 4.0, 6.0, 5.5, 3.0, 8.0], _by_hand([2.0, 7.5, 4.0, 6.0, 5.5, 3.0, 8.0])),
        ([4.0, float("nan"), 6.0], (5 - 12.706204736174698, 5 + 12.706204736174698)),
        ([4.0], None),
        ([], None),
    ],
)
def test_t_interval_against_hand_computed(values, expected):
    result = t_interval(values)
    if expected is None:
        assert result is None
    else:
        assert result == pytest.approx(expected, abs=1e-9)


def test_step_response_table():
    # Baseline Jan 1-14 at 8. Step 1 (Jan 15 - Feb 14, 31 days): window Jan 29 - Feb 14 holds 4 and 6.
    # Step 2 (Feb 15 - as of Feb 24, 10 days): early, window Feb 18-24 holds seven 3s.
    pains = [8] * 14 + [7] * 14 + [4, 6] + [None] * 15 + [None] * 3 + [3] * 7
    daily = daily_values(daily_diary("2026-01-01", pains), day("2026-02-24"))
    steps_tbl = steps_table(steps({"start": "2026-01-15", "dose": 25}, {"start": "2026-02-15", "dose": 50}),
                            day("2026-02-24"))
    result = step_response_table(daily, steps_tbl, 8.0, T)
    expected = pd.DataFrame({
        "step_id": [1, 2], "start": dates("2026-01-15", "2026-02-15"), "end": dates("2026-02-14", "2026-02-24"),
        "dose_mg": [25.0, 50.0], "daily_dose_mg": [25.0, 50.0], "frequency": ["daily", "daily"],
        "route": ["troche", "troche"],
        "window_start": dates("2026-01-29", "2026-02-18"), "window_end": dates("2026-02-14", "2026-02-24"),
        "early": [False, True], "response_pain": [5.0, 3.0],
        "response_diary_days": [2, 7], "response_pain_days": [2, 7],
        "response_sd": [math.sqrt(2), 0.0], "response_r1": [0.0, 0.0], "response_n_eff": [2.0, 7.0],
        "ci_low": [5 - T_975[1], 3.0], "ci_high": [5 + T_975[1], 3.0],
        "response_change": [-3.0, -5.0], "response_change_pct": [-37.5, -62.5],
        "responder": pd.Series(["moderate", "substantial"], dtype="object"),
        # Step 2 against step 1: d = -2, SE = sqrt(0/7 + 2/2) = 1 with 1 Welch degree of freedom;
        # step 2 is early, so the difference is given but not judged.
        "previous_step_id": pd.Series([None, 1], dtype="object"),
        "vs_difference": [float("nan"), -2.0], "vs_ci_low": [float("nan"), -2 - T_975[1]],
        "vs_ci_high": [float("nan"), -2 + T_975[1]],
        "verdict": pd.Series([None, "too early to judge"], dtype="object"),
    })
    assert_frame_equal(result, expected, atol=1e-9)


@pytest.mark.parametrize(
    ("pains", "baseline_pain", "expected"),
    [
        # No diary in the window: no pain, no CI, no category.
        ([None] * 30, 8.0, (None, 0, None, None, None)),
        # One day: a mean but no interval.
        ([None] * 20 + [4], 8.0, (4.0, 1, None, -50.0, "substantial")),
        # Baseline missing: pain and CI, but no change and no category.
        ([None] * 20 + [4, 6], None, (5.0, 2, 5 - T_975[1], None, None)),
    ],
)
def test_step_response_missing_values(pains, baseline_pain, expected):
    daily = daily_values(daily_diary("2026-01-01", pains), day("2026-01-30"))
    steps_tbl = steps_table(steps({"start": "2026-01-01", "dose": 25}), day("2026-01-30"))
    row = step_response_table(daily, steps_tbl, baseline_pain, T).iloc[0]
    got = [row[k] for k in ("response_pain", "response_diary_days", "ci_low", "response_change_pct", "responder")]
    for value, want in zip(got, expected):
        if want is None:
            assert value is None or math.isnan(value)
        else:
            assert value == pytest.approx(want)


def test_step_response_table_without_steps_is_empty():
    daily = daily_values(daily_diary("2026-01-01", [5, 5]), day("2026-01-30"))
    result = step_response_table(daily, steps_table(steps(), day("2026-01-30")), 8.0, T)
    assert result.empty and result["start"].dtype == "datetime64[ns]"


def _responses(*rows) -> pd.DataFrame:
    """Rows (step_id, start, dose, route, responder[, mg/day])."""
    return pd.DataFrame({
        "step_id": [r[0] for r in rows], "start": dates(*[r[1] for r in rows]),
        "dose_mg": [float(r[2]) for r in rows], "daily_dose_mg": [float(r[5] if len(r) > 5 else r[2]) for r in rows],
        "frequency": ["daily"] * len(rows), "route": [r[3] for r in rows],
        "responder": pd.Series([r[4] for r in rows], dtype="object"),
    })


def _severe(*rows) -> pd.DataFrame:
    """Rows (step_id, severe_days, diary_days)."""
    return pd.DataFrame({"step_id": [r[0] for r in rows], "effect": ["dizziness"] * len(rows),
                         "severe_days": [r[1] for r in rows], "diary_days": [r[2] for r in rows]})


RESPONSES = _responses(
    (1, "2026-01-01", 25, "troche", "minimal"), (2, "2026-02-01", 50, "troche", "moderate"),
    (3, "2026-03-01", 75, "troche", "substantial"), (4, "2026-01-15", 20, "IV", "substantial"),
)


@pytest.mark.parametrize(
    ("responses", "severe", "thresholds", "expected"),
    [
        (RESPONSES, _severe(), T, (50.0, "2026-02-01")),
        # Severe side effects on 10 % of diary days are tolerated; on more, the step does not count.
        (RESPONSES, _severe((2, 2, 20)), T, (50.0, "2026-02-01")),
        (RESPONSES, _severe((2, 3, 20)), T, (75.0, "2026-03-01")),
        (RESPONSES, _severe((2, 3, 20), (3, 1, 2)), T, None),
        (RESPONSES, _severe(), Thresholds(effective_category="minimal"), (25.0, "2026-01-01")),
        (RESPONSES, _severe(), Thresholds(effective_category="substantial"), (75.0, "2026-03-01")),
        (RESPONSES, _severe((2, 3, 20)), Thresholds(severe_share_max_pct=20.0), (50.0, "2026-02-01")),
        # Same dose twice: the earlier step.
        (_responses((1, "2026-01-01", 50, "troche", "moderate"), (2, "2026-02-01", 50, "troche", "substantial")),
         _severe(), T, (50.0, "2026-01-01")),
        # Nothing reaches the category; an IV step never counts (mg of another route).
        (_responses((1, "2026-01-01", 50, "troche", None), (2, "2026-02-01", 50, "troche", "worse"),
                    (3, "2026-01-15", 20, "IV", "substantial")), _severe(), T, None),
        (_responses(), _severe(), T, None),
        # Judged on mg/day: 20 mg twice daily (40 mg/day) is more than 30 mg daily.
        (_responses((1, "2026-01-01", 20, "troche", "moderate", 40), (2, "2026-02-01", 30, "troche", "moderate")),
         _severe(), T, (30.0, "2026-02-01")),
    ],
)
def test_lowest_effective_dose(responses, severe, thresholds, expected):
    result = lowest_effective_dose(responses, severe, thresholds)
    assert (None if result is None else (result["dose_mg"], f"{result['step_start']:%Y-%m-%d}")) == expected


@pytest.mark.parametrize(("severe_days", "expected_dose"), [(0, 25.0), (1, 25.0), (2, 50.0)])
def test_lowest_effective_dose_from_a_diary(severe_days, expected_dose):
    # Baseline 8; both steps bring pain to 4 (substantial). Step 1 has 10 diary days in all;
    # more than 1 severe day (10 %) rules it out.
    pains = [8] * 14 + [None] * 20 + [4] * 10 + [None] * 20 + [4] * 10
    daily = daily_values(daily_diary("2026-01-01", pains), day("2026-03-14"))
    steps_tbl = steps_table(steps({"start": "2026-01-15", "dose": 25}, {"start": "2026-02-14", "dose": 50}),
                            day("2026-03-14"))
    severe = side_effects(*[(f"2026-02-{4 + i:02d}", "dizziness", 3) for i in range(severe_days)])
    severity = daily_side_effect_severity(severe, day("2026-03-14"))
    responses = step_response_table(daily, steps_tbl, 8.0, T)
    result = lowest_effective_dose(responses, side_effects_by_step(severity, daily, steps_tbl), T)
    assert result["dose_mg"] == expected_dose


@pytest.mark.parametrize(("values", "r1", "n_eff"), [
    # Fewer than 10 days: r is taken as 0, the plain t-interval.
    ([1, 2, 3, 4, 5, 6, 7, 8, 9], 0.0, 9.0),
    # 1..10: sum of lag products 57.75 over sum of squares 82.5.
    (list(range(1, 11)), 0.7, 10 * 0.3 / 1.7),
    # Ten zeros then ten ones: (18 x 0.25 - 0.25) / 5.
    ([0] * 10 + [1] * 10, 0.85, 20 * 0.15 / 1.85),
    # Twenty of each: 9.25 / 10 = 0.925, capped at 0.9.
    ([0] * 20 + [1] * 20, 0.9, 40 * 0.1 / 1.9),
    # Alternating days: r < 0 is taken as 0.
    ([2, 6] * 6, 0.0, 12.0),
    # A constant series has no variation to correlate.
    ([5] * 12, 0.0, 12.0),
])
def test_lag1_autocorrelation_and_effective_days(values, r1, n_eff):
    stats_ = window_stats(values)
    assert lag1_autocorrelation(values) == pytest.approx(r1)
    assert (stats_.r1, stats_.n_eff) == (pytest.approx(r1), pytest.approx(n_eff))


def test_autocorrelated_interval_is_wider_than_the_plain_one():
    values = [0] * 20 + [1] * 20
    s = math.sqrt(40 * 0.25 / 39)
    n_eff = 40 * 0.1 / 1.9
    half = scipy_stats.t.ppf(0.975, n_eff - 1) * s / math.sqrt(n_eff)
    assert t_interval(values) == pytest.approx((0.5 - half, 0.5 + half))
    assert half > scipy_stats.t.ppf(0.975, 39) * s / math.sqrt(40) * 3


def test_interval_missing_when_effective_days_below_two():
    assert window_stats(list(range(1, 11))).ci is None  # n_eff 1.76
    assert window_stats([4]).ci is None


def _w(values) -> WindowStats:
    return window_stats(values)


T4 = 2.7764451051977987  # Student's t, 0.975 quantile, 4 degrees of freedom


@pytest.mark.parametrize(("current", "previous", "early", "expected"), [
    # d = -2, SE = sqrt(1/3 + 1/3), Welch df = 4: the interval crosses 0.
    ([4, 5, 6], [6, 7, 8], (False, False), (-2.0, (-2 - T4 * math.sqrt(2 / 3), -2 + T4 * math.sqrt(2 / 3)),
                                             "no clear difference")),
    ([4, 5, 6], [8, 9, 10], (False, False), (-4.0, (-4 - T4 * math.sqrt(2 / 3), -4 + T4 * math.sqrt(2 / 3)),
                                              "better")),
    ([8, 9, 10], [4, 5, 6], (False, False), (4.0, (4 - T4 * math.sqrt(2 / 3), 4 + T4 * math.sqrt(2 / 3)), "worse")),
    # Either step early: the difference and interval are given, the verdict waits.
    ([4, 5, 6], [8, 9, 10], (True, False), (-4.0, (-4 - T4 * math.sqrt(2 / 3), -4 + T4 * math.sqrt(2 / 3)),
                                             "too early to judge")),
    ([4, 5, 6], [8, 9, 10], (False, True), (-4.0, (-4 - T4 * math.sqrt(2 / 3), -4 + T4 * math.sqrt(2 / 3)),
                                             "too early to judge")),
    # One day in a window: no interval, too few days.
    ([4], [8, 9, 10], (False, False), (-5.0, None, "too few days")),
    ([], [8, 9, 10], (False, False), (None, None, "too few days")),
    # v3 precedence: an early step is too early to judge whatever n_eff (v2 said too few days).
    ([], [8, 9, 10], (True, False), (None, None, "too early to judge")),
    ([4], [8, 9, 10], (False, True), (-5.0, None, "too early to judge")),
])
def test_compare_steps_welch_interval_and_verdict(current, previous, early, expected):
    result = compare_steps(_w(current), _w(previous), current_early=early[0], previous_early=early[1])
    difference, ci, verdict = expected
    assert result.verdict == verdict
    assert result.difference == (None if difference is None else pytest.approx(difference))
    assert result.ci == (None if ci is None else pytest.approx(ci))


def test_welch_degrees_of_freedom_with_unequal_windows():
    # s1^2/n1 = 1/3, s2^2/n2 = 4/5 (values 2 apart); df = (1/3 + 4/5)^2 / ((1/3)^2/2 + (4/5)^2/4)
    result = compare_steps(_w([4, 5, 6]), _w([3, 5, 7, 9, 11]), current_early=False, previous_early=False)
    v1, v2 = 1 / 3, 10 / 5
    df = (v1 + v2) ** 2 / (v1 ** 2 / 2 + v2 ** 2 / 4)
    half = scipy_stats.t.ppf(0.975, df) * math.sqrt(v1 + v2)
    assert result.ci == pytest.approx((-2 - half, -2 + half))


def test_a_raised_step_is_compared_on_mg_per_day_with_the_previous_troche_step():
    # 25 mg daily, then an IV session, then 20 mg twice daily (40 mg/day): the troche steps are compared.
    pains = [8] * 14 + [6] * 40 + [4] * 40
    daily = daily_values(daily_diary("2026-01-01", pains), day("2026-04-04"))
    steps_tbl = steps_table(steps({"start": "2026-01-15", "dose": 25},
                                  {"start": "2026-02-01", "dose": 35, "route": "IV", "end": "2026-02-01"},
                                  {"start": "2026-02-24", "dose": 20, "frequency": "twice daily"}),
                            day("2026-04-04"))
    table = step_response_table(daily, steps_tbl, 8.0, T)
    troche = table[table["route"] == "troche"]
    assert troche["daily_dose_mg"].tolist() == [25.0, 40.0]
    assert troche["previous_step_id"].tolist() == [None, 1]
    iv = table[table["route"] == "IV"].iloc[0]
    assert iv["verdict"] is None and iv["previous_step_id"] is None
    assert troche["verdict"].tolist() == [None, "better"]
    assert troche["vs_difference"].iloc[1] == pytest.approx(-2.0)
