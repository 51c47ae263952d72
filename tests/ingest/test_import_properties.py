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
from tests.dbdump import assert_only_the_file_kept, dump
from tests.hypothesis_profiles import examples

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
# Resources and Bearable categories the dashboard has no place for (import-formats.md sections 2 and 3).
IGNORED_RESOURCES = [
    {"resourceType": "Organization", "id": "org", "name": "Clinic"},
    {"resourceType": "Encounter", "id": "enc", "status": "finished", "class": {"code": "AMB"}},
    {"resourceType": "Condition", "id": "cond", "code": {"text": "Chronic pain"}},
    {"resourceType": "Practitioner", "id": "doc"},
    {"resourceType": "Observation", "id": "err", "status": "entered-in-error", "subject": {"reference": "Patient/F-1"},
     "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
     "effectiveDateTime": "2026-03-03T08:00:00Z", "valueQuantity": {"value": 5}},
]
IGNORED_BEARABLE = [("Weather", "", "Sunny"), ("Gratitude", "", "family"), ("Energy", "3", ""), ("Health measurements", "", "Steps: 4000")]


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


def _check_all_or_nothing(template, valid: bytes, name: str, raw: bytes, **options) -> str:
    """Import ``valid``, then ``raw``: a dry run first (every table byte-for-byte unchanged, the same
    outcome said, no import id), then the import (the rows the report says, or none; in every
    case exactly one new import record keeping ``raw``). Returns the outcome."""
    url = _fresh(template)
    try:
        assert import_file(valid, name, url=url).status == "imported"
        before, (entries, imports) = dump(url, skip=DATA_TABLES), _counts(url)
        whole, audited = dump(url, skip=DATA_TABLES), dump(url)["audit_event"]
        trial = import_file(raw, name, url=url, accept_valid=False, dry_run=True, **options)
        assert dump(url, skip=DATA_TABLES) == whole and trial.import_id is None
        # A dry run writes no data; one that compared with stored entries leaves one audit row (issue 24).
        compared = bool(trial.conflicts or trial.entries_unchanged or trial.measures_unchanged
                        or any(trial.records_unchanged.values())
                        or any(c["stored"] is not None for c in trial.identities))  # the stored patient shown
        assert len(dump(url)["audit_event"]) - len(audited) == (1 if compared else 0)
        report = import_file(raw, name, url=url, accept_valid=False, **options)
        assert report.status in ("imported", "refused", "already-imported", "nothing-to-import")
        assert trial.status == ("would-import" if report.status == "imported" else report.status)
        assert report.import_id is not None
        if report.status == "imported":
            assert _counts(url) == (entries + report.entries_added, imports + 1)
        else:
            assert_only_the_file_kept(url, before, raw=raw, status=report.status)
            assert report.status != "refused" or report.refused_rows or report.conflicts or report.message
        return report.status
    finally:
        get_engine(url).dispose()


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=damaged(VALID_CSV))
def test_a_damaged_diary_csv_is_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_CSV, "diary.csv", raw)


@settings(max_examples=examples(60), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=damaged(VALID_FHIR))
def test_a_damaged_fhir_bundle_is_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_FHIR, "bundle.json", raw)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(raw=st.binary(max_size=400))
def test_random_bytes_are_imported_whole_or_not_at_all(_templates, raw):
    _check_all_or_nothing(_templates["sqlite"], VALID_CSV, "random.csv", raw)


@settings(max_examples=examples(40), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
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


@st.composite
def only_ignored(draw) -> tuple[bytes, str, dict]:
    """A FHIR bundle (or NDJSON) of resources the dashboard ignores, or a Bearable export of
    categories it ignores: nothing to import, whatever their number and order."""
    if draw(st.booleans()):
        chosen = draw(st.lists(st.sampled_from(IGNORED_RESOURCES), min_size=1, max_size=6))
        chosen = [{**r, "id": f"{r['id']}-{i}"} for i, r in enumerate(chosen)]
        if draw(st.booleans()):
            return "\n".join(json.dumps(r) for r in chosen).encode() + b"\n", "bulk.ndjson", {}
        bundle = {"resourceType": "Bundle", "type": draw(st.sampled_from(["collection", "searchset", "transaction"])),
                  "entry": [{"resource": r} for r in chosen]}
        return json.dumps(bundle).encode(), "bundle.json", {}
    rows = draw(st.lists(st.sampled_from(IGNORED_BEARABLE), min_size=1, max_size=6))
    day = draw(st.integers(1, 28))
    lines = ["date,date formatted,weekday,time of day,category,rating/amount,detail,notes"]
    for category, amount, detail in rows:
        lines.append(f'"{day}th Feb 2026","2026-02-{day:02d}","Monday","am","{category}","{amount}","{detail}",""')
    return ("\n".join(lines) + "\n").encode(), "bearable.csv", {"patient_ref": "F-1"}


@settings(max_examples=examples(30), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(case=only_ignored())
def test_a_file_of_only_ignored_items_is_nothing_to_import_and_kept(_templates, case):
    """v2: such a file is not "already-imported": it says nothing-to-import, with the ignored
    counts, and is kept (bytes and all); its dry run says the same and writes nothing."""
    raw, name, options = case
    valid = VALID_FHIR if name != "bearable.csv" else VALID_CSV
    assert _check_all_or_nothing(_templates["sqlite"], valid, name, raw, **options) == "nothing-to-import"
    url = _fresh(_templates["sqlite"])
    try:
        report = import_file(raw, name, url=url, **options)
        assert report.status == "nothing-to-import" and sum(report.ignored.values()) >= 1
    finally:
        get_engine(url).dispose()
