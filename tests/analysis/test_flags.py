"""Every flag rule, firing and not firing at its threshold edge, and runs merged into one flag."""

from __future__ import annotations

import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.analysis.adherence import over_prescribed_days
from dashboard.analysis.daily import daily_values
from dashboard.analysis.course_flags import diary_gap, low_mood, no_benefit_escalation, pain_spike
from dashboard.analysis.flag_rules import FLAG_COLUMNS, run_spans
from dashboard.analysis.flags import flag_status, flags_table, open_flag_counts
from dashboard.analysis.safety_flags import (
    bladder, bp_high, co_sedative, dissociation_severe, over_prescribed, self_harm_thoughts,
)
from dashboard.analysis.periods import steps_table
from dashboard.analysis.side_effects import daily_side_effect_severity
from dashboard.config import Thresholds
from tests.analysis import comedications, daily_diary, dates, day, diary, side_effects, steps, ts

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


def test_bp_high_detail_skips_a_reading_not_taken():
    """A day with only a diastolic reading still counts, and its missing systolic is not the highest."""
    flags = bp_high(_bp({"2026-03-01": [(None, 102)], "2026-03-02": [(166, 90)]}), T)
    assert flags["detail"].tolist() == [
        "BP >= 160/100 mmHg on 2 days; highest systolic 166, highest diastolic 102 mmHg"]
    only_diastolic = bp_high(_bp({"2026-03-01": [(None, 102)]}), T)
    assert only_diastolic["detail"].tolist() == [
        "BP >= 160/100 mmHg on 1 day; highest systolic not recorded, highest diastolic 102 mmHg"]


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
        ([2, 2, 2, 5], T, [("03-04", "03-04")]),
        ([2, 2, 2, 4.9], T, []),
        ([2.1, 2.1, 2.1, 5.1], T, [("03-04", "03-04")]),  # 5.1 - 2.1 is 2.9999999999999996 in floating point
        ([2, 2, 5], T, []),  # only 2 earlier days with pain: too few to judge a spike
        ([2, 5], T, []),  # version 1 fired here (against one day before); version 2 is quieter
        ([2, 2, 2, 5, 8], T, [("03-04", "03-05")]),  # two spike days in a row: one run
        ([2, 2, 2, None, 5], T, [("03-05", "03-05")]),  # against diary days, not calendar days
        # Earlier days count only within the previous 14 calendar days: 03-01 is 15 days before 03-16.
        ([2, 2, 2] + [None] * 12 + [5], T, []),
        ([2, 2, 2, 2] + [None] * 11 + [5], T, [("03-16", "03-16")]),
        # Only the previous 7 diary days: the 10 eight days back does not raise the reference.
        ([10, 4, 4, 4, 4, 4, 4, 4, 7], T, [("03-09", "03-09")]),
        ([5, 5, 5, 2], T, []),
        ([2, 2, 2, 4], Thresholds(pain_spike_points=2), [("03-04", "03-04")]),
    ],
)
def test_pain_spike(pains, thresholds, expected):
    assert spans(pain_spike(daily_values(daily_diary("2026-03-01", pains), AS_OF), thresholds)) == expected


def test_pain_spike_detail():
    flags = pain_spike(daily_values(daily_diary("2026-03-01", [2, 2, 2, 6]), AS_OF), T)
    assert flags["detail"].tolist() == ["pain 6 at most, up to +4 over the previous week's mean, on 1 day"]


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


PER_DAY = {"daily": 1.0, "twice daily": 2.0, "every other day": 0.5}


def _responses(*rows) -> pd.DataFrame:
    """Rows (start, end, dose, route, response_pain[, frequency[, early]])."""
    freq = [r[5] if len(r) > 5 else "daily" for r in rows]
    return pd.DataFrame({
        "step_id": range(1, len(rows) + 1), "start": dates(*[r[0] for r in rows]), "end": dates(*[r[1] for r in rows]),
        "dose_mg": [float(r[2]) for r in rows], "daily_dose_mg": [float(r[2]) * PER_DAY[f] for r, f in zip(rows, freq)],
        "frequency": freq, "route": [r[3] for r in rows],
        "response_pain": [float("nan") if r[4] is None else float(r[4]) for r in rows],
        "early": [r[6] if len(r) > 6 else False for r in rows],
    })


JAN, FEB = ("2026-01-01", "2026-01-31"), ("2026-02-01", "2026-02-28")


@pytest.mark.parametrize(
    ("rows", "expected"),
    [
        ([(*JAN, 25, "troche", 6), (*FEB, 50, "troche", 5)], []),
        ([(*JAN, 25, "troche", 6), (*FEB, 50, "troche", 5.1)], [("02-01", "02-28")]),
        ([(*JAN, 25, "troche", 6), (*FEB, 50, "troche", 7)], [("02-01", "02-28")]),
        # A lower or equal daily dose is not an escalation.
        ([(*JAN, 50, "troche", 6), (*FEB, 25, "troche", 7)], []),
        ([(*JAN, 50, "troche", 6), (*FEB, 50, "troche", 7)], []),
        # Judged on mg/day: 25 mg daily -> 20 mg twice daily raises the dose (25 -> 40 mg/day) ...
        ([(*JAN, 25, "troche", 6), (*FEB, 20, "troche", 5.5, "twice daily")], [("02-01", "02-28")]),
        # ... and 40 mg daily -> 50 mg every other day lowers it (40 -> 25 mg/day).
        ([(*JAN, 40, "troche", 6), (*FEB, 50, "troche", 7, "every other day")], []),
        # An early step (or an early step before it) is too early to judge, not a flag.
        ([(*JAN, 25, "troche", 6), (*FEB, 50, "troche", 7, "daily", True)], []),
        ([(*JAN, 25, "troche", 6, "daily", True), (*FEB, 50, "troche", 7)], []),
        # No response pain: nothing to judge.
        ([(*JAN, 25, "troche", None), (*FEB, 50, "troche", 7)], []),
        # An IV session in between is not a troche step.
        ([(*JAN, 25, "troche", 6), ("2026-01-20", "2026-01-20", 100, "IV", 3), (*FEB, 50, "troche", 5.5)],
         [("02-01", "02-28")]),
    ],
)
def test_no_benefit_escalation(rows, expected):
    assert spans(no_benefit_escalation(_responses(*rows), T)) == expected


def test_no_benefit_escalation_detail():
    flags = no_benefit_escalation(_responses((*JAN, 25, "troche", 6), (*FEB, 25, "troche", 5.5, "twice daily")), T)
    assert flags["detail"].tolist() == [
        "25 -> 50 mg/day; response pain 5.5 vs 6 before (-0.5 points; needs a drop of 1)"]


def test_flags_table_lists_safety_rules_first_then_by_date():
    entries = diary(
        {"date": "2026-03-01", "pain": 2, "mood": 2},
        {"date": "2026-03-02", "pain": 2, "mood": 2},
        {"date": "2026-03-03", "pain": 2, "mood": 2},
        {"date": "2026-03-04", "pain": 6, "bp_systolic": 170, "bp_diastolic": 90},
    )
    flags = flags_table(diary=entries, side_effects=side_effects(("2026-03-02", "bladder", 1, 2)), steps=steps(),
                        comedications=comedications(), as_of=day("2026-03-04"), thresholds=T)
    assert flags["rule"].tolist() == ["bp_high", "bladder", "pain_spike", "low_mood"]
    assert [f"{d:%m-%d}" for d in flags["start"]] == ["03-04", "03-02", "03-04", "03-01"]
    assert list(flags.columns) == FLAG_COLUMNS


@pytest.mark.parametrize(("answers", "expected"), [
    ([("2026-03-01", 0), ("2026-03-08", 1), ("2026-03-15", 3)], [("03-08", "03-08"), ("03-15", "03-15")]),
    ([("2026-03-01", 0)], []),
    ([], []),
])
def test_self_harm_thoughts(answers, expected):
    frame = pd.DataFrame({"diary_date": dates(*[a[0] for a in answers]),
                          "value": pd.Series([float(a[1]) for a in answers], dtype="float64")})
    assert spans(self_harm_thoughts(frame)) == expected


def _flags(*rows) -> pd.DataFrame:
    """Rows (rule, start, end)."""
    return pd.DataFrame({"rule": [r[0] for r in rows], "start": dates(*[r[1] for r in rows]),
                         "end": dates(*[r[2] for r in rows]), "detail": ["d"] * len(rows)}).astype(
        {"rule": "object", "detail": "object"})


def _acks(*rows) -> pd.DataFrame:
    """Rows (rule, flag_start, acknowledged_at)."""
    return pd.DataFrame({"rule": pd.Series([r[0] for r in rows], dtype="object"),
                         "flag_start": dates(*[r[1] for r in rows]), "flag_end": dates(*[r[1] for r in rows]),
                         "note": pd.Series(["seen"] * len(rows), dtype="object"),
                         "acknowledged_by": pd.Series(["Dr. A"] * len(rows), dtype="object"),
                         "acknowledged_at": pd.Series([ts(r[2]) for r in rows], dtype="datetime64[ns]")})


FLAGS = _flags(("bp_high", "2026-03-10", "2026-03-10"), ("bp_high", "2026-03-20", "2026-03-22"),
               ("co_sedative", "2019-05-01", "2026-03-31"), ("pain_spike", "2026-02-01", "2026-02-02"))


@pytest.mark.parametrize(("last_visit", "acks", "as_of", "expected"), [
    # (rule, new, acknowledged) per flag
    ("2026-03-15", _acks(), "2026-03-31",
     [("bp_high", False, False), ("bp_high", True, False), ("co_sedative", True, False), ("pain_spike", False, False)]),
    # No visit yet: the clinician has seen nothing, every flag is new.
    (None, _acks(), "2026-03-31",
     [("bp_high", True, False), ("bp_high", True, False), ("co_sedative", True, False), ("pain_spike", True, False)]),
    # An acknowledged run; the later run of the same rule is a new flag, not acknowledged.
    ("2026-03-15", _acks(("bp_high", "2026-03-10", "2026-03-16 09:00")), "2026-03-31",
     [("bp_high", False, True), ("bp_high", True, False), ("co_sedative", True, False), ("pain_spike", False, False)]),
    # Reviewed as of a day before the acknowledgement: it had not happened yet.
    ("2026-03-15", _acks(("bp_high", "2026-03-10", "2026-04-02 09:00")), "2026-03-31",
     [("bp_high", False, False), ("bp_high", True, False), ("co_sedative", True, False), ("pain_spike", False, False)]),
])
def test_flag_status_new_and_acknowledged(last_visit, acks, as_of, expected):
    status = flag_status(FLAGS, last_visit=None if last_visit is None else ts(last_visit), acknowledgements=acks,
                         period_start=ts("2026-01-15"), as_of=day(as_of))
    assert list(zip(status["rule"], status["new"], status["acknowledged"])) == expected


def test_flag_status_clips_dates_to_the_review_period_and_names_rules():
    status = flag_status(FLAGS, last_visit=ts("2026-03-15"), acknowledgements=_acks(),
                         period_start=ts("2026-01-15"), as_of=day("2026-03-21"))
    assert [(f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}") for a, b in zip(status["shown_start"], status["shown_end"])] == [
        ("2026-03-10", "2026-03-10"), ("2026-03-20", "2026-03-21"), ("2026-01-15", "2026-03-21"),
        ("2026-02-01", "2026-02-02")]
    assert f"{status['start'][2]:%Y-%m-%d}" == "2019-05-01"  # the detail keeps the true start
    assert status["name"].tolist() == ["High blood pressure", "High blood pressure", "Opioid or benzodiazepine",
                                       "Pain spike"]
    assert status["safety"].tolist() == [True, True, True, False]


def test_open_flag_counts_by_rule_safety_first():
    status = flag_status(FLAGS, last_visit=ts("2026-03-15"), acknowledgements=_acks(("bp_high", "2026-03-10",
                                                                                      "2026-03-16")),
                         period_start=ts("2026-01-15"), as_of=day("2026-03-31"))
    counts = open_flag_counts(status.iloc[[3, 0, 1, 2]])
    assert counts[["rule", "runs", "open", "new", "acknowledged"]].values.tolist() == [
        ["bp_high", 2, 1, 1, 1], ["co_sedative", 1, 1, 1, 0], ["pain_spike", 1, 1, 0, 0]]
    assert f"{counts['last'][0]:%m-%d}" == "03-22"


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
    assert [list(range(a, b)) for a, b in run_spans(pd.Series(fired, dtype="bool"))] == expected


@pytest.mark.parametrize(("days", "period_start", "as_of", "expected"), [
    # A lone reading decades before the diary starts no gap: counting begins at the first entry in the period.
    (["1999-05-04", "2026-03-01", "2026-03-05"], "2026-02-15", "2026-03-06", []),
    (["1999-05-04", "2026-03-01", "2026-03-09"], "2026-02-15", "2026-03-09",
     [("2026-03-02", "2026-03-08", "7 days without an entry")]),
    # The first entry on the period's first day counts; one the day before does not.
    (["2026-02-14", "2026-02-22"], "2026-02-15", "2026-02-22", []),
    (["2026-02-15", "2026-02-23"], "2026-02-15", "2026-02-23", [("2026-02-16", "2026-02-22", "7 days without an entry")]),
    # Only the lone reading: no entry in the period, no gap.
    (["1999-05-04"], "2026-02-15", "2026-03-31", []),
    # Without a period the whole diary counts, as in v2.
    (["1999-05-04", "1999-05-12"], None, "1999-05-12", [("1999-05-05", "1999-05-11", "7 days without an entry")]),
])
def test_diary_gap_within_the_review_period(days, period_start, as_of, expected):
    daily = daily_values(diary(*[{"date": d, "bp_systolic": 120} for d in days]), day(as_of))
    flags = diary_gap(daily, day(as_of), T, None if period_start is None else ts(period_start))
    rows = [(f"{r.start:%Y-%m-%d}", f"{r.end:%Y-%m-%d}", r.detail) for r in flags.itertuples()]
    assert rows == expected
    assert all(r.start <= r.end for r in flags.itertuples())


def test_a_run_wholly_before_the_period_never_shows_a_start_after_its_end():
    flags = _flags(("bp_high", "1999-05-04", "1999-05-04"), ("bp_high", "2026-01-10", "2026-01-20"))
    status = flag_status(flags, last_visit=ts("2026-03-15"), acknowledgements=_acks(),
                         period_start=ts("2026-01-15"), as_of=day("2026-03-31"))
    assert [(f"{a:%Y-%m-%d}", f"{b:%Y-%m-%d}") for a, b in zip(status["shown_start"], status["shown_end"])] == [
        ("1999-05-04", "1999-05-04"), ("2026-01-15", "2026-01-20")]


@pytest.mark.parametrize(("last_visit", "acked", "expected"), [
    # 32 pain-spike runs, the last 3 since the last visit: the count of new runs is 3, not 32.
    ("2026-03-01", 0, (32, 32, 3)),
    ("2026-03-01", 2, (32, 30, 3)),  # acknowledged older runs: fewer open, the same 3 new
    (None, 0, (32, 32, 32)),  # no visit yet: every run is new
    ("2026-04-01", 0, (32, 32, 0)),
])
def test_flag_counts_new_is_the_number_of_new_runs(last_visit, acked, expected):
    starts = [ts("2025-06-01") + pd.Timedelta(days=3 * i) for i in range(29)] + \
        [ts("2026-03-05"), ts("2026-03-10"), ts("2026-03-20")]
    flags = _flags(*[("pain_spike", f"{s:%Y-%m-%d}", f"{s:%Y-%m-%d}") for s in starts])
    acks = _acks(*[("pain_spike", f"{s:%Y-%m-%d}", "2026-03-01") for s in starts[:acked]])
    status = flag_status(flags, last_visit=None if last_visit is None else ts(last_visit), acknowledgements=acks,
                         period_start=ts("2025-05-01"), as_of=day("2026-03-31"))
    counts = open_flag_counts(status)
    assert tuple(counts[["runs", "open", "new"]].iloc[0]) == expected
