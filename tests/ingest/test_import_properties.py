"""Whole imports under random damage: never an unhandled exception, never a partial write.

Each example imports a damaged copy of a valid file into a database that already holds the
valid file, through the same service the CLI and the page use. Whatever the damage, the
outcome is all or nothing: refused or already present leaves every data table as it was;
imported adds exactly what the report says.
"""

from __future__ import annotations

import json
from datetime import date
import shutil
import uuid

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from dashboard.db.models import DiaryEntry, ImportRecord
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from tests.dbdump import dump

VALID_CSV = (
    "patient_id,date,pain,sleep,nausea,bp_systolic,bp_diastolic,notes\n"
    "P-1,2026-03-01T08:00,6,5,mild,150,90,\"woke, twice\"\n"
    "P-1,2026-03-01T20:00,5.5,,none,,,evening\n"
    "P-1,2026-03-02,4,7,,,,\n"
    "P-2,2026-03-02T09:30+01:00,8,3,severe,170,100,bad day\n"
).encode()
VALID_FHIR = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Patient", "id": "F-1", "name": [{"given": ["Ann"], "family": "Lee"}],
                  "birthDate": "1970-01-01"}},
    {"resource": {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/F-1"},
                  "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                  "effectiveDateTime": "2026-03-01T08:00:00Z", "valueQuantity": {"value": 6}}},
    {"resource": {"resourceType": "Observation", "id": "o2", "status": "final", "subject": {"reference": "Patient/F-1"},
                  "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                  "effectiveDateTime": "2026-03-02T08:00:00Z", "valueQuantity": {"value": 4.5}}},
]}).encode()
DATA_TABLES = ("audit_event",)  # skipped in the dump: refused attempts are audited by design


@st.composite
def damaged(draw, valid: bytes) -> bytes:
    data = bytearray(valid)
    for _ in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["flip", "insert", "delete", "truncate"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[pos] = draw(st.sampled_from(list(b",;\t\"\n\r0123456789-:.TZ{}[]x\x00\xff")))
        elif kind == "insert":
            data[pos:pos] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del data[pos:pos + draw(st.integers(1, 10))]
        else:
            del data[pos:]
    return bytes(data)


def _fresh(template) -> str:
    path = template.parent / f"prop-{uuid.uuid4().hex[:8]}.sqlite"
    shutil.copy(template, path)
    return f"sqlite:///{path}"


def _counts(url: str) -> tuple[int, int]:
    with session_scope(url) as session:
        return (session.scalar(select(func.count(DiaryEntry.id))), session.scalar(select(func.count(ImportRecord.id))))


def _check_all_or_nothing(template, valid: bytes, name: str, raw: bytes) -> None:
    url = _fresh(template)
    try:
        assert import_file(valid, name, url=url).status == "imported"
        before, (entries, imports) = dump(url, skip=DATA_TABLES), _counts(url)
        report = import_file(raw, name, url=url, accept_valid=False)
        assert report.status in ("imported", "refused", "already-imported")
        if report.status == "imported":
            assert _counts(url) == (entries + report.entries_added, imports + 1)
        else:
            assert dump(url, skip=DATA_TABLES) == before
            assert report.status == "already-imported" or report.refused_rows or report.conflicts or report.message
    finally:
        get_engine(url).dispose()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=damaged(VALID_CSV))
def test_a_damaged_diary_csv_is_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_CSV, "diary.csv", raw)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=damaged(VALID_FHIR))
def test_a_damaged_fhir_bundle_is_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_FHIR, "bundle.json", raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=st.binary(max_size=400))
def test_random_bytes_are_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_CSV, "random.csv", raw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(day=st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)),
       fhir=st.booleans())
def test_a_date_at_or_beyond_the_limits_is_imported_whole_or_not_at_all(_templates, day, fhir):
    """An entry dated anywhere on the calendar, in the diary CSV or FHIR: within dashboard.fields
    it imports, outside it the file is refused and nothing is written."""
    from dashboard import fields

    if fhir:
        raw = VALID_FHIR.replace(b"2026-03-02T08:00:00Z", f"{day.isoformat()}T08:00:00Z".encode())
    else:
        raw = VALID_CSV.replace(b"2026-03-02T09:30+01:00", f"{day.isoformat()}T09:30+01:00".encode())
    _check_all_or_nothing(_templates["sqlite"], VALID_FHIR if fhir else VALID_CSV,
                          "bundle.json" if fhir else "diary.csv", raw)
    url = _fresh(_templates["sqlite"])
    try:
        report = import_file(raw, "bundle.json" if fhir else "diary.csv", url=url, dry_run=True)
        assert (report.status == "refused") is (not fields.DIARY.contains(day))
    finally:
        get_engine(url).dispose()
