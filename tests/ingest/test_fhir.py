"""FHIR R4 import: the real sample files, and small resources written here for each rule."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

import pytest

from dashboard.ingest.fhir import looks_like_fhir, parse_fhir
from dashboard.ingest.records import FileRefused

LOINC = "http://loinc.org"
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"
SNOMED = "http://snomed.info/sct"
REAL = "data/real"
BRADLY = "synthea_r4/Bradly_Douglas_18468941-bdaf-42a0-8648-cba7cafc27ce.json"
NOHEMI = "synthea_r4/Nohemi_Mertz_0862f09f-bfe4-4150-a6cf-2404f27ce4b7.json"
CODY = "synthea_r4/Cody_Larson_c0b14001-6297-4537-ab1b-6bf1c193e880.json"
BRENDA = "ahrq_pain_mgmt_r4/brenda_jackson.json"
QR_IGNORED = "QuestionnaireResponse without pain, PEG, blood pressure or instrument items"
WHEN = "2026-03-01T21:30:00+01:00"


def real(shared_dir, rel: str):
    path = shared_dir / REAL / rel
    return parse_fhir(path.read_bytes(), path.name), json.loads(path.read_bytes())


def bundle(*resources, kind: str = "collection") -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": kind, "entry": [{"resource": r} for r in resources]}).encode()


def ndjson_twin(raw: bytes) -> bytes:
    """The same resources as a Bulk Data export writes them: one a line."""
    return "\n".join(json.dumps(e["resource"]) for e in json.loads(raw)["entry"]).encode() + b"\n"


def coding(code: str, system: str = LOINC, display: str | None = None) -> dict:
    return {"system": system, "code": code, **({"display": display} if display else {})}


def observation(code: str, value=None, *, ident: str = "obs1", when: str | None = WHEN, patient: str = "p1",
                components: list | None = None, **extra) -> dict:
    res = {"resourceType": "Observation", "id": ident, "status": "final", "code": {"coding": [coding(code)]},
           "subject": {"reference": f"Patient/{patient}"}}
    if when is not None:
        res["effectiveDateTime"] = when
    if value is not None:
        res["valueQuantity"] = {"value": value, "unit": "{score}"}
    if components is not None:
        res["component"] = [{"code": {"coding": [coding(c)]}, "valueQuantity": {"value": v, "unit": u}}
                            for c, v, u in components]
    return {**res, **extra}


def ketamine_request(dosage: dict | None = None, **extra) -> dict:
    dosage = {"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg", "code": "mg"}}],
              "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}} if dosage is None else dosage
    return {"resourceType": "MedicationRequest", "id": "ket1", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [coding("6130", RXNORM, "ketamine")]},
            "subject": {"reference": "Patient/p1"}, "authoredOn": "2026-03-01", "dosageInstruction": [dosage],
            **extra}


def ketamine_administration(dose: dict, **extra) -> dict:
    return {"resourceType": "MedicationAdministration", "id": "adm1", "status": "completed",
            "contained": [{"resourceType": "Medication", "id": "troche", "code": {"text": "Compounded troche"},
                           "ingredient": [{"itemCodeableConcept": {"coding": [coding("6130", RXNORM)]}}]}],
            "medicationReference": {"reference": "#troche"}, "subject": {"reference": "Patient/p1"},
            "effectiveDateTime": "2026-03-02T08:00:00+01:00", "dosage": {"dose": dose}, **extra}


def without_file_name(parsed) -> dict:
    out = dataclasses.asdict(parsed)
    out.pop("file_name")
    return out


# ---------------------------------------------------------------- the real files

@pytest.mark.parametrize("rel, count, first, last, lowest, highest", [
    (BRADLY, 40, date(2011, 5, 6), date(2019, 8, 22), 0.06, 8.95),
    (NOHEMI, 12, date(2011, 5, 11), date(2021, 3, 3), 0.32, 9.56),
    (CODY, 10, date(2011, 6, 27), date(2020, 8, 17), None, 3.58),
])
def test_synthea_pain_scores(shared_dir, rel, count, first, last, lowest, highest):
    parsed, source = real(shared_dir, rel)
    scores = [d for d in parsed.diary if "pain" in d.measures]
    pains = [d.measures["pain"] for d in scores]
    assert len(scores) == count
    assert (min(d.recorded_at.date() for d in scores), max(d.recorded_at.date() for d in scores)) == (first, last)
    assert max(pains) == pytest.approx(highest, abs=0.005)
    if lowest is not None:
        assert min(pains) == pytest.approx(lowest, abs=0.005)
    assert any(not p.is_integer() for p in pains), "Synthea's float scores are kept as they are"
    assert parsed.refused == []
    # urn:uuid subjects resolve to the Patient, known by the clinic's MR identifier (not its id)
    patient = next(e["resource"] for e in source["entry"] if e["resource"]["resourceType"] == "Patient")
    mrn = next(i["value"] for i in patient["identifier"] if i.get("type", {}).get("coding", [{}])[0].get("code") == "MR")
    assert mrn in rel and mrn != patient["id"]
    assert [p.ref for p in parsed.patients] == [mrn]
    assert parsed.patients[0].name == f"{patient['name'][0]['given'][0]} {patient['name'][0]['family']}"
    assert parsed.patients[0].birth_year == int(patient["birthDate"][:4])
    assert {d.patient_ref for d in parsed.diary} | {c.patient_ref for c in parsed.comedications} == {mrn}
    assert all(d.utc_offset_minutes == 0 and d.has_time for d in scores)


@pytest.mark.parametrize("rel, total, opioids, statuses", [
    (BRADLY, 34, 34, {"stopped"}),
    (NOHEMI, 5, 0, {"stopped", "active"}),
    (CODY, 16, 0, {"stopped", "active"}),
])
def test_synthea_prescriptions_are_co_medications(shared_dir, rel, total, opioids, statuses):
    parsed, source = real(shared_dir, rel)
    requests = [e["resource"] for e in source["entry"] if e["resource"]["resourceType"] == "MedicationRequest"]
    assert len(parsed.comedications) == total == len(requests)
    assert sum(c.drug_class == "opioid" for c in parsed.comedications) == opioids
    assert {c.status for c in parsed.comedications} == statuses
    coded = {r["medicationCodeableConcept"]["coding"][0]["code"] for r in requests}
    assert {c.rxnorm for c in parsed.comedications} == coded
    assert all(c.source == "fhir" and c.name for c in parsed.comedications)
    assert parsed.steps == []


def test_bradly_douglas_oxycodone_and_hydrocodone_products_are_opioids(shared_dir):
    """RxNorm codes in the file are clinical drugs, not ingredients: the names carry the class."""
    parsed, _ = real(shared_dir, BRADLY)
    by_code = {c.rxnorm: c for c in parsed.comedications}
    assert set(by_code) == {"1049221", "1860154", "1310197"}
    assert "hydrocodone" in by_code["1310197"].name.lower()
    assert all(c.drug_class == "opioid" for c in by_code.values())
    assert min(c.start_date for c in parsed.comedications) == date(2011, 5, 21)
    assert max(c.start_date for c in parsed.comedications) == date(2018, 5, 20)


def test_cody_larson_scheduled_dose_is_described(shared_dir):
    parsed, _ = real(shared_dir, CODY)
    simvistatin = [c for c in parsed.comedications if c.rxnorm == "316672"]
    assert len(simvistatin) == 12
    assert {c.dose_text for c in simvistatin} == {"1 once daily"}


def test_brenda_jackson_peg_wong_baker_and_co_sedatives(shared_dir):
    parsed, _ = real(shared_dir, BRENDA)
    assert parsed.refused == []
    peg = {d.recorded_at.date(): (d.measures["peg_pain"], d.measures["enjoyment_interference"],
                                  d.measures["activity_interference"], d.measures["peg"])
           for d in parsed.diary if "peg" in d.measures}
    assert peg == {date(2021, 3, 20): (8, 6, 10, 8), date(2022, 3, 3): (8, 5, 8, 7), date(2023, 1, 25): (7, 5, 4, 5)}
    # Wong-Baker (pain now) is the entry's pain; the PEG pain items (8, 8, 7: past week) at the
    # same instant are kept apart as peg_pain.
    pains = {d.recorded_at.date(): d.measures["pain"] for d in parsed.diary}
    assert pains == {date(2021, 3, 20): 6, date(2022, 3, 3): 6, date(2023, 1, 25): 6, date(2023, 10, 1): 10}
    # times come from `issued`
    assert {d.recorded_at.time().isoformat() for d in parsed.diary} == {"11:06:11.683000"}
    assert {d.utc_offset_minutes for d in parsed.diary} == {0}
    classes = [c.drug_class for c in parsed.comedications]
    assert (len(classes), classes.count("opioid"), classes.count("benzodiazepine")) == (33, 22, 1)
    benzo = next(c for c in parsed.comedications if c.drug_class == "benzodiazepine")
    assert "chlordiazepoxide" in benzo.name.lower()
    # version 2: PHQ-9 totals, MME/day and urine drug screens are measures, never dropped, never pain
    assert parsed.ignored == {"Condition": 4, "Procedure": 5}
    by = {}
    for m in parsed.measures:
        by.setdefault(m.instrument, []).append((m.recorded_at.date(), m.value, m.unit, m.answer_text))
    assert sorted(by["phq9"]) == [(date(2021, 3, 20), 18, None, None), (date(2022, 3, 3), 15, None, None),
                                  (date(2023, 1, 1), 8, None, None)]
    assert sorted(v for _, v, _, _ in by["mme"]) == [160, 190, 220, 220, 220]
    assert {u for _, _, u, _ in by["mme"]} == {"{MME}/d"}
    assert sorted(by["uds"])[0] == (date(2021, 3, 21), 2200, "ng/mL", "Positive")
    assert len(by["other"]) == 3  # STarT Back totals: kept as other measures


@pytest.mark.parametrize("name, word, drug_class, start, status", [
    ("medicationstatementexample1.json", "acetaminophen", None, date(2015, 1, 23), "active"),
    ("medicationrequest0301.json", "oxycodone", "opioid", date(2015, 1, 15), "completed"),
    ("medicationrequest0308.json", "vicodin", "opioid", date(2015, 1, 15), "completed"),
])
def test_hl7_medication_examples(shared_dir, name, word, drug_class, start, status):
    parsed, source = real(shared_dir, f"hl7_r4_examples/{name}")
    assert parsed.refused == [] and parsed.diary == [] and parsed.steps == []
    (med,) = parsed.comedications
    assert word in med.name.lower()
    assert (med.drug_class, med.start_date, med.status, med.patient_ref) == (drug_class, start, status, "pat1")
    dosage = (source.get("dosage") or source.get("dosageInstruction"))[0]
    assert med.dose_text == dosage["text"]


def test_hl7_body_weight_is_an_other_measure(shared_dir):
    parsed, _ = real(shared_dir, "hl7_r4_examples/observation-example.json")
    assert (parsed.diary, parsed.refused, parsed.ignored) == ([], [], {})
    (weight,) = parsed.measures
    assert (weight.instrument, weight.code, weight.name, weight.value, weight.unit, weight.patient_ref) == (
        "other", "29463-7", "Body Weight", 185, "lbs", "example")
    assert (weight.recorded_at, weight.has_time) == (datetime(2016, 3, 28), False)


@pytest.mark.parametrize("name, label", [
    ("questionnaireresponse-example-gcs.json", QR_IGNORED),
    ("questionnaireresponse-example-f201-lifelines.json", QR_IGNORED),
])
def test_hl7_examples_without_diary_data_are_ignored_with_counts(shared_dir, name, label):
    parsed, _ = real(shared_dir, f"hl7_r4_examples/{name}")
    assert parsed.ignored == {label: 1}
    assert (parsed.diary, parsed.refused, parsed.comedications) == ([], [], [])


# ---------------------------------------------------------------- file shapes

def test_bundle_and_its_ndjson_twin_parse_identically(shared_dir):
    raw = (shared_dir / REAL / BRENDA).read_bytes()
    assert without_file_name(parse_fhir(raw, "b.json")) == without_file_name(parse_fhir(ndjson_twin(raw), "b.ndjson"))


def test_small_bundle_and_ndjson_twin_parse_identically():
    raw = bundle({"resourceType": "Patient", "id": "p1", "name": [{"given": ["Ada"], "family": "Lee"}]},
                 observation("72514-3", 4.5),
                 observation("91147-9", 5, ident="peg1", components=[("91145-3", 6, None), ("91146-1", 4, None)]),
                 ketamine_administration({"value": 25, "unit": "mg"}),
                 observation("8302-2", 170, ident="height"))
    parsed = parse_fhir(raw, "b.json")
    assert len(parsed.diary) == 2 and parsed.ignored == {}
    assert [(m.code, m.value, m.instrument) for m in parsed.measures] == [("8302-2", 170, "other")]
    assert without_file_name(parsed) == without_file_name(parse_fhir(ndjson_twin(raw), "b.ndjson"))


@pytest.mark.parametrize("kind", ["collection", "transaction", "searchset", "batch"])
def test_every_bundle_type_is_read(kind):
    parsed = parse_fhir(bundle(observation("72514-3", 3), kind=kind), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 3}]


def test_single_resource_file():
    parsed = parse_fhir(json.dumps(observation("38221-8", 8)).encode(), "o.json")
    assert [(d.patient_ref, d.measures) for d in parsed.diary] == [("p1", {"pain": 8})]


def test_ndjson_broken_line_is_refused_with_its_number():
    lines = [json.dumps(observation("72514-3", 3)), '{"resourceType": "Observation", "id": ', "",
             json.dumps(observation("72514-3", 4, ident="obs2", when="2026-03-02"))]
    parsed = parse_fhir("\n".join(lines).encode(), "b.ndjson")
    assert [d.measures["pain"] for d in parsed.diary] == [3, 4]
    (refused,) = parsed.refused
    assert refused.row == 2 and refused.column.startswith("column ") and "not valid JSON" in refused.reason


@pytest.mark.parametrize("raw, row", [
    (b'{"resourceType": "Bundle",\n  "entry": [}', 2),
    (b'{"resourceType": "Observation", "valueQuantity": {"value": NaN}}', 1),
    (b"[1, 2]", 1),
    (b'"Observation"', 1),
    (b"   \n", 1),
    (b'{"resourceType": "Patient", "name": "\xff"}', 1),
    (b'{"resourceType": "Observation", "valueQuantity": ' + b"[" * 990 + b"]" * 990 + b"}", 1),
])
def test_unreadable_files_are_refused_with_where(raw, row):
    with pytest.raises(FileRefused) as caught:
        parse_fhir(raw, "bad.json")
    assert caught.value.refused.row == row and caught.value.refused.column
    assert "bad.json" in str(caught.value)


@pytest.mark.parametrize("raw, expected", [
    (b'{"resourceType": "Bundle", "entry": []}', True),
    (b'\xef\xbb\xbf  {"resourceType": "Observation"}', True),
    (b'{"resourceType": "Patient"}\n{"resourceType": "Observation"}\n', True),
    (b'{"resourceType": "Bundle",\n "entry": [', True),  # broken, but FHIR: its parser says where
    (b'{"name": "not fhir"}', False),
    (b"date,pain\n2026-03-01,5\n", False),
    (b"\xff\xfe", False),
    (b"", False),
])
def test_looks_like_fhir(raw, expected):
    assert looks_like_fhir(raw) is expected


# ---------------------------------------------------------------- broken resources

def _set(path: list, value):
    def change(res):
        node = res
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value
    return change


def _drop(key):
    return lambda res: res.pop(key)


@pytest.mark.parametrize("resource, change, column, value", [
    (observation("72514-3", 5), _set(["valueQuantity", "value"], 11), "valueQuantity.value", "11"),
    (observation("72514-3", 5), _set(["valueQuantity", "value"], -0.5), "valueQuantity.value", "-0.5"),
    (observation("72514-3", 5), _set(["valueQuantity", "value"], "7"), "valueQuantity.value", "7"),
    (observation("72514-3", 5), _set(["valueQuantity", "value"], True), "valueQuantity.value", "true"),
    (observation("72514-3", 5), _set(["valueQuantity"], 7), "valueQuantity", "7"),
    (observation("72514-3", None), _set(["valueString"], "seven"), "valueString", "seven"),
    (observation("72514-3", None), lambda r: None, "valueQuantity.value", ""),
    (observation("72514-3", 5), _drop("effectiveDateTime"), "effectiveDateTime", ""),
    (observation("72514-3", 5), _set(["effectiveDateTime"], "2026"), "effectiveDateTime", "2026"),
    (observation("72514-3", 5), _set(["effectiveDateTime"], "2026-03"), "effectiveDateTime", "2026-03"),
    (observation("72514-3", 5), _set(["effectiveDateTime"], "2026-02-30"), "effectiveDateTime", "2026-02-30"),
    (observation("72514-3", 5), _set(["effectiveDateTime"], "01/03/2026"), "effectiveDateTime", "01/03/2026"),
    (observation("72514-3", 5), _set(["effectiveDateTime"], 20260301), "effectiveDateTime", "20260301"),
    (observation("72514-3", 5), _set(["subject", "reference"], "Group/g1"), "subject.reference", "Group/g1"),
    (observation("72514-3", 5), _set(["subject", "reference"], "urn:uuid:123"), "subject.reference", "urn:uuid:123"),
    (observation("72514-3", 5), _set(["code", "coding"], {"code": "72514-3"}), "code.coding", '{"code": "72514-3"}'),
    (observation("91147-9", 5, components=[("75893-8", 5, None), ("91145-3", 12, None), ("91146-1", 5, None)]),
     lambda r: None, "component[1].valueQuantity.value", "12"),
    (observation("85354-9", components=[("8480-6", 120, "mm[Hg]"), ("8462-4", 125, "mm[Hg]")]),
     lambda r: None, "component[1].valueQuantity.value", "125"),
    (observation("85354-9", components=[("8480-6", 300, "mm[Hg]"), ("8462-4", 80, "mm[Hg]")]),
     lambda r: None, "component[0].valueQuantity.value", "300"),
    (observation("85354-9", components=[("8480-6", 120, "mm[Hg]")]), lambda r: None, "component", ""),
    (observation("85354-9", components=[("8480-6", 16, "kPa"), ("8462-4", 10, "kPa")]),
     lambda r: None, "component[0].valueQuantity.unit", "kPa"),
])
def test_broken_observation_is_refused_with_its_path(resource, change, column, value):
    change(resource)
    parsed = parse_fhir(bundle(resource), "b.json")
    assert parsed.diary == []
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == (f"Observation/{resource['id']}", column, value)
    assert refused.reason


@pytest.mark.parametrize("answer, column, value", [
    ({"valueInteger": 11}, "item[0].item[0].answer[0].valueInteger", "11"),
    ({"valueString": "7"}, "item[0].item[0].answer[0].valueString", "7"),
    ({"valueCoding": {"code": "LA1"}}, "item[0].item[0].answer[0].valueCoding", '{"code": "LA1"}'),
])
def test_broken_questionnaire_answer_is_refused_with_its_path(answer, column, value):
    qr = {"resourceType": "QuestionnaireResponse", "id": "qr1", "status": "completed", "authored": WHEN,
          "subject": {"reference": "Patient/p1"},
          "item": [{"linkId": "peg", "item": [{"linkId": "/72514-3", "answer": [answer]}]}]}
    (refused,) = parse_fhir(bundle(qr), "b.json").refused
    assert (refused.row, refused.column, refused.value) == ("QuestionnaireResponse/qr1", column, value)


def test_questionnaire_response_items_by_link_id_and_code():
    qr = {"resourceType": "QuestionnaireResponse", "id": "qr1", "status": "completed", "authored": WHEN,
          "subject": {"reference": "Patient/p1"},
          "item": [{"linkId": "1", "code": [coding("75893-8")], "answer": [{"valueDecimal": 6.5}]},
                   {"linkId": "91145-3", "answer": [{"valueCoding": {"code": "LA6", "extension": [
                       {"url": "http://hl7.org/fhir/StructureDefinition/ordinalValue", "valueDecimal": 4}]}}]},
                   {"linkId": "g", "answer": [{"valueString": "x", "item": [
                       {"linkId": "91146-1", "answer": [{"valueQuantity": {"value": 5}}]}]}]}]}
    (entry,) = parse_fhir(bundle(qr), "b.json").diary
    assert entry.measures == {"peg_pain": 6.5, "enjoyment_interference": 4, "activity_interference": 5}
    assert (entry.recorded_at, entry.utc_offset_minutes) == (datetime(2026, 3, 1, 21, 30), 60)


# ---------------------------------------------------------------- mapping and merging

@pytest.mark.parametrize("written, local, offset, has_time", [
    ("2026-03-01T21:30:00+01:00", datetime(2026, 3, 1, 21, 30), 60, True),
    ("2026-03-01T21:30:00Z", datetime(2026, 3, 1, 21, 30), 0, True),
    ("2026-03-01T21:30:00.25-05:30", datetime(2026, 3, 1, 21, 30, 0, 250000), -330, True),
    ("2026-03-01T21:30:00", datetime(2026, 3, 1, 21, 30), None, True),
    ("2026-03-01", datetime(2026, 3, 1), None, False),
])
def test_times_are_local_wall_time_with_offset(written, local, offset, has_time):
    (entry,) = parse_fhir(bundle(observation("72514-3", 2, when=written)), "b.json").diary
    assert (entry.recorded_at, entry.utc_offset_minutes, entry.has_time) == (local, offset, has_time)


@pytest.mark.parametrize("fields, local", [
    ({"effectivePeriod": {"start": "2026-03-02T08:00:00Z"}, "issued": "2026-03-03T08:00:00Z"}, datetime(2026, 3, 2, 8)),
    ({"issued": "2026-03-03T08:00:00.123Z"}, datetime(2026, 3, 3, 8, 0, 0, 123000)),
])
def test_time_falls_back_to_period_start_then_issued(fields, local):
    (entry,) = parse_fhir(bundle(observation("72514-3", 2, when=None, **fields)), "b.json").diary
    assert entry.recorded_at == local


@pytest.mark.parametrize("code, measure", [
    ("72514-3", "pain"), ("38221-8", "pain"), ("75893-8", "peg_pain"),
    ("91145-3", "enjoyment_interference"), ("91146-1", "activity_interference"), ("91147-9", "peg"),
])
def test_single_observations_map_to_their_measure(code, measure):
    (entry,) = parse_fhir(bundle(observation(code, 0.0598)), "b.json").diary
    assert entry.measures == {measure: 0.0598}


def test_peg_panel_and_blood_pressure():
    peg = observation("91147-9", components=[("75893-8", 7, None), ("91145-3", 5, None), ("91146-1", 3, None)])
    bp = observation("85354-9", ident="bp1", when="2026-03-02T08:00:00+01:00",
                     components=[("8480-6", 150, "mm[Hg]"), ("8462-4", 95, "mm[Hg]")])
    first, second = parse_fhir(bundle(peg, bp), "b.json").diary
    assert first.measures == {"peg_pain": 7, "enjoyment_interference": 5, "activity_interference": 3, "peg": 5}
    assert second.measures == {"bp_systolic": 150, "bp_diastolic": 95}


def test_observations_at_the_same_time_merge_into_one_entry():
    parsed = parse_fhir(bundle(observation("72514-3", 6), observation("91145-3", 4, ident="obs2"),
                               observation("91146-1", 5, ident="obs3"), ketamine_administration(
                                   {"value": 25, "unit": "mg"}, effectiveDateTime=WHEN)), "b.json")
    (entry,) = parsed.diary
    assert entry.measures == {"pain": 6, "enjoyment_interference": 4, "activity_interference": 5, "dose_mg": 25}
    assert entry.row == "Observation/obs1" and parsed.refused == []


def test_disagreeing_values_at_the_same_time_refuse_the_later_resource_with_both():
    parsed = parse_fhir(bundle(observation("72514-3", 6), observation("38221-8", 4, ident="obs2"),
                               observation("72514-3", 6, ident="obs3")), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 6}]
    (refused,) = parsed.refused
    assert (refused.row, refused.column, refused.value) == ("Observation/obs2", "valueQuantity.value", "4")
    assert "Observation/obs1" in refused.reason and "6" in refused.reason


@pytest.mark.parametrize("order", [("score", "item"), ("item", "score")])
def test_peg_pain_item_is_kept_apart_from_a_pain_score_at_the_same_time(order):
    resources = {"score": observation("72514-3", 4, ident="nrs"), "item": observation("75893-8", 7, ident="peg-p")}
    parsed = parse_fhir(bundle(*(resources[k] for k in order)), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 4, "peg_pain": 7}]
    assert parsed.refused == [] and parsed.ignored == {}


def test_same_local_time_with_another_offset_is_refused():
    parsed = parse_fhir(bundle(observation("72514-3", 6), observation("91145-3", 4, ident="obs2",
                                                                      when="2026-03-01T21:30:00Z")), "b.json")
    assert [r.row for r in parsed.refused] == ["Observation/obs2"]


def test_ketamine_doses_at_the_same_time_add_up():
    first = ketamine_administration({"value": 25, "unit": "mg"})
    second = {**ketamine_administration({"value": 50, "code": "mg"}), "id": "adm2"}
    (entry,) = parse_fhir(bundle(first, second), "b.json").diary
    assert entry.measures == {"dose_mg": 75}


@pytest.mark.parametrize("status, label", [
    ("entered-in-error", "Observation entered-in-error"), ("cancelled", "Observation cancelled"),
])
def test_withdrawn_resources_are_ignored(status, label):
    parsed = parse_fhir(bundle(observation("72514-3", 5, status=status)), "b.json")
    assert (parsed.diary, parsed.ignored) == ([], {label: 1})


def test_repeated_resource_is_merged_and_a_differing_copy_is_refused():
    parsed = parse_fhir(bundle(observation("72514-3", 5), observation("72514-3", 5),
                               observation("72514-3", 6)), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 5}]
    assert (parsed.ignored, parsed.merged) == ({}, 1)
    assert [(r.row, r.column) for r in parsed.refused] == [("Observation/obs1", "id")]


def test_identical_resources_under_other_ids_are_stored_once_and_counted_as_merged():
    """import-formats.md v2: same content apart from id -> stored once, reported as merged."""
    weight = observation("29463-7", 70, ident="w1")
    copies = [observation("72514-3", 5, ident=i) for i in ("a", "b", "c")] + [weight, {**weight, "id": "w2"}]
    parsed = parse_fhir(bundle(*copies), "b.json")
    assert [d.measures for d in parsed.diary] == [{"pain": 5}]
    assert [m.value for m in parsed.measures] == [70]
    assert (parsed.merged, parsed.refused, parsed.ignored) == (3, [], {})


# ---------------------------------------------------------------- patients

def test_patient_record_and_urn_uuid_references():
    patient = {"resourceType": "Patient", "identifier": [{"system": "mrn", "value": "MRN-7"}],
               "name": [{"use": "maiden", "family": "Old"},
                        {"use": "official", "given": ["Ada", "B."], "family": "Lee"}],
               "birthDate": "1970-05"}
    obs = observation("72514-3", 5)
    obs["subject"] = {"reference": "urn:uuid:0000-1"}
    raw = json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0000-1", "resource": patient}, {"fullUrl": "urn:uuid:0000-2", "resource": obs}]}).encode()
    parsed = parse_fhir(raw, "t.json")
    assert [(p.ref, p.name, p.birth_year) for p in parsed.patients] == [("MRN-7", "Ada B. Lee", 1970)]
    assert [d.patient_ref for d in parsed.diary] == ["MRN-7"]


def test_resource_without_subject_belongs_to_the_files_only_patient():
    obs = observation("72514-3", 5)
    del obs["subject"]
    parsed = parse_fhir(bundle({"resourceType": "Patient", "id": "solo"}, obs), "b.json")
    assert [d.patient_ref for d in parsed.diary] == ["solo"]


def test_patient_named_at_import_takes_a_single_patient_file():
    parsed = parse_fhir(bundle({"resourceType": "Patient", "id": "p1", "birthDate": "1980"},
                               observation("72514-3", 5)), "b.json", patient_ref="CLINIC-9")
    assert [(p.ref, p.birth_year) for p in parsed.patients] == [("CLINIC-9", 1980)]
    assert parsed.patient_refs() == ["CLINIC-9"]


def test_patient_named_at_import_refuses_a_file_of_several_patients():
    with pytest.raises(FileRefused) as caught:
        parse_fhir(bundle(observation("72514-3", 5), observation("72514-3", 5, ident="o2", patient="p2")),
                   "b.json", patient_ref="CLINIC-9")
    assert "p1, p2" in str(caught.value) and caught.value.refused.column == "subject"


# ---------------------------------------------------------------- ketamine

@pytest.mark.parametrize("dosage, frequency, max_per_day", [
    ({"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}, "daily", None),
    ({"timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}, "twice daily", None),
    ({"timing": {"repeat": {"frequency": 1, "period": 12, "periodUnit": "h"}}}, "twice daily", None),
    ({"timing": {"repeat": {"frequency": 1, "period": 2, "periodUnit": "d"}}}, "every other day", None),
    ({"timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "wk"}}}, "3 per week", None),
    ({"asNeededBoolean": True,
      "maxDosePerPeriod": {"numerator": {"value": 2}, "denominator": {"value": 1, "unit": "d"}}},
     "as needed", 2),
    ({"asNeededCodeableConcept": {"text": "pain flare"},
      "maxDosePerPeriod": {"numerator": {"value": 150, "code": "mg"}, "denominator": {"value": 1, "code": "d"}}},
     "as needed", 3),
    ({"asNeededBoolean": True}, "as needed", None),
])
def test_ketamine_request_becomes_a_proposed_titration_step(dosage, frequency, max_per_day):
    dosage = {**dosage, "doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}
    parsed = parse_fhir(bundle(ketamine_request(dosage)), "b.json")
    assert parsed.comedications == [] and parsed.refused == []
    (step,) = parsed.steps
    assert (step.status, step.dose_mg, step.frequency, step.max_per_day) == ("proposed", 50, frequency, max_per_day)
    assert (step.patient_ref, step.start_date, step.row) == ("p1", date(2026, 3, 1), "MedicationRequest/ket1")


@pytest.mark.parametrize("route, expected, noted", [
    ({"coding": [coding("54471007", SNOMED, "Buccal")]}, "troche", False),
    ({"text": "sublingual"}, "troche", False),
    ({"coding": [coding("47625008", SNOMED, "Intravenous route")]}, "IV", False),
    ({"text": "Intramuscular"}, "IM", False),
    ({"coding": [coding("46713006", SNOMED, "Nasal route")]}, "intranasal", False),
    ({"coding": [coding("26643006", SNOMED, "Oral Route")]}, "troche", True),
    (None, "troche", True),
])
def test_ketamine_request_route(route, expected, noted):
    dosage = {"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}],
              "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d",
                                    "boundsPeriod": {"start": "2026-03-05", "end": "2026-04-01"}}}}
    if route is not None:
        dosage["route"] = route
    (step,) = parse_fhir(bundle(ketamine_request(dosage)), "b.json").steps
    assert step.route == expected and ("troche assumed" in (step.note or "")) is noted
    assert (step.start_date, step.end_date) == (date(2026, 3, 5), date(2026, 4, 1))


@pytest.mark.parametrize("dosage, column", [
    ({"timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}, "dosageInstruction[0].doseAndRate"),
    ({"doseAndRate": [{"doseQuantity": {"value": 1, "unit": "TAB"}}]},
     "dosageInstruction[0].doseAndRate[0].doseQuantity.unit"),
    ({"doseAndRate": [{"doseQuantity": {"value": 1}}]}, "dosageInstruction[0].doseAndRate[0].doseQuantity.unit"),
    ({"doseAndRate": [{"doseRange": {"low": {"value": 25, "unit": "mg"}, "high": {"value": 50, "unit": "mg"}}}]},
     "dosageInstruction[0].doseAndRate[0].doseRange"),
    ({"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}],
      "timing": {"repeat": {"frequency": 3, "period": 1, "periodUnit": "d"}}}, "dosageInstruction[0].timing.repeat"),
    ({"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}, "dosageInstruction[0].timing.repeat"),
])
def test_ketamine_request_without_a_usable_dose_or_schedule_is_refused(dosage, column):
    parsed = parse_fhir(bundle(ketamine_request(dosage)), "b.json")
    assert parsed.steps == []
    assert [(r.row, r.column) for r in parsed.refused] == [("MedicationRequest/ket1", column)]


def test_ketamine_recognised_by_rxnorm_code_alone():
    request = ketamine_request(medicationCodeableConcept={"coding": [coding("6130", RXNORM)], "text": "Troche 50"})
    assert len(parse_fhir(bundle(request), "b.json").steps) == 1


def test_ketamine_administration_becomes_a_dose():
    parsed = parse_fhir(bundle(ketamine_administration({"value": 37.5, "unit": "mg", "code": "mg"})), "b.json")
    (entry,) = parsed.diary
    assert (entry.measures, entry.recorded_at, entry.utc_offset_minutes) == (
        {"dose_mg": 37.5}, datetime(2026, 3, 2, 8, 0), 60)
    assert entry.row == "MedicationAdministration/adm1" and parsed.refused == []


@pytest.mark.parametrize("dose, column, value", [
    ({"value": 2, "unit": "mL"}, "dosage.dose.unit", "mL"),
    ({"value": 2, "code": "ml", "unit": "mg"}, "dosage.dose.code", "ml"),
    ({"value": 2}, "dosage.dose.unit", ""),
    ({"value": 5000, "unit": "mg"}, "dosage.dose.value", "5000"),
])
def test_ketamine_administration_dose_not_in_mg_is_refused(dose, column, value):
    (refused,) = parse_fhir(bundle(ketamine_administration(dose)), "b.json").refused
    assert (refused.row, refused.column, refused.value) == ("MedicationAdministration/adm1", column, value)


def test_ketamine_statement_dose_and_other_statements():
    ketamine = {"resourceType": "MedicationStatement", "id": "st1", "status": "active",
                "medicationCodeableConcept": {"text": "Ketamine 50 mg troche"}, "subject": {"reference": "Patient/p1"},
                "effectivePeriod": {"start": "2026-03-03T20:00:00+01:00"},
                "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg"}}]}]}
    other = {"resourceType": "MedicationStatement", "id": "st2", "status": "active",
             "medicationCodeableConcept": {"coding": [coding("2356", RXNORM, "chlordiazepoxide")]},
             "subject": {"reference": "Patient/p1"}, "dateAsserted": "2026-03-04",
             "dosage": [{"doseAndRate": [{"doseQuantity": {"value": 10, "unit": "mg"}}],
                         "timing": {"repeat": {"frequency": 2, "period": 1, "periodUnit": "d"}}}]}
    not_taken = {**other, "id": "st3", "status": "not-taken"}
    parsed = parse_fhir(bundle(ketamine, other, not_taken), "b.json")
    assert [(d.recorded_at, d.measures) for d in parsed.diary] == [(datetime(2026, 3, 3, 20), {"dose_mg": 50})]
    (med,) = parsed.comedications
    assert (med.name, med.rxnorm, med.drug_class, med.start_date, med.dose_text) == (
        "chlordiazepoxide", "2356", "benzodiazepine", date(2026, 3, 4), "10 mg twice daily")
    assert parsed.ignored == {"MedicationStatement not-taken": 1}


def test_medication_administration_of_another_drug_is_ignored():
    administration = ketamine_administration({"value": 5, "unit": "mg"})
    administration["contained"][0]["ingredient"] = [{"itemCodeableConcept": {"text": "morphine"}}]
    parsed = parse_fhir(bundle(administration), "b.json")
    assert (parsed.diary, parsed.ignored) == ([], {"MedicationAdministration (not ketamine)": 1})


def test_referenced_medication_in_the_bundle():
    medication = {"resourceType": "Medication", "id": "m1", "code": {"coding": [coding("7052", RXNORM, "morphine")]}}
    request = {"resourceType": "MedicationRequest", "id": "r1", "status": "active", "intent": "order",
               "medicationReference": {"reference": "Medication/m1"}, "subject": {"reference": "Patient/p1"},
               "authoredOn": "2026-01-10T09:00:00-05:00"}
    parsed = parse_fhir(bundle(medication, request), "b.json")
    (med,) = parsed.comedications
    assert (med.name, med.drug_class, med.start_date) == ("morphine", "opioid", date(2026, 1, 10))
    assert parsed.ignored == {}
