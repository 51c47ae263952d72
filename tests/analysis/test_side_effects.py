"""Side effects per day, per period and per step: shares of diary days and highest severity."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from dashboard.analysis.side_effects import (
    BY_STEP_COLUMNS,
    daily_side_effect_severity,
    period_side_effects,
    side_effects_by_step,
)
from dashboard.db.models import SIDE_EFFECTS
from tests.analysis import daily_diary, dates, day, side_effects, steps

NAN = float("nan")


def test_daily_side_effect_severity_is_the_days_highest():
    rows = side_effects(
        ("2026-03-01", "nausea", 1, 1), ("2026-03-01", "nausea", 3, 2), ("2026-03-01", "dizziness", 0, 1),
        ("2026-03-02", "bladder", 2, 3), ("2026-03-02", "hiccups", 1, 3),
        ("2026-03-05", "nausea", 3, 4),  # after the as-of date
    )
    result = daily_side_effect_severity(rows, day("2026-03-04"))
    expected = pd.DataFrame(
        {effect: [NAN, NAN] for effect in SIDE_EFFECTS} | {"hiccups": [NAN, 1.0]},
        index=pd.DatetimeIndex(dates("2026-03-01", "2026-03-02"), name="diary_date"),
    )
    expected.loc[pd.Timestamp("2026-03-01"), ["nausea", "dizziness"]] = [3.0, 0.0]
    expected.loc[pd.Timestamp("2026-03-02"), "bladder"] = 2.0
    expected.columns.name = "effect"
    assert_frame_equal(result, expected)


def test_daily_side_effect_severity_without_records():
    result = daily_side_effect_severity(side_effects(), day("2026-03-04"))
    assert result.empty and list(result.columns) == list(SIDE_EFFECTS)


@pytest.mark.parametrize(
    ("rows", "start", "end", "diary_days", "expected"),
    [
        # Nausea on 2 of 4 diary days (one severe); dizziness recorded as none: share 0, not absent.
        ([("2026-03-01", "nausea", 1), ("2026-03-02", "nausea", 3), ("2026-03-02", "dizziness", 0)],
         "2026-03-01", "2026-03-07", 4,
         {"dizziness": {"share_of_days": 0.0, "max_severity": 0, "severe_share_of_days": 0.0},
          "nausea": {"share_of_days": 0.5, "max_severity": 3, "severe_share_of_days": 0.25}}),
        # Outside the period: not there.
        ([("2026-02-28", "nausea", 2)], "2026-03-01", "2026-03-07", 4, {}),
        ([], "2026-03-01", "2026-03-07", 0, {}),
    ],
)
def test_period_side_effects(rows, start, end, diary_days, expected):
    severity = daily_side_effect_severity(side_effects(*rows), day("2026-03-31"))
    assert period_side_effects(severity, day(start), day(end), diary_days) == expected


def test_side_effects_by_step():
    daily = daily_values(daily_diary("2026-03-01", [5] * 10), day("2026-03-10"))
    steps_tbl = steps_table(steps({"start": "2026-03-01", "dose": 25}, {"start": "2026-03-05", "dose": 50}),
                            day("2026-03-10"))
    severity = daily_side_effect_severity(side_effects(
        ("2026-03-01", "nausea", 2), ("2026-03-02", "nausea", 3), ("2026-03-06", "nausea", 0),
        ("2026-03-07", "dizziness", 3)), day("2026-03-10"))
    expected = pd.DataFrame({
        "step_id": [1, 2, 2], "start": dates("2026-03-01", "2026-03-05", "2026-03-05"),
        "end": dates("2026-03-04", "2026-03-10", "2026-03-10"), "effect": ["nausea", "dizziness", "nausea"],
        "diary_days": [4, 6, 6], "days_reported": [2, 1, 0], "share_of_days": [0.5, 1 / 6, 0.0],
        "max_severity": [3, 3, 0], "severe_days": [1, 1, 0], "severe_share_of_days": [0.25, 1 / 6, 0.0],
    })
    assert_frame_equal(side_effects_by_step(severity, daily, steps_tbl), expected)
    no_steps = steps_table(steps(), day("2026-03-10"))
    assert list(side_effects_by_step(severity, daily, no_steps).columns) == BY_STEP_COLUMNS
