"""import-formats.md version 2, section 3: what FHIR allows is never refused, more blood pressure
codes, validated instruments and other observations as measures, patients by the clinic's identifier.

One test per rule, on the real files where one exists (``shared/data/real`` and ``tests/data/real``)."""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from dashboard.ingest.fhir import parse_fhir
from dashboard.ingest.records import FileRefused
from tests.ingest.test_fhir import (
    BRADLY, CODY, LOINC, NOHEMI, REAL, RXNORM, WHEN, bundle, coding, observation, real,
)

HERE = Path(__file__).resolve().parents[1] / "data" / "real"
ABSENT = {"dataAbsentReason": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/data-absent-reason",
                                           "code": "not-performed"}]}}


def bp(code: str, systolic, diastolic, ident: str = "bp1", **extra) -> dict:
    res = observation(code, ident=ident, components=[])
    res["component"] = [
        {"code": {"coding": [coding(c)]}, **({"valueQuantity": {"value": v, "unit": "mmHg", "code": "mm[Hg]"}}
                                             if v is not None else ABSENT)}
        for c, v in (("8480-6", systolic), ("8462-4", diastolic))]
    return {**res, **extra}


# ---------------------------------------------------------------- blood pressure

@pytest.mark.parametrize("code", ["85354-9", "55284-4", "96607-7"])
def test_every_blood_pressure_panel_of_the_spec_is_a_reading(code):
    parsed = parse_fhir(bundle(bp(code, 142, 91)), "b.json")
    assert [d.measures for d in parsed.diary] == [{"bp_systolic": 142, "bp_diastolic": 91}]
    assert (parsed.refused, parsed.ignored, parsed.measures) == ([], {}, [])


def test_systolic_and_diastolic_as_separate_observations_at_one_time_are_one_reading():
    parsed = parse_fhir(bundle(observation("8480-6", 150), observation("8462-4", 95, ident="o2")), "b.json")
    assert [d.measures for d in parsed.diary] == [{"bp_systolic": 150, "bp_diastolic": 95}]


@pytest.mark.parametrize("rel, readings", [(BRADLY, 5), (NOHEMI, 11), (CODY, 10)])
def test_synthea_blood_pressure_panels_are_imported(shared_dir, rel, readings):
    parsed, source = real(shared_dir, rel)
    panels = [e["resource"] for e in source["entry"]
              if e["resource"]["resourceType"] == "Observation" and e["resource"]["code"]["coding"][0]["code"] == "55284-4"]
    read = [d for d in parsed.diary if "bp_systolic" in d.measures]
    assert len(panels) == len(read) == readings
    first = panels[0]["component"]
    assert (read[0].measures["bp_systolic"], read[0].measures["bp_diastolic"]) == (
        first[1]["valueQuantity"]["value"] if first[1]["code"]["coding"][0]["code"] == "8480-6"
        else first[0]["valueQuantity"]["value"],
        first[0]["valueQuantity"]["value"] if first[0]["code"]["coding"][0]["code"] == "8462-4"
        else first[1]["valueQuantity"]["value"])
    assert not any("55284-4" in label for label in parsed.ignored) and parsed.refused == []


@pytest.mark.parametrize("systolic, diastolic, kept", [
    (None, 88, {"bp_diastolic": 88}), (135, None, {"bp_systolic": 135}),
])
def test_an_absent_component_leaves_that_half_not_recorded(systolic, diastolic, kept):
    parsed = parse_fhir(bundle(bp("85354-9", systolic, diastolic)), "b.json")
    assert [d.measures for d in parsed.diary] == [kept] and parsed.refused == []


def test_hl7_blood_pressure_with_an_absent_diastolic_keeps_the_systolic(real_file):
    """HL7's own example (observation-example-bloodpressure-dar): diastolic dataAbsentReason."""
    parsed = real_file("hl7_r4_examples/observation-example-bloodpressure-dar.json")
    assert [d.measures for d in parsed.diary] == [{"bp_systolic": 107}] and parsed.refused == []
    whole = real_file("hl7_r4_examples/observation-example-bloodpressure.json")
    assert [d.measures for d in whole.diary] == [{"bp_systolic": 107, "bp_diastolic": 60}]


def test_a_panel_with_both_halves_absent_is_ignored_never_refused():
    parsed = parse_fhir(bundle(bp("96607-7", None, None), observation("72514-3", 3, ident="p")), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 3}]
    assert parsed.refused == []
    assert parsed.ignored == {"Observation 96607-7 blood pressure without a value (dataAbsentReason)": 1}


def test_us_core_average_home_blood_pressure_example(real_file):
    """US Core's own example of 96607-7 (average of home readings over a period), whose halves
    are coded 96608-5 / 96609-3; its time is the period's start. Since version 3 its note is the
    entry's notes (import-formats.md v3: ``Observation.note`` is the entry's note)."""
    parsed = real_file("us_core/Observation-average-blood-pressure.json")
    (entry,) = parsed.diary
    assert entry.measures == {"bp_systolic": 109, "bp_diastolic": 72, "notes": "Average blood pressure is calculated "
                              "from 12 measurements taken by the patient over 3 days."} and parsed.refused == []
    assert (entry.recorded_at, entry.utc_offset_minutes) == (datetime(2023, 8, 3, 1, 6, 52, 480000), 0)
    assert [d.measures for d in real_file("us_core/blood-pressure.json").diary] == [
        {"bp_systolic": 109, "bp_diastolic": 44}]


# ---------------------------------------------------------------- legal absences

def statement(**extra) -> dict:
    return {"resourceType": "MedicationStatement", "id": "ms1", "status": "active",
            "medicationCodeableConcept": {"coding": [coding("7052", RXNORM, "morphine")]},
            "subject": {"reference": "Patient/p1"}, **extra}


def test_a_statement_without_any_date_is_a_co_medication_of_unknown_start():
    parsed = parse_fhir(bundle(statement()), "b.json")
    (med,) = parsed.comedications
    assert (med.name, med.start_date, med.drug_class, med.status) == ("morphine", None, "opioid", "active")
    assert parsed.refused == []


def test_a_ketamine_statement_without_a_time_is_ignored_with_the_reason():
    parsed = parse_fhir(bundle(statement(medicationCodeableConcept={"text": "ketamine troche 50 mg"})), "b.json")
    assert (parsed.diary, parsed.refused) == ([], [])
    assert parsed.ignored == {"MedicationStatement for ketamine without a time (no day to place a dose on)": 1}


def test_hl7_statement_without_a_date_and_medication_known_by_text(real_file):
    undated = real_file("hl7_r4_examples/medicationstatementexample7.json")
    assert [(c.name, c.start_date, c.rxnorm) for c in undated.comedications] == [
        ("Mometasone Furoate 0.05mg/Actuat", None, "358793")]
    by_text = real_file("hl7_r4_examples/medicationstatementexample3.json")
    assert [(c.name, c.start_date) for c in by_text.comedications] == [
        ("Little Pink Pill for water retention", date(2014, 2, 1))]
    contained = real_file("hl7_r4_examples/medicationstatementexample2.json")
    assert [c.name for c in contained.comedications] == [
        "Tylenol PM (Acetaminophen 500 MG / Diphenhydramine Hydrochloride 25 mg)"]
    assert undated.refused == by_text.refused == contained.refused == []


@pytest.mark.parametrize("rel, label", [
    ("hl7_r4_examples/observation-example-bloodpressure-cancel.json", "Observation cancelled"),
    ("hl7_r4_examples/medicationstatementexample5.json", "MedicationStatement entered-in-error"),
])
def test_hl7_withdrawn_examples_are_ignored_with_the_reason(real_file, rel, label):
    parsed = real_file(rel)
    assert (parsed.diary, parsed.comedications, parsed.refused, parsed.ignored) == ([], [], [], {label: 1})


@pytest.mark.parametrize("medication, reference, name", [
    ({"resourceType": "Medication", "id": "m1", "code": {"text": "Tramadol 50 mg capsule"}}, {}, "Tramadol 50 mg capsule"),
    ({"resourceType": "Medication", "id": "m1"}, {"display": "Lorazepam 1 mg"}, "Lorazepam 1 mg"),
    ({"resourceType": "Medication", "id": "m1",
      "text": {"status": "generated", "div": "<div xmlns=\"http://www.w3.org/1999/xhtml\">Oxycodone <b>5 mg</b></div>"}},
     {}, "Oxycodone 5 mg"),
])
def test_a_medication_known_by_its_text_only(medication, reference, name):
    parsed = parse_fhir(bundle(medication, statement(
        medicationCodeableConcept=None, medicationReference={"reference": "Medication/m1", **reference},
        effectiveDateTime="2026-02-01")), "b.json")
    (med,) = parsed.comedications
    assert med.name == name and med.rxnorm is None and med.drug_class in ("opioid", "benzodiazepine")
    assert parsed.refused == []


def test_a_medication_named_nowhere_is_ignored_not_refused():
    parsed = parse_fhir(bundle({"resourceType": "Medication", "id": "m1"}, statement(
        medicationCodeableConcept=None, medicationReference={"reference": "Medication/m1"})), "b.json")
    assert (parsed.comedications, parsed.refused) == ([], [])
    assert parsed.ignored == {"MedicationStatement of a medication named nowhere (no code, text or display)": 1}


@pytest.mark.parametrize("status", ["entered-in-error", "cancelled"])
@pytest.mark.parametrize("resource", [
    observation("72514-3", 5), observation("44261-6", 12),
    statement(effectiveDateTime="2026-02-01"),
    {"resourceType": "QuestionnaireResponse", "id": "q", "authored": WHEN, "subject": {"reference": "Patient/p1"},
     "item": [{"linkId": "44261-6", "answer": [{"valueInteger": 12}]}]},
])
def test_withdrawn_resources_are_ignored_with_that_reason(resource, status):
    parsed = parse_fhir(bundle({**resource, "status": status}), "b.json")
    assert (parsed.diary, parsed.measures, parsed.comedications, parsed.refused) == ([], [], [], [])
    assert parsed.ignored == {f"{resource['resourceType']} {status}": 1}


# ---------------------------------------------------------------- patients

MR = {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/v2-0203", "code": "MR"}]}


@pytest.mark.parametrize("identifiers, expected", [
    ([{"system": "s", "value": "first"}, {"type": MR, "system": "clinic", "value": "MRN-42"}], "MRN-42"),
    ([{"system": "s", "value": "first"}, {"system": "t", "value": "second"}], "first"),
    ([{"system": "s"}, {"system": "t", "value": "  second  "}], "second"),
    ([], "server-id"),
])
def test_a_patient_is_known_by_the_clinics_identifier(identifiers, expected):
    patient = {"resourceType": "Patient", "id": "server-id", "identifier": identifiers}
    parsed = parse_fhir(bundle(patient, observation("72514-3", 5, patient="server-id")), "b.json")
    assert [p.ref for p in parsed.patients] == [expected]
    assert [d.patient_ref for d in parsed.diary] == [expected]


# ---------------------------------------------------------------- measures

def answer(code: str, text: str) -> dict:
    return {"valueCoding": {"system": LOINC, "code": code, "display": text}}


def phq9_response(item9: dict, total: int = 11, ident: str = "phq") -> dict:
    return {"resourceType": "QuestionnaireResponse", "id": ident, "status": "completed", "authored": WHEN,
            "subject": {"reference": "Patient/p1"},
            "item": [{"linkId": "/44250-9", "answer": [answer("LA6570-1", "More than half the days")]},
                     {"linkId": "q9", "code": [coding("44260-8")], "answer": [item9]},
                     {"linkId": "/44261-6", "answer": [{"valueInteger": total}]}]}


def test_phq9_items_and_total_from_a_questionnaire_response():
    parsed = parse_fhir(bundle(phq9_response(answer("LA6569-3", "Several days"))), "b.json")
    got = {m.code: (m.instrument, m.value, m.answer_code, m.answer_text, m.answer_position) for m in parsed.measures}
    assert got == {
        "44250-9": ("phq9_item", 2, "LA6570-1", "More than half the days", 3),
        "44260-8": ("phq9_item", 1, "LA6569-3", "Several days", 2),
        "44261-6": ("phq9", 11, None, None, None),
    }
    assert parsed.diary == [] and parsed.refused == []
    assert {m.recorded_at for m in parsed.measures} == {datetime(2026, 3, 1, 21, 30)}


def test_us_core_phq9_questionnaire_response_example(real_file):
    """US Core's PHQ-9 QuestionnaireResponse: nine items with LOINC answer codes and the total."""
    parsed = real_file("us_core/QuestionnaireResponse-phq-9-example.json")
    items = {m.code: (m.value, m.answer_position) for m in parsed.measures if m.instrument == "phq9_item"}
    assert len(items) == 9 and items["44260-8"] == (0, 1) and items["44250-9"] == (2, 3)
    (total,) = [m for m in parsed.measures if m.instrument == "phq9"]
    assert total.value == 12 == sum(v for v, _ in items.values())  # the file's own total agrees with its items
    assert parsed.refused == [] and parsed.diary == []


@pytest.mark.parametrize("rel, code, value, text", [
    ("us_core/Observation-PHQ9-item-example-44260-8.json", "44260-8", 0, "Not at all"),
    ("us_core/Observation-PHQ9-item-example-44261-6.json", "44261-6", 12, None),  # written valueString "12"
])
def test_us_core_phq9_observations(real_file, rel, code, value, text):
    (m,) = real_file(rel).measures
    assert (m.code, m.value, m.answer_text) == (code, value, text)


@pytest.mark.parametrize("item, value, position", [
    ({"valueCoding": {"display": "Quite a bit"}}, 4, 4),
    ({"valueCoding": {"display": "not at all"}}, 1, 1),
    ({"valueCoding": {"code": "x", "display": "Very much"}}, 5, 5),
    ({"valueInteger": 3}, 3, None),
])
def test_promis_interference_is_a_verbal_level_never_a_pain_score(item, value, position):
    qr = {"resourceType": "QuestionnaireResponse", "id": "pr", "status": "completed", "authored": WHEN,
          "subject": {"reference": "Patient/p1"}, "item": [{"linkId": "61758-9", "answer": [item]}]}
    parsed = parse_fhir(bundle(qr), "b.json")
    (m,) = parsed.measures
    assert (m.instrument, m.value, m.answer_position) == ("promis_pain_interference", value, position)
    assert parsed.diary == []  # never on the 0-10 pain scale


def test_promis_intensity_observation_with_a_coded_value():
    obs = observation("75262-6", None, valueCodeableConcept={"coding": [coding("LA6751-7", display="Moderate")]})
    (m,) = parse_fhir(bundle(obs), "b.json").measures
    assert (m.instrument, m.value, m.answer_text, m.answer_position) == ("promis_pain_intensity", 3, "Moderate", 3)


@pytest.mark.parametrize("resource, column, value", [
    (observation("44261-6", 28), "valueQuantity.value", "28"),
    (observation("70274-6", -1), "valueQuantity.value", "-1"),
    (observation("44260-8", None, valueCodeableConcept={"text": "sometimes"}), "valueCodeableConcept", "sometimes"),
    (observation("44261-6", 9, when=None), "effectiveDateTime", ""),
])
def test_an_instrument_value_outside_its_scale_is_refused_with_its_path(resource, column, value):
    parsed = parse_fhir(bundle(resource), "b.json")
    assert parsed.measures == []
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == ("Observation/obs1", column, value)


@pytest.mark.parametrize("extra, value, text, unit", [
    ({"valueQuantity": {"value": 72, "unit": "kg"}}, 72, None, "kg"),
    ({"valueString": "<script>alert(1)</script>"}, None, "<script>alert(1)</script>", None),
    ({"valueCodeableConcept": {"coding": [coding("LA15920-4", display="Former smoker")]}}, None, "Former smoker", None),
    ({"valueBoolean": True}, None, "yes", None),
])
def test_any_other_coded_observation_with_a_value_is_an_other_measure(extra, value, text, unit):
    (m,) = parse_fhir(bundle(observation("12345-6", None, **extra)), "b.json").measures
    assert (m.instrument, m.value, m.answer_text, m.unit) == ("other", value, text, unit)


def test_an_other_observation_without_a_time_or_value_is_ignored_not_refused():
    parsed = parse_fhir(bundle(observation("12345-6", 5, when=None), observation("12345-7", None, ident="o2")), "b.json")
    assert (parsed.measures, parsed.refused) == ([], [])
    assert parsed.ignored == {"Observation 12345-6 without a time": 1, "Observation 12345-7 without a value": 1}


def test_mme_and_urine_drug_screen_are_recognised(shared_dir):
    mme = observation("MME", 90, valueQuantity={"value": 90, "unit": "{MME}/d"})
    mme["code"]["coding"][0]["system"] = "http://cds.ahrq.gov/cdsconnect/pms"
    uds = observation("19295-5", None, ident="u", valueCodeableConcept={"text": "Negative"})
    uds["code"] = {"coding": [coding("19295-5", display="Opiates [Presence] in Urine by Screen method")]}
    got = {m.instrument: (m.value, m.unit, m.answer_text) for m in parse_fhir(bundle(mme, uds), "b.json").measures}
    assert got == {"mme": (90, "{MME}/d", None), "uds": (None, None, "Negative")}


def test_two_resources_giving_one_measure_other_values_refuse_the_later():
    parsed = parse_fhir(bundle(observation("44261-6", 9), observation("44261-6", 12, ident="o2")), "b.json")
    assert [m.value for m in parsed.measures] == [9]
    (refused,) = parsed.refused
    assert refused.row == "Observation/o2" and "Observation/obs1" in refused.reason


def test_measures_follow_a_patient_named_at_import():
    parsed = parse_fhir(bundle(observation("44261-6", 9)), "b.json", patient_ref="CLINIC-1")
    assert [m.patient_ref for m in parsed.measures] == ["CLINIC-1"]


# ---------------------------------------------------------------- tests/data/real

@pytest.fixture
def real_file():
    def read(rel: str):
        path = HERE / rel
        if not path.exists():
            pytest.fail(f"{path} is missing (tests/data/real/SOURCES.md lists it)")
        return parse_fhir(path.read_bytes(), path.name)
    return read


def test_every_file_kept_under_tests_data_real_imports_without_refusal():
    files = sorted(p for p in HERE.rglob("*") if p.suffix in (".json", ".ndjson"))
    assert files, "tests/data/real holds the public files of SOURCES.md"
    for path in files:
        parsed = parse_fhir(path.read_bytes(), path.name)
        assert parsed.refused == [], (path.name, parsed.refused)
        listed = (HERE / "SOURCES.md").read_text()
        assert path.name in listed, f"{path.name} is not named in tests/data/real/SOURCES.md"


# The shared real files that are not FHIR JSON, each named with the refusal it must get
# (import-formats.md v3): every other *.json or *.xml there is FHIR JSON and imports whole, so a
# new file of an unknown kind fails this test until someone says what it is.
NOT_FHIR_JSON = {
    # An Open mHealth blood-pressure data point (IEEE 1752), not a FHIR resource.
    "fhir_more/omh_blood-pressure-4.0-with-descriptive-statistic.json":
        "not a FHIR resource: the file must be a JSON object with a resourceType",
    # HL7's International Patient Summary example as FHIR XML.
    "fhir_more/ips_IPS-bundle-01.xml": "FHIR XML is not read; export the same data as JSON",
}


def test_shared_real_files_import_without_refusal(shared_dir):
    """Changed with version 3: the walk once took every *.json for FHIR; the files that are not
    FHIR JSON are now named with their (correct) refusal, and XML files are walked too."""
    root = shared_dir / REAL
    paths = sorted(p for p in root.rglob("*") if p.suffix in (".json", ".xml"))
    named = {p.relative_to(root).as_posix() for p in paths}
    assert set(NOT_FHIR_JSON) <= named  # a named file that went away is noticed
    for path in paths:
        expected = NOT_FHIR_JSON.get(path.relative_to(root).as_posix())
        if expected is None:
            assert parse_fhir(path.read_bytes(), path.name).refused == [], path.name
            continue
        with pytest.raises(FileRefused) as refused:
            parse_fhir(path.read_bytes(), path.name)
        assert refused.value.refused.reason == expected, path.name


def test_a_merged_copy_is_counted_once_as_merged_never_also_as_ignored():
    """Found by the hypothesis campaign: a repeated Medication was counted as merged and twice as ignored."""
    medication = {"resourceType": "Medication", "id": "med"}
    parsed = parse_fhir(bundle(medication, medication, {**medication, "id": "other"}), "b.json")
    assert (parsed.merged, parsed.ignored) == (2, {"Medication": 1})


@pytest.mark.parametrize("extra, kept, ignored", [
    ({"valueQuantity": {"value": 5, "comparator": "<", "unit": "mg/L"}}, ("<5", None, "mg/L"), {}),
    ({"valueQuantity": {"unit": "mg/L"}}, None, {"Observation 12345-6 without a value": 1}),
    ({"valueRange": {"low": {"value": 1}}}, None, {"Observation 12345-6 with a value the dashboard does not read "
                                                   "(valueRange)": 1}),
])
def test_other_observations_of_legal_shapes_are_never_refused(extra, kept, ignored):
    parsed = parse_fhir(bundle(observation("12345-6", None, **extra)), "b.json")
    assert parsed.refused == [] and parsed.ignored == ignored
    assert [(m.answer_text, m.value, m.unit) for m in parsed.measures] == ([kept] if kept else [])


def test_a_score_with_a_comparator_is_still_refused():
    parsed = parse_fhir(bundle(observation("44261-6", None, valueQuantity={"value": 5, "comparator": ">"})), "b.json")
    assert [(r.column, r.value) for r in parsed.refused] == [("valueQuantity.comparator", ">")]
