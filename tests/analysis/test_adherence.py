"""Doses taken against prescribed, and each day's prescribed maximum."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.adherence import (
    Schedule,
    daily_dose,
    daily_prescription,
    over_prescribed_days,
    period_adherence,
    schedule,
)
from dashboard.analysis.daily import daily_values
from dashboard.analysis.periods import steps_table
from tests.analysis import daily_diary, dates, day, diary, steps

NAN = float("nan")


@pytest.mark.parametrize(
    ("frequency", "max_per_day", "expected"),
    [
        ("daily", None, Schedule(1.0, 1, 1.0)),
        (" Daily ", None, Schedule(1.0, 1, 1.0)),
        ("twice daily", None, Schedule(2.0, 1, 2.0)),
        ("every other day", None, Schedule(0.5, 7, 4.0)),
        ("3 per week", None, Schedule(3 / 7, 7, 3.0)),
        ("2 times per week", None, Schedule(2 / 7, 7, 2.0)),
        ("as needed", 3.0, Schedule(None, 1, 3.0)),
        ("as needed", None, Schedule(None, 1, None)),
        ("PRN", 2.0, Schedule(None, 1, 2.0)),
        ("every full moon", None, None),
        (None, None, None),
    ],
)
def test_schedule(frequency, max_per_day, expected):
    assert schedule(frequency, max_per_day) == expected


def test_daily_prescription_covers_troche_days_only():
    steps_tbl = steps_table(steps(
        {"start": "2026-03-01", "dose": 25, "frequency": "twice daily"},
        {"start": "2026-03-03", "dose": 50, "frequency": "as needed", "max_per_day": 2},
        {"start": "2026-03-02", "dose": 35, "route": "IV", "end": "2026-03-02"},
    ), day("2026-03-04"))
    expected = pd.DataFrame({
        "date": dates("2026-03-01", "2026-03-02", "2026-03-03", "2026-03-04"), "step_id": [1, 1, 2, 2],
        "doses_prescribed": [2.0, 2.0, NAN, NAN], "mg_prescribed": [50.0, 50.0, NAN, NAN],
    })
    assert_frame_equal(daily_prescription(steps_tbl), expected)


@pytest.mark.parametrize(
    ("doses", "step", "expected"),
    [
        # Daily 50 mg over 4 days, 3 taken (a day without an entry still counts as prescribed).
        ([50, 50, None, 50], {"frequency": "daily"},
         {"doses_taken": 3.0, "doses_prescribed": 4.0, "mg_taken": 150.0, "mg_prescribed": 200.0,
          "doses_pct": 75.0, "mg_pct": 75.0}),
        # Every other day over 4 days: 2 expected.
        ([50, 0, 50, 0], {"frequency": "every other day"},
         {"doses_taken": 2.0, "doses_prescribed": 2.0, "mg_taken": 100.0, "mg_prescribed": 100.0,
          "doses_pct": 100.0, "mg_pct": 100.0}),
        # As needed allows no count.
        ([50, 50, 50, 50], {"frequency": "as needed", "max_per_day": 2},
         {"doses_taken": 4.0, "doses_prescribed": None, "mg_taken": 200.0, "mg_prescribed": None,
          "doses_pct": None, "mg_pct": None}),
        # No dose recorded: taken is unknown, not 0.
        ([None, None, None, None], {"frequency": "daily"},
         {"doses_taken": None, "doses_prescribed": 4.0, "mg_taken": None, "mg_prescribed": 200.0,
          "doses_pct": None, "mg_pct": None}),
    ],
)
def test_period_adherence(doses, step, expected):
    entries = diary(*[{"date": f"2026-03-0{i + 1}", "pain": 5, "dose_mg": d} for i, d in enumerate(doses)])
    daily = daily_values(entries, day("2026-03-04"))
    steps_tbl = steps_table(steps({"start": "2026-03-01", "dose": 50, **step}), day("2026-03-04"))
    assert period_adherence(daily, daily_prescription(steps_tbl), day("2026-03-01"), day("2026-03-04")) == expected


def test_period_adherence_without_a_step_has_nothing_prescribed():
    daily = daily_values(daily_diary("2026-03-01", [50, 50], measure="dose_mg"), day("2026-03-04"))
    result = period_adherence(daily, daily_prescription(steps_table(steps(), day("2026-03-04"))),
                              day("2026-03-01"), day("2026-03-04"))
    assert result == {"doses_taken": 2.0, "doses_prescribed": None, "mg_taken": 100.0, "mg_prescribed": None,
                      "doses_pct": None, "mg_pct": None}


def _over(doses: list, **step) -> list[tuple]:
    daily = daily_values(daily_diary("2026-03-01", doses, measure="dose_mg"), day("2026-03-31"))
    steps_tbl = steps_table(steps({"start": "2026-03-01", "dose": 50, **step}), day("2026-03-31"))
    result = over_prescribed_days(daily, steps_tbl)
    return [(f"{r.diary_date:%d}", r.taken_mg, r.max_mg, r.over) for r in result.itertuples()]


@pytest.mark.parametrize(
    ("doses", "step", "expected"),
    [
        # Daily 50: 50 is the maximum (not over), 50.5 is over.
        ([50, 50.5, None], {"frequency": "daily"}, [("01", 50.0, 50.0, False), ("02", 50.5, 50.0, True)]),
        ([100, 125], {"frequency": "twice daily"}, [("01", 100.0, 100.0, False), ("02", 125.0, 100.0, True)]),
        ([150, 100.1], {"frequency": "as needed", "max_per_day": 3}, [("01", 150.0, 150.0, False),
                                                                    ("02", 100.1, 150.0, False)]),
        ([150], {"frequency": "as needed"}, []),  # no maximum to compare with
        # Every other day: a 7-day total of 4 doses (200 mg) is allowed, a fifth is not.
        ([50, None, 50, None, 50, None, 50], {"frequency": "every other day"},
         [("01", 50.0, 200.0, False), ("03", 100.0, 200.0, False), ("05", 150.0, 200.0, False),
          ("07", 200.0, 200.0, False)]),
        ([50, 50, 50, 50, 50], {"frequency": "every other day"},
         [("01", 50.0, 200.0, False), ("02", 100.0, 200.0, False), ("03", 150.0, 200.0, False),
          ("04", 200.0, 200.0, False), ("05", 250.0, 200.0, True)]),
        # 2 per week: the window is 7 days, so day 8 no longer sees day 1.
        ([50, None, None, 50, None, None, None, 50], {"frequency": "2 per week"},
         [("01", 50.0, 100.0, False), ("04", 100.0, 100.0, False), ("08", 100.0, 100.0, False)]),
        ([50, None, None, 50, None, None, 50], {"frequency": "2 per week"},
         [("01", 50.0, 100.0, False), ("04", 100.0, 100.0, False), ("07", 150.0, 100.0, True)]),
        ([12.5, 12.5, 12.5, 12.5], {"frequency": "every other day", "dose": 12.5},
         [("01", 12.5, 50.0, False), ("02", 25.0, 50.0, False), ("03", 37.5, 50.0, False), ("04", 50.0, 50.0, False)]),
    ],
)
def test_over_prescribed_days(doses, step, expected):
    assert _over(doses, **step) == expected


def test_over_prescribed_days_ignore_other_routes_and_days_without_a_step():
    daily = daily_values(daily_diary("2026-03-01", [500, 500], measure="dose_mg"), day("2026-03-31"))
    steps_tbl = steps_table(steps({"start": "2026-03-02", "dose": 50, "route": "IV"}), day("2026-03-31"))
    assert over_prescribed_days(daily, steps_tbl).empty


@pytest.mark.parametrize(("dose", "frequency", "max_per_day", "expected"), [
    (50, "daily", None, 50.0),
    (25, "twice daily", None, 50.0),
    (25, "Twice  Daily", None, 50.0),
    (50, "every other day", None, 25.0),
    (35, "3 per week", None, 15.0),
    (20, "as needed", 3, 60.0),
    (20, "as needed", None, None),  # no maximum: no daily amount to judge on
    (20, "whenever", None, None),  # an unknown schedule is not guessed
    (None, "daily", None, None),
])
def test_daily_dose_in_mg_per_day(dose, frequency, max_per_day, expected):
    """review-metrics.md v2, "Doses": steps are compared, labelled and judged on mg/day."""
    result = daily_dose(dose, frequency, max_per_day)
    assert result == (None if expected is None else pytest.approx(expected))


def test_steps_table_carries_the_daily_dose_beside_the_dose():
    table = steps_table(steps({"start": "2026-01-01", "dose": 25, "frequency": "twice daily"},
                              {"start": "2026-02-01", "dose": 40, "frequency": "every other day"}), day("2026-03-01"))
    assert table[["dose_mg", "daily_dose_mg"]].values.tolist() == [[25.0, 50.0], [40.0, 20.0]]
