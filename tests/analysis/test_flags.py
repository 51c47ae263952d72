"""Every flag rule, firing and not firing at its threshold edge, and runs merged into one flag."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.adherence import over_prescribed_days
from dashboard.analysis.daily import daily_values
from dashboard.analysis.flags import (
    FLAG_COLUMNS,
    bladder,
    bp_high,
    co_sedative,
    diary_gap,
    dissociation_severe,
    flags_table,
    low_mood,
    no_benefit_escalation,
    over_prescribed,
    pain_spike,
    runs,
)
from dashboard.analysis.periods import steps_table
from dashboard.analysis.side_effects import daily_side_effect_severity
from dashboard.config import Thresholds
from tests.analysis import comedications, daily_diary, dates, day, diary, side_effects, steps

T = Thresholds()
AS_OF = day("2026-03-31")


def spans(flags: pd.DataFrame) -> list[tuple[str, str]]:
    return [(f"{r.start:%m-%d}", f"{r.end:%m-%d}") for r in flags.itertuples()]


def _bp(readings: dict) -> pd.DataFrame:
    """{date: [(systolic, diastolic), ...]} -> daily values."""
    entries = [{"date": d, "at": f"{d}T{8 + i:02d}:00", "pain": 5, "bp_systolic": s, "bp_diastolic": di}
               for d, day_readings in readings.items() for i, (s, di) in enumerate(day_readings)]
    return daily_values(diary(*entries), AS_OF)


@pytest.mark.parametrize(
    ("readings", "thresholds", "expected"),
    [
        ({"2026-03-01": [(160, 80)]}, T, [("03-01", "03-01")]),
        ({"2026-03-01": [(159, 99)]}, T, []),
        ({"2026-03-01": [(120, 100)]}, T, [("03-01", "03-01")]),
        ({"2026-03-01": [(150, 90), (161, 85)]}, T, [("03-01", "03-01")]),  # one high reading of two
        ({"2026-03-01": [(150, 80)]}, Thresholds(bp_systolic_high=150), [("03-01", "03-01")]),
        # High, high, normal, high: two runs.
        ({"2026-03-01": [(165, 90)], "2026-03-02": [(170, 90)], "2026-03-03": [(130, 80)], "2026-03-05": [(162, 90)]},
         T, [("03-01", "03-02"), ("03-05", "03-05")]),
        # Days without a reading neither break nor extend a run.
        ({"2026-03-01": [(165, 90)], "2026-03-04": [(170, 90)]}, T, [("03-01", "03-04")]),
    ],
)
def test_bp_high(readings, thresholds, expected):
    assert spans(bp_high(_bp(readings), thresholds)) == expected


def test_bp_high_detail_names_the_values():
    flags = bp_high(_bp({"2026-03-01": [(165, 90)], "2026-03-02": [(150, 104)]}), T)
    assert flags["detail"].tolist() == [
        "BP >= 160/100 mmHg on 2 days; highest systolic 165, highest diastolic 104 mmHg"]


def _severity(*rows) -> pd.DataFrame:
    return daily_side_effect_severity(side_effects(*rows), AS_OF)


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("2026-03-01", "bladder", 1)], [("03-01", "03-01")]),
        ([("2026-03-01", "bladder", 0)], []),
        ([("2026-03-01", "nausea", 3)], []),
        ([("2026-03-01", "urinary urgency", 2)], [("03-01", "03-01")]),
        # Symptom, symptom, rated none, symptom: two runs.
        ([("2026-03-01", "bladder", 1), ("2026-03-02", "bladder", 2), ("2026-03-03", "bladder", 0),
          ("2026-03-06", "bladder", 1)], [("03-01", "03-02"), ("03-06", "03-06")]),
    ],
)
def test_bladder(rows, expected):
    assert spans(bladder(_severity(*rows), T)) == expected


def test_bladder_detail():
    flags = bladder(_severity(("2026-03-01", "bladder", 1), ("2026-03-02", "bladder", 2)), T)
    assert flags["detail"].tolist() == [
        "bladder/urinary symptom on 2 days, highest severity 2 (possible ketamine cystitis)"]


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("2026-03-01", "dissociation", 3)], [("03-01", "03-01")]),
        ([("2026-03-01", "dissociation", 2)], []),
        ([("2026-03-01", "nausea", 3)], []),
        ([("2026-03-01", "dissociation", 3), ("2026-03-02", "dissociation", 3), ("2026-03-03", "dissociation", 1)],
         [("03-01", "03-02")]),
    ],
)
def test_dissociation_severe(rows, expected):
    assert spans(dissociation_severe(_severity(*rows), T)) == expected


@pytest.mark.parametrize(
    ("doses", "step", "expected", "detail"),
    [
        ([50, 60, 70, 50], {"frequency": "daily"}, [("03-02", "03-03")],
         "daily total up to 70 mg on 2 days; prescribed max 50 mg (50 mg daily)"),
        ([50, 50], {"frequency": "daily"}, [], None),
        ([50, 50, 50, 50, 50], {"frequency": "every other day"}, [("03-05", "03-05")],
         "7-day total up to 250 mg on 1 day; prescribed weekly max 200 mg (50 mg every other day)"),
    ],
)
def test_over_prescribed(doses, step, expected, detail):
    daily = daily_values(daily_diary("2026-03-01", doses, measure="dose_mg"), AS_OF)
    steps_tbl = steps_table(steps({"start": "2026-03-01", "dose": 50, **step}), AS_OF)
    flags = over_prescribed(over_prescribed_days(daily, steps_tbl), T)
    assert spans(flags) == expected
    assert flags["detail"].tolist() == ([detail] if detail else [])


def test_over_prescribed_runs_do_not_cross_steps():
    daily = daily_values(daily_diary("2026-03-01", [60, 60], measure="dose_mg"), AS_OF)
    steps_tbl = steps_table(steps({"start": "2026-03-01", "dose": 50}, {"start": "2026-03-02", "dose": 50}), AS_OF)
    assert spans(over_prescribed(over_prescribed_days(daily, steps_tbl), T)) == [("03-01", "03-01"), ("03-02", "03-02")]


@pytest.mark.parametrize(
    ("texts", "records", "expected"),
    [
        ({"2026-03-01": "oxycodone 10 mg"}, [], [("03-01", "03-01", "opioid: 'oxycodone 10 mg' in the diary's other "
                                                 "medication on 1 day")]),
        ({"2026-03-01": "paracetamol 1 g", "2026-03-02": ""}, [], []),
        # Mentioned, mentioned, something else: one run; a day with no text does not break it.
        ({"2026-03-01": "Valium 5mg", "2026-03-03": "valium 5mg", "2026-03-04": "ibuprofen"}, [],
         [("03-01", "03-03", "benzodiazepine: 'Valium 5mg'; benzodiazepine: 'valium 5mg' in the diary's other "
                             "medication on 2 days")]),
        ({}, [{"name": "Lorazepam 1 MG Oral Tablet", "start": "2026-02-01", "status": "active", "source": "fhir"}],
         [("02-01", "03-31",
           "benzodiazepine: 'Lorazepam 1 MG Oral Tablet' in co-medication records (fhir), 1 record(s)")]),
        # By RxNorm ingredient, a stopped record without end: its start only.
        ({}, [{"name": "Pain tablet", "rxnorm": "7804", "start": "2026-02-01", "status": "stopped", "source": "fhir"}],
         [("02-01", "02-01", "opioid: 'Pain tablet' in co-medication records (fhir), 1 record(s)")]),
        # Two records of one drug: one flag from the first start to the last end.
        ({}, [{"name": "tramadol", "start": "2026-01-01", "end": "2026-01-10"},
              {"name": "tramadol", "start": "2026-02-01", "end": "2026-04-30"}],
         [("01-01", "03-31", "opioid: 'tramadol' in co-medication records (csv), 2 record(s)")]),
        ({}, [{"name": "oxycodone", "start": "2026-04-02"}], []),  # after the as-of date
        ({}, [{"name": "amlodipine", "start": "2026-02-01"}], []),
    ],
)
def test_co_sedative(texts, records, expected):
    entries = diary(*[{"date": d, "pain": 5, "other_medication": t} for d, t in texts.items()])
    flags = co_sedative(entries, comedications(*records), AS_OF)
    assert [(f"{r.start:%m-%d}", f"{r.end:%m-%d}", r.detail) for r in flags.itertuples()] == expected


@pytest.mark.parametrize(
    ("pains", "thresholds", "expected"),
    [
        ([2, 5], T, [("03-02", "03-02")]),
        ([2, 4.9], T, []),
        ([2.1, 5.1], T, [("03-02", "03-02")]),  # 5.1 - 2.1 is 2.9999999999999996 in floating point
        ([2, None, 5], T, [("03-03", "03-03")]),  # against the previous diary day
        ([2, 5, 8, 8], T, [("03-02", "03-03")]),  # two spikes in a row: one run
        ([5, 2], T, []),
        ([2, 4], Thresholds(pain_spike_points=2), [("03-02", "03-02")]),
    ],
)
def test_pain_spike(pains, thresholds, expected):
    assert spans(pain_spike(daily_values(daily_diary("2026-03-01", pains), AS_OF), thresholds)) == expected


def test_pain_spike_detail():
    flags = pain_spike(daily_values(daily_diary("2026-03-01", [2, 6]), AS_OF), T)
    assert flags["detail"].tolist() == ["2026-03-02: pain 6 after 2 (+4)"]


@pytest.mark.parametrize(
    ("moods", "thresholds", "expected"),
    [
        ([2, 2, 2], T, [("03-01", "03-03")]),
        ([2, 2, 3], T, []),
        ([2, 2.5, 2], T, []),
        ([1, 2, 0, 2, 5], T, [("03-01", "03-04")]),  # a run of 4 is one flag
        # Consecutive diary days: a day without an entry does not break the run.
        ([2, None, 2, 2], T, [("03-01", "03-04")]),
        ([3, 3, 3], Thresholds(low_mood_max=3), [("03-01", "03-03")]),
        ([2, 2], Thresholds(low_mood_days=2), [("03-01", "03-02")]),
    ],
)
def test_low_mood(moods, thresholds, expected):
    daily = daily_values(daily_diary("2026-03-01", moods, measure="mood"), AS_OF)
    assert spans(low_mood(daily, thresholds)) == expected


def test_low_mood_skips_a_diary_day_without_mood():
    entries = diary({"date": "2026-03-01", "mood": 1}, {"date": "2026-03-02", "pain": 5},
                    {"date": "2026-03-03", "mood": 2}, {"date": "2026-03-04", "mood": 2})
    flags = low_mood(daily_values(entries, AS_OF), T)
    assert flags["detail"].tolist() == ["mood <= 2 on 3 consecutive diary days (1, 2, 2)"]


@pytest.mark.parametrize(
    ("days", "as_of", "expected"),
    [
        (["2026-03-01", "2026-03-09"], "2026-03-09", [("03-02", "03-08", "7 days without an entry")]),
        (["2026-03-01", "2026-03-08"], "2026-03-08", []),  # 6 days without
        (["2026-03-01"], "2026-03-08", [("03-02", "03-08", "7 days without an entry")]),  # still open on the as-of date
        (["2026-03-01"], "2026-03-07", []),
        ([], "2026-03-31", []),  # no first entry, no gap
    ],
)
def test_diary_gap(days, as_of, expected):
    daily = daily_values(diary(*[{"date": d, "pain": 5} for d in days]), day(as_of))
    flags = diary_gap(daily, day(as_of), T)
    assert [(f"{r.start:%m-%d}", f"{r.end:%m-%d}", r.detail) for r in flags.itertuples()] == expected


def _responses(*rows) -> pd.DataFrame:
    """Rows (start, end, dose, route, response_pain)."""
    return pd.DataFrame({
        "step_id": range(1, len(rows) + 1), "start": dates(*[r[0] for r in rows]), "end": dates(*[r[1] for r in rows]),
        "dose_mg": [float(r[2]) for r in rows], "route": [r[3] for r in rows],
        "response_pain": [float("nan") if r[4] is None else float(r[4]) for r in rows], "early": [False] * len(rows),
    })


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([("2026-01-01", "2026-01-31", 25, "troche", 6), ("2026-02-01", "2026-02-28", 50, "troche", 5)], []),
        ([("2026-01-01", "2026-01-31", 25, "troche", 6), ("2026-02-01", "2026-02-28", 50, "troche", 5.1)],
         [("02-01", "02-28")]),
        ([("2026-01-01", "2026-01-31", 25, "troche", 6), ("2026-02-01", "2026-02-28", 50, "troche", 7)],
         [("02-01", "02-28")]),
        # A lower or equal dose is not an escalation.
        ([("2026-01-01", "2026-01-31", 50, "troche", 6), ("2026-02-01", "2026-02-28", 25, "troche", 7)], []),
        ([("2026-01-01", "2026-01-31", 50, "troche", 6), ("2026-02-01", "2026-02-28", 50, "troche", 7)], []),
        # No response pain: nothing to judge.
        ([("2026-01-01", "2026-01-31", 25, "troche", None), ("2026-02-01", "2026-02-28", 50, "troche", 7)], []),
        # An IV session in between is another route's sequence.
        ([("2026-01-01", "2026-01-31", 25, "troche", 6), ("2026-01-20", "2026-01-20", 100, "IV", 3),
          ("2026-02-01", "2026-02-28", 50, "troche", 5.5)], [("02-01", "02-28")]),
    ],
)
def test_no_benefit_escalation(rows, expected):
    assert spans(no_benefit_escalation(_responses(*rows), T)) == expected


def test_no_benefit_escalation_detail():
    flags = no_benefit_escalation(_responses(("2026-01-01", "2026-01-31", 25, "troche", 6),
                                             ("2026-02-01", "2026-02-28", 50, "troche", 5.5)), T)
    assert flags["detail"].tolist() == [
        "dose 25 -> 50 mg; response pain 5.5 vs 6 before (-0.5; needs a drop of 1)"]


def test_flags_table_orders_by_date_then_rule():
    entries = diary(
        {"date": "2026-03-01", "pain": 2, "mood": 2},
        {"date": "2026-03-02", "pain": 6, "mood": 2, "bp_systolic": 170, "bp_diastolic": 90},
        {"date": "2026-03-03", "pain": 6, "mood": 2},
    )
    flags = flags_table(diary=entries, side_effects=side_effects(("2026-03-02", "bladder", 1, 2)), steps=steps(),
                        comedications=comedications(), as_of=day("2026-03-03"), thresholds=T)
    expected = pd.DataFrame({
        "rule": ["low_mood", "bladder", "bp_high", "pain_spike"],
        "start": dates("2026-03-01", "2026-03-02", "2026-03-02", "2026-03-02"),
        "end": dates("2026-03-03", "2026-03-02", "2026-03-02", "2026-03-02"),
        "detail": ["mood <= 2 on 3 consecutive diary days (2, 2, 2)",
                   "bladder/urinary symptom on 1 day, highest severity 1 (possible ketamine cystitis)",
                   "BP >= 160/100 mmHg on 1 day; highest systolic 170, highest diastolic 90 mmHg",
                   "2026-03-02: pain 6 after 2 (+4)"],
    }).astype({"rule": "object", "detail": "object"})
    assert_frame_equal(flags, expected)


def test_flags_table_of_an_empty_record():
    flags = flags_table(diary=diary(), side_effects=side_effects(), steps=steps(), comedications=comedications(),
                        as_of=AS_OF, thresholds=T)
    assert flags.empty and list(flags.columns) == FLAG_COLUMNS


@pytest.mark.parametrize(
    ("fired", "expected"),
    [
        ([True, True, False, True], [[0, 1], [3]]),
        ([False, False], []),
        ([True, True, True], [[0, 1, 2]]),
        ([False, True, False, True, True], [[1], [3, 4]]),
        ([], []),
    ],
)
def test_runs(fired, expected):
    days = pd.DataFrame({"n": range(len(fired))})
    assert [run["n"].tolist() for run in runs(days, pd.Series(fired, dtype="bool"))] == expected
