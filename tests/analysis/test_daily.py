"""Daily values: each diary day weighs once, the as-of date cuts, not recorded stays missing."""

from __future__ import annotations

import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pandas.testing import assert_frame_equal

from dashboard.analysis.daily import DAILY_COLUMNS, daily_values, rolling_means, rolling_pain
from tests.analysis import daily_diary, dates, day, diary
from tests.hypothesis_profiles import examples

NAN = float("nan")


def test_daily_values_frame():
    entries = diary(
        {"date": "2026-03-01", "at": "2026-03-01T08:00", "pain": 6, "mood": 4, "dose_mg": 25,
         "bp_systolic": 150, "bp_diastolic": 95},
        {"date": "2026-03-01", "at": "2026-03-01T20:00", "pain": 4, "dose_mg": 25,
         "bp_systolic": 130, "bp_diastolic": 101},
        {"date": "2026-03-03", "pain": 5, "sleep": 7, "dose_mg": 0},
    )
    expected = pd.DataFrame({
        "diary_date": dates("2026-03-01", "2026-03-03"), "n_entries": [2, 1],
        "pain": [5.0, 5.0], "pain_worst": [NAN, NAN], "sleep": [NAN, 7.0], "mood": [4.0, NAN], "function": [NAN, NAN],
        "enjoyment_interference": [NAN, NAN], "activity_interference": [NAN, NAN], "peg": [NAN, NAN],
        "dose_taken_mg": [50.0, 0.0], "doses_taken": [2.0, 0.0],
        "bp_systolic": [150.0, NAN], "bp_diastolic": [101.0, NAN],
    })
    assert_frame_equal(daily_values(entries, day("2026-03-31")), expected)


@pytest.mark.parametrize(
    ("entries", "expected_pain"),
    [
        # Three entries on one day and one on the next: the day with three weighs once.
        ([("2026-03-01", 8), ("2026-03-01", 8), ("2026-03-01", 2), ("2026-03-02", 2)], [6.0, 2.0]),
        # An entry that did not record pain does not pull the day's mean to 0.
        ([("2026-03-01", 6), ("2026-03-01", None)], [6.0]),
        ([("2026-03-01", None)], [NAN]),
    ],
)
def test_multiple_entries_a_day_weigh_once(entries, expected_pain):
    frame = diary(*[{"date": d, "at": f"{d}T{8 + i:02d}:00", "pain": p, "mood": 5} for i, (d, p) in enumerate(entries)])
    result = daily_values(frame, day("2026-03-31"))
    assert result["pain"].tolist() == pytest.approx(expected_pain, nan_ok=True)


@pytest.mark.parametrize(
    ("entries", "expected_days"),
    [
        # 23:30 at UTC-05:00 is 04:30 UTC the next day; the patient's own date is the 1st.
        ([("2026-03-01T23:30", -300, "2026-03-01"), ("2026-03-02T07:00", 0, "2026-03-02")],
         ["2026-03-01", "2026-03-02"]),
        # 00:30 at UTC+02:00 is still the previous evening in UTC; the patient's date is the 2nd.
        ([("2026-03-02T00:30", 120, "2026-03-02"), ("2026-03-01T21:00", 120, "2026-03-01")],
         ["2026-03-01", "2026-03-02"]),
        # Two entries around midnight local time, same diary date given at import.
        ([("2026-03-01T23:59", 60, "2026-03-01"), ("2026-03-01T00:01", 60, "2026-03-01")], ["2026-03-01"]),
    ],
)
def test_diary_date_decides_the_day_not_the_timestamp(entries, expected_days):
    frame = diary(*[{"date": d, "at": at, "utc_offset_minutes": off, "pain": 5} for at, off, d in entries])
    assert daily_values(frame, day("2026-03-31"))["diary_date"].tolist() == [pd.Timestamp(d) for d in expected_days]


@pytest.mark.parametrize(
    ("as_of", "expected_days"),
    [("2026-03-02", 2), ("2026-03-01", 1), ("2026-02-28", 0), ("2026-03-10", 3)],
)
def test_nothing_after_as_of_counts(as_of, expected_days):
    frame = diary(*[{"date": f"2026-03-0{i}", "pain": i} for i in (1, 2, 3)])
    assert len(daily_values(frame, day(as_of))) == expected_days


def test_no_diary_gives_an_empty_frame_with_the_columns():
    result = daily_values(diary(), day("2026-03-01"))
    assert list(result.columns) == DAILY_COLUMNS
    assert result.empty
    assert result["diary_date"].dtype == "datetime64[ns]"
    assert result["pain"].dtype == "float64"


@pytest.mark.parametrize(
    ("entries", "expected_peg"),
    [
        # PEG = mean of pain, enjoyment and activity interference (Krebs 2009).
        ([{"pain": 6, "enjoyment_interference": 3, "activity_interference": 6}], 5.0),
        # A stored PEG score is the instrument's own answer.
        ([{"pain": 6, "enjoyment_interference": 3, "activity_interference": 6, "peg": 4.5}], 4.5),
        ([{"peg": 7}], 7.0),
        # Two items only: not a PEG.
        ([{"pain": 6, "enjoyment_interference": 3}], NAN),
        # Items from two entries of the same day combine through their daily means.
        ([{"pain": 8, "enjoyment_interference": 2}, {"pain": 4, "activity_interference": 6}], (6 + 2 + 6) / 3),
    ],
)
def test_peg(entries, expected_peg):
    frame = diary(*[{"date": "2026-03-01", "at": f"2026-03-01T{10 + i}:00", **e} for i, e in enumerate(entries)])
    result = daily_values(frame, day("2026-03-01"))["peg"].iloc[0]
    assert (math.isnan(result) and math.isnan(expected_peg)) or result == pytest.approx(expected_peg)


@pytest.mark.parametrize(
    ("doses", "expected_total", "expected_count"),
    [([25, 25], 50.0, 2.0), ([None, None], NAN, NAN), ([0], 0.0, 0.0), ([12.5, None, 0], 12.5, 1.0)],
)
def test_daily_dose_total_and_count(doses, expected_total, expected_count):
    frame = diary(*[{"date": "2026-03-01", "at": f"2026-03-01T{10 + i}:00", "pain": 3, "dose_mg": d}
                    for i, d in enumerate(doses)])
    row = daily_values(frame, day("2026-03-01")).iloc[0]
    assert row["dose_taken_mg"] == pytest.approx(expected_total, nan_ok=True)
    assert row["doses_taken"] == pytest.approx(expected_count, nan_ok=True)


@pytest.mark.parametrize(
    ("pains", "window", "min_days", "expected"),
    [
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 7, 1, [2.0, 3.0, 4.0]),
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 2, 1, [2.0, 3.0, 5.0]),
        # 8 days apart: the first falls out of the 7-day window.
        ({"2026-03-01": 2, "2026-03-09": 6}, 7, 1, [2.0, 6.0]),
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 7, 2, [NAN, 3.0, 4.0]),
    ],
)
def test_rolling_pain(pains, window, min_days, expected):
    daily = daily_values(diary(*[{"date": d, "pain": p} for d, p in pains.items()]), day("2026-03-31"))
    result = rolling_pain(daily, window=window, min_days=min_days)
    assert_frame_equal(result, pd.DataFrame({
        "diary_date": dates(*pains), "pain": [float(p) for p in pains.values()], "pain_rolling": expected,
    }))


@settings(max_examples=examples(60), deadline=None)
@given(st.lists(st.tuples(st.integers(1, 9), st.one_of(st.none(), st.integers(0, 10))), min_size=1, max_size=25))
def test_daily_pain_is_the_plain_mean_of_each_days_entries(entries):
    frame = diary(*[{"date": f"2026-03-0{d}", "at": f"2026-03-0{d}T{i % 24:02d}:{i // 24:02d}", "pain": p, "mood": 5}
                    for i, (d, p) in enumerate(entries)])
    by_day: dict[str, list[int]] = {}
    for d, p in entries:
        by_day.setdefault(f"2026-03-0{d}", [])
        if p is not None:
            by_day[f"2026-03-0{d}"].append(p)
    result = daily_values(frame, day("2026-03-31"))
    assert result["diary_date"].dt.strftime("%Y-%m-%d").tolist() == sorted(by_day)
    expected = [sum(v) / len(v) if v else NAN for _, v in sorted(by_day.items())]
    assert result["pain"].tolist() == pytest.approx(expected, nan_ok=True)


@pytest.mark.parametrize(("values", "expected"), [
    # A calendar window: the 01-10 value does not reach back to 01-01.
    ([2, None, None, None, None, None, None, None, None, 4], [2.0, 4.0]),
    ([2, 4, 6], [2.0, 3.0, 4.0]),
    ([1, 1, 1, 1, 1, 1, 1, 8], [1.0] * 7 + [(6 + 8) / 7]),
])
def test_rolling_means_over_seven_calendar_days(values, expected):
    from dashboard.analysis.daily import rolling_means

    daily = daily_values(daily_diary("2026-01-01", values, measure="sleep"), day("2026-01-31"))
    assert rolling_means(daily)["sleep_7d"].tolist() == pytest.approx(expected)
    assert rolling_means(daily)["mood_7d"].isna().all()


def days_with(**columns: dict[str, float]) -> pd.DataFrame:
    """A daily frame: one row per date named in any column, in the order first named."""
    names = list(dict.fromkeys(d for values in columns.values() for d in values))
    frame = pd.DataFrame({"diary_date": dates(*names)})
    for col, values in columns.items():
        frame[col] = [float(values.get(d, NAN)) for d in names]
    return frame


@pytest.mark.parametrize(
    ("sleep", "window", "min_days", "expected"),
    [
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 7, 1, [2.0, 3.0, 4.0]),
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 2, 1, [2.0, 3.0, 5.0]),
        # 8 days apart: the first falls out of the 7-day window (calendar days, not rows).
        ({"2026-03-01": 2, "2026-03-09": 6}, 7, 1, [2.0, 6.0]),
        # 7 days apart: still inside (the window is the 7 days ending on the day).
        ({"2026-03-01": 2, "2026-03-07": 6}, 7, 1, [2.0, 4.0]),
        ({"2026-03-01": 2, "2026-03-02": 4, "2026-03-03": 6}, 7, 2, [NAN, 3.0, 4.0]),
        # A day without its own value gets no mean, and does not count as 0 for the next.
        ({"2026-03-01": 2, "2026-03-02": NAN, "2026-03-03": 6}, 7, 1, [2.0, NAN, 4.0]),
        # Rows out of date order keep their order; the window follows the calendar.
        ({"2026-03-03": 6, "2026-03-01": 2, "2026-03-02": 4}, 7, 1, [4.0, 2.0, 3.0]),
    ],
)
def test_rolling_means_by_calendar_window(sleep, window, min_days, expected):
    daily = days_with(sleep=sleep)
    result = rolling_means(daily, columns=("sleep",), window=window, min_days=min_days)
    assert_frame_equal(result, daily.assign(**{f"sleep_{window}d": expected}))


def test_rolling_means_default_columns_each_on_its_own_days():
    daily = days_with(sleep={"2026-03-01": 4, "2026-03-02": 6},
                      mood={"2026-03-01": 3, "2026-03-03": 5},
                      function={"2026-03-02": 7, "2026-03-03": 9},
                      pain={"2026-03-01": 8, "2026-03-02": 8, "2026-03-03": 8})
    result = rolling_means(daily)
    assert list(result.columns) == [*daily.columns, "sleep_7d", "mood_7d", "function_7d"]
    assert result["sleep_7d"].tolist() == pytest.approx([4.0, 5.0, NAN], nan_ok=True)
    assert result["mood_7d"].tolist() == pytest.approx([3.0, NAN, 4.0], nan_ok=True)
    assert result["function_7d"].tolist() == pytest.approx([NAN, 7.0, 8.0], nan_ok=True)
    assert "sleep_7d" not in daily  # the input is left alone


def test_rolling_means_of_an_empty_frame():
    result = rolling_means(days_with(sleep={}, mood={}, function={}))
    assert result.empty and list(result.columns)[-3:] == ["sleep_7d", "mood_7d", "function_7d"]
