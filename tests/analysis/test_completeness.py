"""Completeness: diary days over calendar days, for a period, the last 30 days and each week."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.completeness import completeness, completeness_last_days, weekly_completeness
from dashboard.analysis.daily import daily_values
from tests.analysis import daily_diary, dates, day, diary


@pytest.mark.parametrize(
    ("values", "start", "end", "expected"),
    [
        ([5, 5, None, 5], "2026-03-01", "2026-03-04", {"days": 4, "diary_days": 3, "completeness": 0.75}),
        ([5, 5, None, 5], "2026-03-03", "2026-03-03", {"days": 1, "diary_days": 0, "completeness": 0.0}),
        ([5], "2026-03-01", "2026-03-10", {"days": 10, "diary_days": 1, "completeness": 0.1}),
        ([], "2026-03-01", "2026-03-10", {"days": 10, "diary_days": 0, "completeness": 0.0}),
        ([5], "2026-03-02", "2026-03-01", {"days": 0, "diary_days": 0, "completeness": None}),
    ],
)
def test_completeness(values, start, end, expected):
    daily = daily_values(daily_diary("2026-03-01", values) if values else diary(), day("2026-03-31"))
    assert completeness(daily, day(start), day(end)) == expected


def test_an_entry_without_any_measure_of_interest_still_makes_a_diary_day():
    daily = daily_values(diary({"date": "2026-03-01", "notes": "slept badly"}), day("2026-03-31"))
    assert completeness(daily, day("2026-03-01"), day("2026-03-02"))["diary_days"] == 1


@pytest.mark.parametrize(("days", "expected_diary_days"), [(30, 21), (21, 21), (22, 21), (7, 7), (1, 1)])
def test_completeness_last_days(days, expected_diary_days):
    daily = daily_values(daily_diary("2026-03-01", [None] * 10 + [5] * 21), day("2026-03-31"))
    result = completeness_last_days(daily, day("2026-03-31"), days)
    assert (result["days"], result["diary_days"], f"{result['start']:%Y-%m-%d}") == (
        days, expected_diary_days, (pd.Timestamp("2026-03-31") - pd.Timedelta(days=days - 1)).strftime("%Y-%m-%d"))


def test_weekly_completeness_counts_back_from_the_as_of_date():
    daily = daily_values(daily_diary("2026-03-01", [5, None, 5] + [5] * 7 + [None] * 5), day("2026-03-15"))
    expected = pd.DataFrame({
        "week_start": dates("2026-03-01", "2026-03-02", "2026-03-09"),
        "week_end": dates("2026-03-01", "2026-03-08", "2026-03-15"),
        "days": [1, 7, 7], "diary_days": [1, 6, 2], "completeness": [1.0, 6 / 7, 2 / 7],
    })
    assert_frame_equal(weekly_completeness(daily, day("2026-03-15")), expected)
    assert weekly_completeness(daily_values(diary(), day("2026-03-15")), day("2026-03-15")).empty
