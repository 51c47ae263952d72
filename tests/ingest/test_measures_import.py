"""Measures through the one import service, on SQLite and PostgreSQL: stored once, re-import adds
nothing, another value at the same key is a conflict (as for diary entries), and the review reads
them (summary --json ``measures``, the ``self_harm_thoughts`` flag from PHQ-9 item 9)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import func, select

from dashboard.stored.review import patient_summary
from dashboard.db.models import CoMedication, ImportRecord, Measure
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.dbdump import dump
from tests.test_cli import cli

TODAY = date.today()
LOINC = "http://loinc.org"


def day(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def phq9(item9: int, total: int, *, days_ago: int = 3, ident: str = "q1") -> dict:
    words = ["Not at all", "Several days", "More than half the days", "Nearly every day"]
    return {"resourceType": "QuestionnaireResponse", "id": ident, "status": "completed",
            "subject": {"reference": "Patient/M-1"}, "authored": f"{day(days_ago)}T10:00:00Z",
            "item": [{"linkId": "44260-8", "answer": [{"valueCoding": {"display": words[item9]}}]},
                     {"linkId": "44261-6", "answer": [{"valueInteger": total}]}]}


def observation(code: str, value: float, *, days_ago: int = 5, ident: str = "o1", unit: str | None = None) -> dict:
    return {"resourceType": "Observation", "id": ident, "status": "final", "subject": {"reference": "Patient/M-1"},
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": f"{day(days_ago)}T08:00:00Z",
            "valueQuantity": {"value": value, **({"unit": unit} if unit else {})}}


def bundle(*resources) -> bytes:
    # Known by a resource id alone: name and birth date let the next file find them (issue 23).
    patient = {"resourceType": "Patient", "id": "M-1", "name": [{"given": ["Mia"], "family": "Ode"}],
               "birthDate": "1980-05-06"}
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": r} for r in (patient, *resources)]}).encode()


def measures(url: str) -> list[tuple]:
    with session_scope(url) as session:
        return sorted(session.execute(select(Measure.code, Measure.value, Measure.answer_text, Measure.answer_position,
                                             Measure.instrument, Measure.import_id)).all(), key=repr)


FILE = bundle(phq9(1, 11), observation("72514-3", 6), observation("29463-7", 81.5, ident="w", unit="kg"),
              observation("29463-7", 81.5, ident="w-copy", unit="kg"))


def test_measures_are_stored_once_and_a_re_import_adds_nothing(db_url):
    first = import_file(FILE, "b.json", url=db_url)
    assert (first.status, first.entries_added, first.measures_added, first.merged) == ("imported", 1, 3, 1)
    stored = measures(db_url)
    assert [(c, v, t, p, i) for c, v, t, p, i, _ in stored] == [
        ("29463-7", 81.5, None, None, "other"), ("44260-8", 1.0, "Several days", 2, "phq9_item"),
        ("44261-6", 11.0, None, None, "phq9")]
    assert {imp for *_, imp in stored} == {first.import_id}
    before = dump(db_url, skip=("audit_event",))
    again = import_file(FILE, "b.json", url=db_url)
    assert (again.status, again.measures_added) == ("already-imported", 0)
    # The same measures in another file (another id, other bytes): unchanged, nothing written.
    other = import_file(bundle(phq9(1, 11, ident="q2")), "other.json", url=db_url)
    assert (other.status, other.measures_added, other.measures_unchanged) == ("already-imported", 0, 2)
    # Nothing written but the two attempts' own records (import-formats.md v2: every file is kept).
    _same_but_kept_files(dump(db_url, skip=("audit_event",)), before, ["already-imported", "already-imported"])


def _same_but_kept_files(after: dict, before: dict, outcomes: list[str]) -> None:
    assert {k: v for k, v in after.items() if k != "import_record"} == \
        {k: v for k, v in before.items() if k != "import_record"}
    kept = [r for r in after["import_record"] if r not in before["import_record"]]
    assert [next(v for v in r if v in ("already-imported", "refused", "imported")) for r in kept] == outcomes


def test_another_value_at_the_same_key_is_a_conflict_never_an_overwrite(db_url):
    assert import_file(FILE, "b.json", url=db_url).status == "imported"
    before = dump(db_url, skip=("audit_event",))
    report = import_file(bundle(phq9(2, 13)), "changed.json", url=db_url)
    assert report.status == "refused" and report.measures_added == 0
    conflicts = {c["row"]: c for c in report.conflicts}
    assert len(report.conflicts) == 2 and set(conflicts) == {"QuestionnaireResponse/q1"}
    assert {("13.0" in c["new"], "11.0" in c["stored"]) for c in report.conflicts} >= {(True, True)}
    assert any("More than half the days" in c["new"] and "Several days" in c["stored"] for c in report.conflicts)
    _same_but_kept_files(dump(db_url, skip=("audit_event",)), before, ["refused"])
    kept = import_file(bundle(phq9(2, 13), observation("29463-7", 80, ident="w2", days_ago=1)), "c.json",
                       url=db_url, accept_valid=True)
    assert (kept.status, kept.measures_added, len(kept.conflicts)) == ("imported", 1, 2)
    assert [v for c, v, *_ in measures(db_url) if c == "44261-6"] == [11.0]


@pytest.mark.parametrize("item9, fires", [(0, False), (1, True), (3, True)])
def test_self_harm_flag_fires_from_phq9_item9_above_not_at_all(db_url, item9, fires):
    """review-metrics.md: item 9 answered above "not at all" (0) from an imported questionnaire."""
    assert import_file(bundle(phq9(item9, 9 + item9), observation("72514-3", 6)), "q.json", url=db_url).status == "imported"
    with session_scope(db_url) as session:
        summary = patient_summary(session, "M-1", as_of=TODAY)
    flags = [f for f in summary["flags"] if f["rule"] == "self_harm_thoughts"]
    assert bool(flags) is fires
    if fires:
        (flag,) = flags
        assert (flag["start"], flag["end"], flag["safety"]) == (day(3), day(3), True)
        assert f"answered {item9}" in flag["detail"]
    latest = {m["code"]: m for m in summary["measures"]["latest"]}
    assert latest["44261-6"]["value"] == 9 + item9 and latest["44260-8"]["value"] == item9
    assert summary["measures"]["other_measures"] == 0
    # Before the answer, nothing: the as-of date rules measures too.
    with session_scope(db_url) as session:
        earlier = patient_summary(session, "M-1", as_of=TODAY - timedelta(days=4))
    assert not [f for f in earlier["flags"] if f["rule"] == "self_harm_thoughts"]
    assert earlier["measures"]["latest"] == []


def test_measures_are_never_pain(db_url):
    promis = {"resourceType": "QuestionnaireResponse", "id": "p", "status": "completed",
              "subject": {"reference": "Patient/M-1"}, "authored": f"{day(2)}T10:00:00Z",
              "item": [{"linkId": "75262-6", "answer": [{"valueCoding": {"display": "Severe"}}]}]}
    report = import_file(bundle(promis), "p.json", url=db_url)
    assert (report.status, report.entries_added, report.measures_added) == ("imported", 0, 1)
    with session_scope(db_url) as session:
        summary = patient_summary(session, "M-1", as_of=TODAY)
    assert summary["baseline"]["pain_days"] == 0
    assert [(m["instrument"], m["value"], m["answer"]) for m in summary["measures"]["latest"]] == [
        ("promis_pain_intensity", 4.0, "Severe")]


def test_a_co_medication_of_unknown_start_is_stored_and_counts_as_a_co_sedative(db_url):
    statement = {"resourceType": "MedicationStatement", "id": "s", "status": "active",
                 "medicationCodeableConcept": {"text": "Oxycodone 5 mg"}, "subject": {"reference": "Patient/M-1"}}
    report = import_file(bundle(statement, observation("72514-3", 6)), "s.json", url=db_url)
    assert report.status == "imported" and report.records_added == {"co_medications": 1}
    with session_scope(db_url) as session:
        assert session.execute(select(CoMedication.name, CoMedication.start_date)).all() == [("Oxycodone 5 mg", None)]
        summary = patient_summary(session, "M-1", as_of=TODAY)
    assert [f["rule"] for f in summary["flags"] if f["rule"] == "co_sedative"] == ["co_sedative"]
    assert summary["safety_since_last_visit"]["co_sedatives"] == ["Oxycodone 5 mg (opioid)"]
    assert import_file(bundle(statement, observation("72514-3", 6)), "s2.json", url=db_url).status == "already-imported"


def test_cli_json_reports_measures_added_and_merged(db_url, tmp_path):
    path = tmp_path / "m.json"
    path.write_bytes(FILE)
    report = json.loads(cli(db_url, "import", str(path), "--json").stdout)
    assert (report["status"], report["measures_added"], report["merged"]) == ("imported", 3, 1)
    text = cli(db_url, "import", str(path)).stdout
    assert "already-imported" in text
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(ImportRecord.id))) >= 1


CSV = ("patient_id,date,pain,44261-6,LOINC 44260-8,29463-7\n"
       f"C-1,{day(3)},5,12,Several days,80.5\n"
       f"C-1,{day(2)},,9,0,\n").encode()


def test_a_native_csv_carries_measures_in_columns_named_by_loinc_code(db_url):
    first = import_file(CSV, "diary.csv", url=db_url)
    assert (first.format, first.status, first.entries_added, first.measures_added) == ("diary-csv", "imported", 1, 5)
    assert first.ignored == {} and first.refused_rows == []
    stored = {(c, v, t, p) for c, v, t, p, *_ in measures(db_url)}
    assert ("44260-8", 1.0, "Several days", 2) in stored and ("44261-6", 9.0, None, None) in stored
    assert ("29463-7", 80.5, None, None) in stored
    again = import_file(CSV, "diary.csv", url=db_url)
    assert (again.status, again.measures_added) == ("already-imported", 0)
    with session_scope(db_url) as session:
        summary = patient_summary(session, "C-1", as_of=TODAY)
    assert [f["rule"] for f in summary["flags"]].count("self_harm_thoughts") == 1


@pytest.mark.parametrize("cell, reason", [("30", "between 0 and 27"), ("lots", "is a number")])
def test_a_bad_measure_cell_is_refused_with_row_column_and_value(db_url, cell, reason):
    raw = f"patient_id,date,pain,44261-6\nC-1,{day(3)},5,{cell}\n".encode()
    report = import_file(raw, "diary.csv", url=db_url)
    assert report.status == "refused"
    (refused,) = report.refused_rows
    assert (refused["row"], refused["column"], refused["value"]) == (2, "44261-6", cell) and reason in refused["reason"]


def lab(code: str, *, days_ago: int, ident: str, value: float | None = None, unit: str | None = "U/L",
        high: float | None = None, concept: str | None = None, comparator: str | None = None) -> dict:
    body = {"resourceType": "Observation", "id": ident, "status": "final", "subject": {"reference": "Patient/M-1"},
            "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                      "code": "laboratory"}]}],
            "code": {"coding": [{"system": LOINC, "code": code}]}, "effectiveDateTime": f"{day(days_ago)}T08:00:00Z"}
    if concept is not None:
        body["valueCodeableConcept"] = {"text": concept}
    else:
        body["valueQuantity"] = {"value": value, **({"unit": unit} if unit else {}),
                                 **({"comparator": comparator} if comparator else {})}
    if high is not None:
        body["referenceRange"] = [{"low": {"value": 7, "unit": unit}, "high": {"value": high, "unit": unit}}]
    return body


def test_liver_tests_and_urinalysis_are_kept_with_their_reference_range(db_url):
    """v3: ALT with the laboratory's range, AST without one (read against 40 U/L), a dipstick in words,
    a GGT written "< 5": kept as measures; the review lists the latest of each and flags ALT > 3 x."""
    report = import_file(bundle(
        observation("72514-3", 5, days_ago=12, ident="pain"),
        lab("1742-6", days_ago=6, ident="alt", value=130, high=33),
        lab("1920-8", days_ago=6, ident="ast", value=120),
        lab("2324-2", days_ago=6, ident="ggt", value=5, comparator="<"),
        lab("5794-3", days_ago=6, ident="ubld", concept="Negative", unit=None)), "labs.json", url=db_url)
    assert (report.status, report.measures_added) == ("imported", 4)
    with session_scope(db_url) as session:
        stored = {m.code: (m.instrument, m.value, m.unit, m.reference_low, m.reference_high, m.answer_text)
                  for m in session.scalars(select(Measure))}
        summary = patient_summary(session, "M-1", as_of=TODAY)
    assert stored == {"1742-6": ("liver", 130.0, "U/L", 7.0, 33.0, None),
                      "1920-8": ("liver", 120.0, "U/L", None, None, None),
                      "2324-2": ("liver", None, "U/L", None, None, "<5"),
                      "5794-3": ("urinalysis", None, None, None, None, "Negative")}
    labs = {lab["name"]: (lab["value"], lab["upper_limit"], lab["times_upper_limit"])
            for lab in summary["safety_since_last_visit"]["labs"]}
    assert labs == {"ALT": (130.0, 33.0, 3.94), "AST": (120.0, 40.0, 3.0), "GGT": (None, None, None),
                    "Urine blood (dipstick)": (None, None, None)}
    flags = [f for f in summary["flags"] if f["rule"] == "liver_tests_high"]
    assert [f["detail"] for f in flags] == ["ALT 130 U/L = 3.94 x the upper limit 33 (above 3 x) on 1 day"]


def test_a_native_csv_carries_liver_tests_in_loinc_named_columns(db_url):
    raw = f"patient_id,date,pain,1742-6,1920-8\nC-1,{day(10)},5,,\nC-1,{day(3)},5,125,38\n".encode()
    report = import_file(raw, "diary.csv", url=db_url)
    assert (report.status, report.measures_added) == ("imported", 2)
    with session_scope(db_url) as session:
        stored = sorted((m.code, m.name, m.instrument, m.value, m.unit, m.reference_high)
                        for m in session.scalars(select(Measure)))
        summary = patient_summary(session, "C-1", as_of=TODAY)
    assert stored == [("1742-6", "ALT", "liver", 125.0, "U/L", None), ("1920-8", "AST", "liver", 38.0, "U/L", None)]
    assert [f["rule"] for f in summary["flags"]].count("liver_tests_high") == 1  # 125 > 3 x 40 U/L
