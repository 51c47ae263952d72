"""import-formats.md version 3, "FHIR, version 3": a partial date (a year or a month alone) for a
co-medication's start and end, at its precision; a medication without any date is a
co-medication of unknown start; a diary value still needs a day; FHIR XML said plainly.

Through ``import_file`` on both databases where a row is stored."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlalchemy import select

from dashboard.analysis.review_words import dated
from dashboard.db.models import CoMedication, DiaryEntry
from dashboard.db.session import session_scope
from dashboard.ingest.fhir import looks_like_fhir, parse_fhir
from dashboard.ingest.records import FileRefused
from dashboard.ingest.service import import_file
from tests.dbdump import assert_only_the_file_kept, dump
from tests.ingest.test_fhir import RXNORM, SNOMED, coding, observation

TODAY = date(2026, 3, 31)
# Known by a resource id alone: name and birth date let a later file of the same content find them (issue 23).
PATIENT = {"resourceType": "Patient", "id": "p1", "name": [{"family": "Test", "given": ["Pat"]}], "birthDate": "1970-01-02"}
MORPHINE = {"coding": [coding("7052", RXNORM, "morphine")]}


def statement(**dates) -> dict:
    return {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
            "medicationCodeableConcept": MORPHINE, "subject": {"reference": "Patient/p1"}, **dates}


def request(**dates) -> dict:
    return {"resourceType": "MedicationRequest", "id": "mr1", "status": "active", "intent": "order",
            "medicationCodeableConcept": MORPHINE, "subject": {"reference": "Patient/p1"}, **dates}


def file_of(*resources) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": r} for r in (PATIENT, *resources)]}).encode()


def stored(url) -> list[tuple]:
    with session_scope(url) as session:
        return [(m.name, m.start_date, m.start_precision, m.end_date, m.end_precision)
                for m in session.scalars(select(CoMedication))]


@pytest.mark.parametrize(("resource", "start", "start_precision", "end", "end_precision"), [
    (statement(effectivePeriod={"start": "2015"}), date(2015, 1, 1), "year", None, None),
    (statement(effectivePeriod={"start": "2015-03"}), date(2015, 3, 1), "month", None, None),
    (statement(effectivePeriod={"start": "2015-03-14"}), date(2015, 3, 14), None, None, None),
    (statement(effectiveDateTime="2015-03-14T08:30:00+01:00"), date(2015, 3, 14), None, None, None),
    (statement(effectivePeriod={"start": "2015-03", "end": "2016"}), date(2015, 3, 1), "month",
     date(2016, 1, 1), "year"),
    (statement(dateAsserted="2019-11"), date(2019, 11, 1), "month", None, None),
    (request(authoredOn="2015-03"), date(2015, 3, 1), "month", None, None),
    (request(dosageInstruction=[{"timing": {"repeat": {"boundsPeriod": {"start": "2015-03", "end": "2015-06-30"}}}}]),
     date(2015, 3, 1), "month", date(2015, 6, 30), None),
    (request(dispenseRequest={"validityPeriod": {"start": "2015"}}), date(2015, 1, 1), "year", None, None),
    # Without any date (FHIR allows it): a co-medication of unknown start, never a refusal.
    (statement(), None, None, None, None),
    (request(), None, None, None, None),
])
def test_a_co_medication_date_is_kept_at_its_precision_and_re_import_writes_nothing(
        db_url, resource, start, start_precision, end, end_precision):
    raw = file_of(resource)
    report = import_file(raw, "partial.json", url=db_url, today=TODAY)
    assert (report.status, report.refused_rows) == ("imported", [])
    assert stored(db_url) == [("morphine", start, start_precision, end, end_precision)]
    for again_raw in (raw, raw + b"\n"):  # the same bytes, and the same content in other bytes (by natural key)
        before = dump(db_url, skip=("audit_event",))
        again = import_file(again_raw, "partial.json", url=db_url, today=TODAY)
        assert (again.status, again.conflicts) == ("already-imported", [])
        assert_only_the_file_kept(db_url, before, raw=again_raw, status="already-imported")
    assert again.records_unchanged == {"co_medication": 1}


def test_the_same_start_written_as_a_day_is_a_conflict_not_a_silent_overwrite(db_url):
    """A month and its first day are one natural key (the stored start_date) with other precision:
    the second file is a conflict, and the stored precision stays until staff decide."""
    import_file(file_of(statement(effectivePeriod={"start": "2015-03"})), "a.json", url=db_url, today=TODAY)
    report = import_file(file_of(statement(effectivePeriod={"start": "2015-03-01"})), "b.json", url=db_url,
                         today=TODAY)
    assert report.status == "refused" and [c["column"] for c in report.conflicts] == [
        "rxnorm, drug_class, end_date, status, dose_text, start_precision, end_precision"]
    assert stored(db_url) == [("morphine", date(2015, 3, 1), "month", None, None)]


KETAMINE = {"coding": [coding("6130", RXNORM, "ketamine")]}


@pytest.mark.parametrize(("resource", "column", "value"), [
    # A diary value still needs a day: a pain score, a ketamine dose taken.
    (observation("72514-3", 6, when="2015-03"), "effectiveDateTime", "2015-03"),
    (observation("72514-3", 6, when="2015"), "effectiveDateTime", "2015"),
    ({**statement(effectivePeriod={"start": "2015-03"}), "medicationCodeableConcept": KETAMINE,
      "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}]}, "effectivePeriod.start", "2015-03"),
])
def test_a_diary_value_with_a_month_or_year_only_is_still_refused(db_url, resource, column, value):
    raw = file_of(resource)
    before = dump(db_url, skip=("audit_event",))
    report = import_file(raw, "diary.json", url=db_url, today=TODAY)
    assert report.status == "refused"
    assert [(r["column"], r["value"], r["reason"]) for r in report.refused_rows] == [
        (column, value, "only a year or a month: too imprecise for a diary day")]
    assert_only_the_file_kept(db_url, before, raw=raw, status="refused")


@pytest.mark.parametrize("written", ["2015-13", "2015-00", "0000"])
def test_a_partial_date_off_the_calendar_is_refused_with_its_path(written):
    parsed = parse_fhir(file_of(statement(effectivePeriod={"start": written})), "b.json")
    assert parsed.comedications == []
    assert [(r.column, r.value) for r in parsed.refused] == [("effectivePeriod.start", written)]


@pytest.mark.parametrize(("value", "precision", "shown"), [
    (date(2015, 3, 1), "month", "Mar 2015"),
    (date(2015, 1, 1), "year", "2015"),
    (date(2015, 3, 14), None, "14 Mar 2015"),
    (None, None, "—"),
])
def test_a_date_is_shown_at_its_precision(value, precision, shown):
    assert dated(value, precision) == shown


def test_the_ips_minimal_bundle_imports_its_statement_at_month_precision(db_url, shared_dir):
    """HL7 IPS's minimal bundle: anastrozole "effectivePeriod": {"start": "2015-03"}."""
    path = shared_dir / "data/real/fhir_more/ips_bundle-minimal.json"
    report = import_file(path.read_bytes(), path.name, url=db_url, today=TODAY)
    assert (report.status, report.refused_rows) == ("imported", [])
    assert stored(db_url) == [("Product containing anastrozole (medicinal product)", date(2015, 3, 1), "month",
                               None, None)]
    assert import_file(path.read_bytes(), path.name, url=db_url, today=TODAY).status == "already-imported"


def test_a_partial_date_is_exported_as_written_and_reads_back_the_same(db_url):
    """The dashboard's own FHIR export writes "2015-03", never a made-up first day, so the
    record reads back as the same record (no conflict over its precision)."""
    from dashboard.ingest.fhir_export import export_patient_fhir

    raw = file_of(statement(effectivePeriod={"start": "2015-03", "end": "2016"}))
    (ref,) = import_file(raw, "partial.json", url=db_url, today=TODAY).patients
    with session_scope(db_url) as session:
        exported = json.loads(export_patient_fhir(session, ref))
    (period,) = [e["resource"]["effectivePeriod"] for e in exported["entry"]
                 if e["resource"]["resourceType"] == "MedicationStatement"]
    assert period == {"start": "2015-03", "end": "2016"}
    back = import_file(json.dumps(exported).encode(), "back.json", url=db_url, today=TODAY)
    assert (back.status, back.conflicts, back.records_unchanged) == ("already-imported", [], {"co_medication": 1})
    assert stored(db_url) == [("morphine", date(2015, 3, 1), "month", date(2016, 1, 1), "year")]


# ---------------------------------------------------------------- FHIR XML

XML_SENTENCE = "FHIR XML is not read; export the same data as JSON"


@pytest.mark.parametrize(("raw", "row", "root"), [
    (b'<?xml version="1.0" encoding="utf-8"?>\n<Bundle xmlns="http://hl7.org/fhir">\n<id value="b"/></Bundle>',
     2, "Bundle"),
    (b'\xef\xbb\xbf<!-- exported -->\n\n<Patient xmlns="http://hl7.org/fhir"><id value="p"/></Patient>', 3, "Patient"),
    (b"<f:Observation xmlns:f='http://hl7.org/fhir'><f:id value='o'/></f:Observation>", 1, "Observation"),
])
def test_fhir_xml_is_refused_in_words_that_say_what_to_do(raw, row, root):
    assert looks_like_fhir(raw)
    with pytest.raises(FileRefused) as refused:
        parse_fhir(raw, "export.xml")
    assert (refused.value.refused.row, refused.value.refused.reason) == (row, XML_SENTENCE)
    assert root in refused.value.refused.value


@pytest.mark.parametrize("raw", [
    b'<?xml version="1.0"?><Bundle xmlns="http://example.org/not-fhir"/>',
    b"<html><body>Bundle xmlns=http://hl7.org/fhir</body></html>",
    b'{"resourceType": "Patient", "id": "p"}',
])
def test_other_xml_is_not_taken_for_fhir_xml(raw):
    parsed = None
    try:
        parsed = parse_fhir(raw, "file")
    except FileRefused as exc:
        assert exc.refused.reason != XML_SENTENCE
    assert parsed is None or parsed.refused == []


def test_a_fhir_xml_file_is_refused_and_kept(db_url, shared_dir):
    path = shared_dir / "data/real/fhir_more/ips_IPS-bundle-01.xml"
    raw = path.read_bytes()
    before = dump(db_url, skip=("audit_event",))
    report = import_file(raw, path.name, url=db_url, today=TODAY)
    assert (report.status, [r["reason"] for r in report.refused_rows]) == ("refused", [XML_SENTENCE])
    assert_only_the_file_kept(db_url, before, raw=raw, status="refused")


# ---------------------------------------------------------------- Observation.note, SNOMED CT pain

REAL = __import__("pathlib").Path(__file__).resolve().parents[1] / "data" / "real"


def snomed_pain(value, *, system: str = SNOMED, **extra) -> dict:
    return {**observation("72514-3", None, **extra), "code": {"coding": [coding("225908003", system, "Pain score")]},
            "valueInteger": value}


def note(*texts: str) -> list[dict]:
    return [{"text": t} for t in texts]


@pytest.mark.parametrize(("resources", "measures"), [
    ([observation("72514-3", 6, note=note("knee worse after the walk"))],
     {"pain": 6, "notes": "knee worse after the walk"}),
    ([observation("72514-3", 6, note=note("first", "second"))], {"pain": 6, "notes": "first\nsecond"}),
    ([observation("72514-3", 6, note=note("<b>not markup</b> [link](x)"))],
     {"pain": 6, "notes": "<b>not markup</b> [link](x)"}),  # the patient's text as written: shown as text
    # Two observations at one time, each with its note: the entry keeps both, once each.
    ([observation("72514-3", 6, note=note("pain note")),
      observation("85354-9", None, ident="bp", note=note("cuff note"),
                  components=[("8480-6", 130, "mm[Hg]"), ("8462-4", 80, "mm[Hg]")])],
     {"pain": 6, "bp_systolic": 130, "bp_diastolic": 80, "notes": "pain note\ncuff note"}),
    ([observation("72514-3", 6, note=note("same")), observation("38221-8", 6, ident="wb", note=note("same"))],
     {"pain": 6, "notes": "same"}),
    ([observation("72514-3", 6, note=[{"authorString": "nurse"}])], {"pain": 6}),  # an Annotation without text
    ([snomed_pain(7)], {"pain": 7}),
    ([snomed_pain(7, system="urn:oid:2.16.840.1.113883.6.96")], {"pain": 7}),
    ([snomed_pain(0, note=note("none today"))], {"pain": 0, "notes": "none today"}),
])
def test_observation_notes_and_snomed_pain(resources, measures):
    parsed = parse_fhir(file_of(*resources), "b.json", today=TODAY)
    assert (parsed.refused, parsed.measures) == ([], [])
    (entry,) = parsed.diary
    assert entry.measures == measures


@pytest.mark.parametrize(("resource", "column", "value", "reason"), [
    (snomed_pain(11), "valueInteger", "11", "pain must be between 0 and 10"),
    (observation("72514-3", 6, note=note("x" * 5001)), "note", "x" * 5001, "notes have at most 5000 characters"),
])
def test_a_snomed_pain_out_of_range_or_a_note_too_long_is_refused_with_its_path(resource, column, value, reason):
    parsed = parse_fhir(file_of(resource), "b.json", today=TODAY)
    assert parsed.diary == []
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.reason) == ("Observation/obs1", column, reason)
    assert refused.value.startswith(value[:100])


def test_another_snomed_code_is_still_an_other_measure():
    parsed = parse_fhir(file_of({**snomed_pain(7), "code": {"coding": [coding("22253000", SNOMED, "Pain")]}}),
                        "b.json", today=TODAY)
    assert parsed.diary == [] and [m.code for m in parsed.measures] == ["22253000"]


@pytest.mark.parametrize("name", ["Observation-ex-MHV-pain-10.json", "Observation-ex-MHV-pain-14.json"])
def test_the_vas_patient_generated_pain_imports_as_pain_with_its_note(db_url, name):
    """The VA My HealtheVet guide's pain (LOINC and SNOMED CT; SNOMED CT alone) with the patient's note."""
    raw = (REAL / "mhv_pghd" / name).read_bytes()
    report = import_file(raw, name, url=db_url, today=TODAY)
    assert (report.status, report.refused_rows, report.entries_added) == ("imported", [], 1)
    with session_scope(db_url) as session:
        assert [(e.pain, e.notes) for e in session.scalars(select(DiaryEntry))] == [(10, "Oh, scream in pain")]
    before = dump(db_url, skip=("audit_event",))
    assert import_file(raw, name, url=db_url, today=TODAY).status == "already-imported"
    assert_only_the_file_kept(db_url, before, raw=raw, status="already-imported")


def test_a_medication_statement_without_any_date_from_hl7_is_a_co_medication_of_unknown_start(db_url):
    """HL7's medicationstatementexample7: no effective[x], no dateAsserted (FHIR allows it)."""
    raw = (REAL / "hl7_r4_examples" / "medicationstatementexample7.json").read_bytes()
    report = import_file(raw, "medicationstatementexample7.json", url=db_url, today=TODAY)
    assert (report.status, report.refused_rows) == ("imported", [])
    assert [(start, precision) for _, start, precision, _, _ in stored(db_url)] == [(None, None)]
