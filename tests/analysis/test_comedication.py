"""Co-medication, one line per drug, and a co-sedative that is new only when the drug started since
the last visit (review-metrics.md v3)."""

from __future__ import annotations

import pytest

from dashboard.analysis.comedication import comedication_lines, dose_change, mentions
from dashboard.analysis.summary import build_summary
from dashboard.config import Thresholds
from dashboard.medications import ingredient
from tests.analysis import comedications, daily_diary, day, diary, side_effects, steps, visits

AS_OF = day("2026-03-31")


@pytest.mark.parametrize(("name", "rxnorm", "expected"), [
    ("Oxycodone 5 mg", None, "oxycodone"),
    ("oxycodone 10mg", None, "oxycodone"),
    ("OXYCODONE", None, "oxycodone"),
    ("Pain tablet", "7804", "oxycodone"),  # the RxNorm ingredient where coded
    ("Lorazepam 1 MG Oral Tablet", None, "lorazepam"),
    ("Oxycodone HCl 5 mg", None, "oxycodone hcl"),  # the name before the strength, as written
    ("  Amlodipine   5 mg ", None, "amlodipine"),
    ("5-HTP 100 mg", None, "5-htp 100 mg"),  # no name before a strength: the whole name
])
def test_ingredient(name, rxnorm, expected):
    assert ingredient(name, rxnorm) == expected


@pytest.mark.parametrize(("doses", "expected"), [
    ([5.0, 10.0], "up"), ([10.0, 5.0], "down"), ([10.0, 10.0], None), ([5.0, None, 5.0], None),
    ([5.0, 10.0, 10.0], "up"), ([10.0], None), ([None, None], None), ([20.0, 10.0, 10.0], "down"),
])
def test_dose_change(doses, expected):
    assert dose_change(doses) == expected


def test_one_ingredient_under_three_spellings_is_one_line():
    entries = diary({"date": "2026-03-10", "pain": 5, "other_medication": "oxycodone 10mg, paracetamol 1 g"},
                    {"date": "2026-03-20", "pain": 5, "other_medication": "OXYCODONE 5 mg"})
    records = comedications({"name": "Oxycodone 5 mg", "start": "2025-11-01", "status": "active",
                             "dose_text": "5 mg twice daily", "source": "clinic"},
                            {"name": "Amlodipine 5 mg", "start": "2026-01-01", "status": "active"})
    lines = comedication_lines(mentions(entries, records, AS_OF))
    got = [(r.ingredient, r.drug_class, r.dose_text, f"{r.start:%Y-%m-%d}", r.dose_change, r.sources)
           for r in lines.itertuples()]
    assert got == [
        ("oxycodone", "opioid", "5 mg", "2025-11-01", "down", ["clinic", "diary"]),  # 5 -> 10 (Mar 10) -> 5 mg
        ("amlodipine", None, "5 mg", "2026-01-01", None, ["csv"]),
        ("paracetamol", None, "1 g", "2026-03-10", None, ["diary"]),
    ]
    assert lines["names"][0] == ["oxycodone 10mg", "OXYCODONE 5 mg", "Oxycodone 5 mg"]


def _summary(entries, records, last_visit="2026-03-15"):
    return build_summary(patient={"ref": "P-1"}, diary=entries, side_effects=side_effects(),
                         steps=steps({"start": "2026-01-01", "dose": 25}), visits=visits((last_visit, "in person")),
                         comedications=comedications(*records), thresholds=Thresholds(), as_of=AS_OF)


@pytest.mark.parametrize(("records", "texts", "expected"), [
    # Taken since before the last visit: still a flag, never new, whichever source mentions it next.
    ([{"name": "Oxycodone 5 mg", "start": "2025-11-01", "status": "active"}], {"2026-03-20": "oxycodone 10mg"},
     [("2025-11-01", False), ("2026-03-20", False)]),
    # Started after the last visit: new.
    ([{"name": "Lorazepam 1 mg", "start": "2026-03-18", "status": "active"}], {}, [("2026-03-18", True)]),
    ([], {"2026-03-20": "diazepam 5 mg"}, [("2026-03-20", True)]),
    # Started on the visit day itself: the clinician saw it.
    ([{"name": "tramadol", "start": "2026-03-15", "status": "active"}], {}, [("2026-03-15", False)]),
    # A diary mention long before the visit and again after it: the drug is not new.
    ([], {"2026-02-01": "diazepam 5 mg", "2026-02-02": "ibuprofen", "2026-03-20": "Diazepam 2 mg"},
     [("2026-02-01", False), ("2026-03-20", False)]),
])
def test_a_co_sedative_is_new_only_when_the_drug_started_since_the_last_visit(records, texts, expected):
    entries = diary(*[{"date": d, "pain": 5, "other_medication": t} for d, t in texts.items()]) if texts else \
        daily_diary("2026-03-01", [5])
    summary = _summary(entries, records)
    flags = [(f["start"], f["new"]) for f in summary["flags"] if f["rule"] == "co_sedative"]
    assert sorted(flags) == sorted(expected)
    assert all("drug_start" not in f for f in summary["flags"])
    counts = {c["rule"]: c["new"] for c in summary["flag_counts"]}
    assert counts.get("co_sedative", 0) == sum(new for _, new in expected)


def test_summary_json_carries_one_line_per_drug():
    summary = _summary(daily_diary("2026-03-01", [5]), [
        {"name": "Oxycodone 5 mg", "start": "2025-11-01", "status": "active", "dose_text": "5 mg"},
        {"name": "oxycodone 10mg", "start": "2026-03-20", "status": "active", "dose_text": "10 mg"},
        {"name": "OXYCODONE", "rxnorm": "7804", "start": "2026-03-25", "status": "active", "dose_text": "15 mg"}])
    assert summary["co_medications"] == [{
        "ingredient": "oxycodone", "drug_class": "opioid", "dose_text": "15 mg", "start": "2025-11-01",
        "start_precision": None,
        "dose_change": "up", "names": ["OXYCODONE", "oxycodone 10mg", "Oxycodone 5 mg"], "sources": ["csv"]}]
    assert [f["new"] for f in summary["flags"] if f["rule"] == "co_sedative"] == [False]


@pytest.mark.parametrize(("records", "start", "precision"), [
    # import-formats.md v3: a start written as a month or a year is its first day, with its precision.
    ([{"name": "Oxycodone 5 mg", "start": "2015-03-01", "start_precision": "month"}], "2015-03-01", "month"),
    ([{"name": "Oxycodone 5 mg", "start": "2015-01-01", "start_precision": "year"}], "2015-01-01", "year"),
    # the earliest start decides; of two on one day, the finer precision
    ([{"name": "Oxycodone 5 mg", "start": "2015-03-01", "start_precision": "month"},
      {"name": "oxycodone", "start": "2015-03-01"}], "2015-03-01", None),
    ([{"name": "Oxycodone 5 mg", "start": "2015-03-01", "start_precision": "month"},
      {"name": "oxycodone", "start": "2015-02-10"}], "2015-02-10", None),
    ([{"name": "Oxycodone 5 mg", "start": "2015-03-10"},
      {"name": "oxycodone", "start": "2015-01-01", "start_precision": "year"}], "2015-01-01", "year"),
])
def test_a_line_keeps_the_precision_of_its_first_start(records, start, precision):
    summary = _summary(daily_diary("2026-03-01", [5]), [{**r, "status": "active"} for r in records])
    (line,) = summary["co_medications"]
    assert (line["start"], line["start_precision"]) == (start, precision)
