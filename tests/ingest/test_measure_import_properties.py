"""The hypothesis campaign of whole imports, extended to measures and to files of only ignored
resources: never an unhandled exception, never a partial write, measures counted as reported."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dashboard.db.models import DiaryEntry, ImportRecord, Measure
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from tests.dbdump import dump
from tests.ingest.test_import_properties import DATA_TABLES, _fresh, damaged
from tests.hypothesis_profiles import examples

LOINC = "http://loinc.org"
SUBJECT = {"reference": "Patient/F-1"}
VALID_MEASURES = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": r} for r in (
    {"resourceType": "Patient", "id": "F-1", "identifier": [{"type": {"coding": [{"code": "MR"}]}, "value": "MRN-1"}]},
    {"resourceType": "QuestionnaireResponse", "id": "q1", "status": "completed", "subject": SUBJECT,
     "authored": "2026-03-01T10:00:00Z",
     "item": [{"linkId": "44260-8", "answer": [{"valueCoding": {"code": "LA6569-3", "display": "Several days"}}]},
              {"linkId": "44261-6", "answer": [{"valueInteger": 12}]},
              {"linkId": "61758-9", "answer": [{"valueCoding": {"display": "Somewhat"}}]}]},
    {"resourceType": "Observation", "id": "o1", "status": "final", "subject": SUBJECT,
     "code": {"coding": [{"system": LOINC, "code": "85354-9"}]}, "effectiveDateTime": "2026-03-01T08:00:00Z",
     "component": [{"code": {"coding": [{"system": LOINC, "code": "8480-6"}]}, "valueQuantity": {"value": 150}},
                   {"code": {"coding": [{"system": LOINC, "code": "8462-4"}]},
                    "dataAbsentReason": {"text": "not measured"}}]},
    {"resourceType": "Observation", "id": "o2", "status": "final", "subject": SUBJECT,
     "code": {"coding": [{"system": LOINC, "code": "29463-7"}]}, "effectiveDateTime": "2026-03-02T08:00:00Z",
     "valueQuantity": {"value": 80.5, "unit": "kg"}},
    {"resourceType": "MedicationStatement", "id": "m1", "status": "active", "subject": SUBJECT,
     "medicationCodeableConcept": {"text": "Oxycodone 5 mg"}},
)]}).encode()
IGNORED_ONLY = [
    {"resourceType": "Condition", "id": "c1"}, {"resourceType": "Procedure", "id": "p1"},
    {"resourceType": "Observation", "id": "x", "status": "entered-in-error", "subject": SUBJECT,
     "code": {"coding": [{"system": LOINC, "code": "72514-3"}]}, "valueQuantity": {"value": 5}},
    {"resourceType": "Observation", "id": "y", "status": "cancelled", "subject": SUBJECT,
     "code": {"coding": [{"system": LOINC, "code": "44261-6"}]}, "valueQuantity": {"value": 5}},
    {"resourceType": "Observation", "id": "z", "status": "final", "subject": SUBJECT,
     "code": {"coding": [{"system": LOINC, "code": "12345-6"}]}, "valueQuantity": {"value": 1}},  # no time
    {"resourceType": "Medication", "id": "med"}, {"resourceType": "Encounter", "id": "e1"},
]


def _counts(url: str) -> tuple[int, int, int]:
    with session_scope(url) as session:
        return tuple(session.scalar(select(func.count(m.id))) for m in (DiaryEntry, Measure, ImportRecord))


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=damaged(VALID_MEASURES))
def test_a_damaged_bundle_of_measures_is_imported_whole_or_not_at_all(_templates, raw):
    url = _fresh(_templates["sqlite"])
    try:
        first = import_file(VALID_MEASURES, "m.json", url=url)
        assert (first.status, first.measures_added, first.entries_added) == ("imported", 4, 1)
        before, (entries, measures, imports) = dump(url, skip=DATA_TABLES), _counts(url)
        report = import_file(raw, "m.json", url=url)
        assert report.status in ("imported", "refused", "already-imported", "nothing-to-import")
        if report.status == "imported":
            assert _counts(url)[:2] == (entries + report.entries_added, measures + report.measures_added)
        else:
            data = {k: v for k, v in dump(url, skip=DATA_TABLES).items() if k != "import_record"}
            assert data == {k: v for k, v in before.items() if k != "import_record"}
    finally:
        get_engine(url).dispose()


@settings(max_examples=examples(25), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(kept=st.lists(st.sampled_from(range(len(IGNORED_ONLY))), min_size=1, max_size=7), ndjson=st.booleans())
def test_a_file_of_only_ignored_resources_writes_no_data_and_says_what_it_held(_templates, kept, ndjson):
    resources = [IGNORED_ONLY[i] for i in kept]
    if ndjson:
        raw = "\n".join(json.dumps(r) for r in resources).encode()
    else:
        raw = json.dumps({"resourceType": "Bundle", "type": "collection",
                          "entry": [{"resource": r} for r in resources]}).encode()
    url = _fresh(_templates["sqlite"])
    try:
        before = {k: v for k, v in dump(url, skip=DATA_TABLES).items() if k != "import_record"}
        report = import_file(raw, "ignored.json", url=url)
        assert report.status != "imported" and report.refused_rows == []
        assert sum(report.ignored.values()) + report.merged == len(resources)
        assert (report.entries_added, report.measures_added) == (0, 0)
        assert {k: v for k, v in dump(url, skip=DATA_TABLES).items() if k != "import_record"} == before
    finally:
        get_engine(url).dispose()
