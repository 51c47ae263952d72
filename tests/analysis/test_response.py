"""Response windows, the t-interval, step responses and the lowest effective dose."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from dashboard.analysis.response import lowest_effective_dose, response_window, step_response_table, t_interval
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
        "dose_mg": [25.0, 50.0], "frequency": ["daily", "daily"], "route": ["troche", "troche"],
        "window_start": dates("2026-01-29", "2026-02-18"), "window_end": dates("2026-02-14", "2026-02-24"),
        "early": [False, True], "response_pain": [5.0, 3.0],
        "response_diary_days": [2, 7], "response_pain_days": [2, 7],
        "ci_low": [5 - T_975[1], 3.0], "ci_high": [5 + T_975[1], 3.0],
        "response_change": [-3.0, -5.0], "response_change_pct": [-37.5, -62.5],
        "responder": pd.Series(["moderate", "substantial"], dtype="object"),
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
    """Rows (step_id, start, dose, route, responder)."""
    return pd.DataFrame({
        "step_id": [r[0] for r in rows], "start": dates(*[r[1] for r in rows]),
        "dose_mg": [float(r[2]) for r in rows], "route": [r[3] for r in rows],
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
