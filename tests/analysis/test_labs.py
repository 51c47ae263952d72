"""Liver tests and urinalysis (review-metrics.md v3, "Liver and bladder tests"): each result against
its upper limit, the latest of each since the last visit, and the liver_tests_high flag."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analysis.safety_flags import liver_tests_high
from dashboard.analysis.measures import NO_MEASURES, LabResult, lab_results, labs_since
from dashboard.analysis.safety_words import lab_words, measured
from dashboard.config import Thresholds
from dashboard.measures import LOINC
from tests.analysis import ts

T = Thresholds()


def _measures(*rows: tuple) -> pd.DataFrame:
    """Rows (date, code, value, unit, reference_high[, answer_text])."""
    out = pd.DataFrame([{**{c: None for c in NO_MEASURES.columns}, "recorded_at": ts(r[0]) + pd.Timedelta(hours=9),
                         "diary_date": ts(r[0]), "system": LOINC, "code": r[1], "name": f"LOINC {r[1]}",
                         "instrument": "liver", "value": r[2], "unit": r[3], "reference_high": r[4],
                         "answer_text": r[5] if len(r) > 5 else None, "source": "fhir"} for r in rows],
                       columns=NO_MEASURES.columns)
    return out.astype(NO_MEASURES.dtypes.to_dict())


@pytest.mark.parametrize(("row", "expected"), [
    # With the laboratory's own reference range: its high is the limit.
    (("2026-03-20", "1742-6", 99.0, "U/L", 33.0), ("ALT", 33.0, 3.0)),
    # Without one: ALT and AST in U/L (or no unit) against the 40 U/L setting.
    (("2026-03-20", "1920-8", 60.0, "U/L", None), ("AST", 40.0, 1.5)),
    (("2026-03-20", "1920-8", 60.0, None, None), ("AST", 40.0, 1.5)),
    (("2026-03-20", "1742-6", 1.0, "ukat/L", None), ("ALT", None, None)),  # another unit: no guessed limit
    # Other tests have no default limit.
    (("2026-03-20", "2324-2", 80.0, "U/L", None), ("GGT", None, None)),
    (("2026-03-20", "1975-2", 1.5, "mg/dL", 1.2), ("Total bilirubin", 1.2, 1.25)),
    (("2026-03-20", "5794-3", None, None, None, "negative"), ("Urine blood (dipstick)", None, None)),
])
def test_a_result_against_its_upper_limit(row, expected):
    lab = lab_results(_measures(row), T).iloc[0]
    times = None if pd.isna(lab["times_upper_limit"]) else pytest.approx(lab["times_upper_limit"])
    assert (lab["name"], None if pd.isna(lab["upper_limit"]) else lab["upper_limit"], times) == (
        expected[0], expected[1], None if expected[2] is None else pytest.approx(expected[2]))


def test_the_default_limit_is_a_setting():
    lab = lab_results(_measures(("2026-03-20", "1742-6", 60.0, "U/L", None)), Thresholds(liver_upper_limit_u_l=30.0))
    assert (lab["upper_limit"][0], lab["times_upper_limit"][0]) == (30.0, 2.0)


def test_the_latest_of_each_test_since_the_last_visit_liver_first():
    labs = lab_results(_measures(
        ("2026-02-01", "1742-6", 200.0, "U/L", 40.0),  # before the visit
        ("2026-03-20", "5799-2", None, None, None, "trace"),
        ("2026-03-18", "1742-6", 50.0, "U/L", 40.0),
        ("2026-03-25", "1742-6", 45.0, "U/L", None),
        ("2026-04-02", "1920-8", 300.0, "U/L", 40.0),  # after the as-of date
    ), T)
    found = [lab.json() for lab in labs_since(labs, ts("2026-03-15"), ts("2026-03-31"))]
    assert found == [
        {"code": "1742-6", "name": "ALT", "value": 45.0, "unit": "U/L", "upper_limit": 40.0,
         "times_upper_limit": 1.125, "date": ts("2026-03-25")},
        {"code": "5799-2", "name": "Urine leukocyte esterase (dipstick)", "value": None, "unit": None,
         "upper_limit": None, "times_upper_limit": None, "date": ts("2026-03-20"), "answer": "trace"},
    ]
    assert labs_since(labs, ts("2026-03-26"), ts("2026-03-31")) == []  # none since: an empty list


@pytest.mark.parametrize(("rows", "thresholds", "expected"), [
    # Exactly 3 x the upper limit does not fire; just above does.
    ([("2026-03-20", "1742-6", 120.0, "U/L", 40.0)], T, []),
    ([("2026-03-20", "1742-6", 120.01, "U/L", 40.0)], T, [("2026-03-20", "2026-03-20")]),
    ([("2026-03-20", "1920-8", 120.0, "U/L", None)], T, []),  # the default 40 U/L
    ([("2026-03-20", "1920-8", 121.0, "U/L", None)], T, [("2026-03-20", "2026-03-20")]),
    ([("2026-03-20", "1742-6", 99.0, "U/L", 33.0)], T, []),  # 3.0 x its own range's high
    ([("2026-03-20", "1742-6", 99.5, "U/L", 33.0)], T, [("2026-03-20", "2026-03-20")]),
    ([("2026-03-20", "2324-2", 900.0, "U/L", 40.0)], T, []),  # GGT: not the rule's test
    ([("2026-03-20", "1742-6", 100.0, "U/L", 40.0)], Thresholds(liver_uln_factor=2.0), [("2026-03-20", "2026-03-20")]),
    # Consecutive results above form one run; a normal result between ends it.
    ([("2026-03-01", "1742-6", 130.0, "U/L", 40.0), ("2026-03-08", "1920-8", 140.0, "U/L", 40.0),
      ("2026-03-15", "1742-6", 60.0, "U/L", 40.0), ("2026-03-22", "1742-6", 200.0, "U/L", 40.0)], T,
     [("2026-03-01", "2026-03-08"), ("2026-03-22", "2026-03-22")]),
])
def test_liver_tests_high(rows, thresholds, expected):
    flags = liver_tests_high(lab_results(_measures(*rows), thresholds), thresholds)
    assert [(f"{r.start:%Y-%m-%d}", f"{r.end:%Y-%m-%d}") for r in flags.itertuples()] == expected
    assert set(flags["rule"]) <= {"liver_tests_high"}


def test_the_flags_detail_names_the_test_and_its_multiple():
    flags = liver_tests_high(lab_results(_measures(("2026-03-20", "1742-6", 130.0, "U/L", 40.0),
                                                   ("2026-03-20", "1920-8", 50.0, "U/L", 40.0)), T), T)
    assert flags["detail"].tolist() == ["ALT 130 U/L = 3.25 x the upper limit 40 (above 3 x) on 1 day"]


def test_summary_json_carries_labs_and_the_flag():
    from dashboard.analysis.summary import build_summary
    from tests.analysis import comedications, daily_diary, day, side_effects, steps, visits
    summary = build_summary(
        patient={"ref": "P-1"}, diary=daily_diary("2026-03-01", [5] * 31), side_effects=side_effects(),
        steps=steps({"start": "2026-03-01", "dose": 25}), visits=visits(("2026-03-15", "in person")),
        comedications=comedications(), thresholds=T, as_of=day("2026-03-31"),
        measures=_measures(("2026-03-10", "1742-6", 200.0, "U/L", 40.0), ("2026-03-20", "1920-8", 130.0, "U/L", None)))
    assert summary["safety_since_last_visit"]["labs"] == [
        {"code": "1920-8", "name": "AST", "value": 130.0, "unit": "U/L", "upper_limit": 40.0,
         "times_upper_limit": 3.25, "date": "2026-03-20"}]
    flags = [f for f in summary["flags"] if f["rule"] == "liver_tests_high"]
    assert [(f["start"], f["end"], f["new"], f["safety"]) for f in flags] == [
        ("2026-03-10", "2026-03-20", True, True)]


@pytest.mark.parametrize(("value", "shown"), [(41.8084, "41.8"), (0.8712, "0.871"), (142.0, "142"), (1234.4, "1234"),
                                              (3.0, "3"), (99.96, "100")])
def test_a_measured_number_reads_as_a_clinician_writes_it(value, shown):
    """An EHR's ALT of 41.8084 U/L (Synthea, tried against the SMART launcher) read "41.8084" on the first screen."""
    assert measured(value) == shown


def test_a_lab_result_in_words_keeps_its_limit_and_rounds_only_what_it_shows():
    lab = LabResult(code="1742-6", name="ALT", value=41.8084, unit="U/L", upper_limit=40.0,
                    times_upper_limit=41.8084 / 40.0, date=pd.Timestamp("2026-03-20"))
    assert lab_words(lab) == "ALT 41.8 U/L (1.05 × upper limit 40)"
