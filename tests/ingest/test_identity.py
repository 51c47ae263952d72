"""The file's patient beside the stored patient (issue 23 item 1; import-formats.md v3, "The file's
patient"), through the one import use case, on SQLite and PostgreSQL.

A stored patient ``MRN-1`` is made by a FHIR file: Janet Okafor, born 1968-04-02, identifiers
MR ``urn:clinic:mrn|MRN-1`` and ``urn:ssn|111-11-1111``. Then a second file names the same
reference with each combination of name, birth date and identifier: agreeing, differing, absent
on either side; refused (the file kept, nothing else written) unless confirmed with a reason.
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from dashboard.actors import Operator
from dashboard.db.models import AuditEvent, DiaryEntry, Patient, PatientIdentifier
from dashboard.db.session import session_scope
from dashboard.ingest.identity import name_key, same_name
from dashboard.usecases import imports
from tests.dbdump import assert_only_the_file_kept, dump

TODAY = date(2026, 3, 10)
OPERATOR = Operator("cli:test")
MRN, SSN = "urn:clinic:mrn", "urn:ssn"
REAL = Path(__file__).resolve().parents[1] / "data" / "real" / "us_core"
JANET = {"name": "Janet Okafor", "birth": "1968-04-02", "ids": [(MRN, "MRN-1"), (SSN, "111-11-1111")]}


def patient(*, name: str | None = "Janet Okafor", birth: str | None = "1968-04-02",
            ids=((MRN, "MRN-1"),), ident: str = "pt") -> dict:
    res = {"resourceType": "Patient", "id": ident}
    identifiers = [{"system": s, "value": v, **({"type": {"coding": [{"code": "MR"}]}} if s == MRN else {})}
                   for s, v in ids]
    if identifiers:
        res["identifier"] = identifiers
    if name:
        given, family = name.rsplit(" ", 1)
        res["name"] = [{"given": [given], "family": family}]
    if birth:
        res["birthDate"] = birth
    return res


def fhir_file(pat: dict, *, pain: float = 6, day: str = "2026-03-01") -> bytes:
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": f"Patient/{pat['id']}"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
           "effectiveDateTime": f"{day}T21:00:00+01:00", "valueQuantity": {"value": pain}}
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": pat}, {"resource": obs}]}).encode()


def run(url, raw: bytes, name: str = "f.json", **options):
    return imports.import_file(OPERATOR, raw, name, url=url, today=TODAY, **options)


@pytest.fixture
def janet(db_url):
    """The stored patient MRN-1, made by a first file."""
    first = run(db_url, fhir_file(patient(ids=JANET["ids"])), "first.json")
    assert first.status == "imported", first.message
    return db_url


def stored_patient(url, ref="MRN-1"):
    with session_scope(url) as session:
        p = session.scalar(select(Patient).where(Patient.ref == ref))
        ids = session.execute(select(PatientIdentifier.system, PatientIdentifier.value)
                              .where(PatientIdentifier.patient_id == p.id).order_by(PatientIdentifier.id)).all()
        return p.name, p.birth_date, p.birth_year, [tuple(i) for i in ids]


def audit_of(url, action: str) -> list[dict]:
    with session_scope(url) as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))
        return [json.loads(r.detail) | {"_patient_id": r.patient_id} for r in rows]


@pytest.mark.parametrize(("a", "b", "same"), [
    ("Janet Okafor", "janet  OKAFOR", True),
    ("Janet Okafor", "Okafor, Janet", True),
    ("Jânet Okafor", "Janet Okafor", True),
    ("Janet A. Okafor", "Janet Okafor", True),
    ("Mary O'Brien-Smith", "mary obrien smith", True),
    ("Janet Okafor", "Amy Shaw", False),
    ("Janet Okafor", "Janet Okafour", False),
    ("Janet Okafor", None, None),
    (None, "  ", None),
])
def test_names_compare_as_a_person_would(a, b, same):
    assert same_name(a, b) is same
    assert name_key("Okafor, Janet") == ("janet", "okafor")


# name, birth date, identifiers of the second file -> whether it needs a same-person confirmation
COMBINATIONS = {
    "all-agree": (dict(), False),
    "name-written-otherwise": (dict(name="JANET Okafor"), False),
    "name-absent-in-file": (dict(name=None), False),
    "birth-absent-in-file": (dict(birth=None), False),
    "year-alone-agrees": (dict(birth="1968"), False),
    "identifier-absent-in-file": (dict(ids=((MRN, "MRN-1"),)), False),
    "identifier-of-another-system": (dict(ids=((MRN, "MRN-1"), ("urn:passport", "X1"))), False),
    "identifier-without-system": (dict(ids=((MRN, "MRN-1"), ("", "999"))), False),
    "other-name": (dict(name="Amy Shaw"), True),
    "other-birth-date": (dict(birth="1968-04-03"), True),
    "other-birth-year": (dict(birth="1970"), True),
    "other-identifier-same-system": (dict(ids=((MRN, "MRN-1"), (SSN, "222-22-2222"))), True),
    "everything-other": (dict(name="Amy Shaw", birth="1987-02-20", ids=((MRN, "MRN-1"), (SSN, "9"))), True),
}


@pytest.mark.parametrize(("second", "doubtful"), COMBINATIONS.values(), ids=COMBINATIONS.keys())
def test_every_combination_of_name_birth_date_and_identifier(janet, second, doubtful):
    raw = fhir_file(patient(**second), pain=7, day="2026-03-02")
    trial = run(janet, raw, dry_run=True)
    (check,) = trial.identities
    assert check["stored"]["name"] == "Janet Okafor" and check["stored"]["birth_date"] == "1968-04-02"
    assert check["needs_confirmation"] is doubtful and trial.import_id is None
    if "name" in second and second["name"] is None:
        assert "the file gives no name" in check["unknown"]
    before = dump(janet, skip=("audit_event",))
    report = run(janet, raw)
    if not doubtful:
        assert report.status == "imported", report.message
        assert not audit_of(janet, "confirm_same_person")
        return
    assert trial.status == report.status == "refused"
    # The message names the file, the patient and both identities.
    assert report.message.startswith("f.json: ") and "MRN-1" in report.message
    assert "Janet Okafor" in report.message and "1968-04-02" in report.message
    # Nothing written but the refused file's own record.
    assert_only_the_file_kept(janet, before, raw=raw, status="refused")
    confirmed = run(janet, raw, same_person="checked with the patient at the desk")
    assert confirmed.status == "imported", confirmed.message
    (row,) = audit_of(janet, "confirm_same_person")
    assert row["reason"] == "checked with the patient at the desk" and row["import_id"] == confirmed.import_id
    assert row["stored_identity"]["name"] == "Janet Okafor" and row["disagreements"]
    # A file never overwrites who the stored patient is.
    assert stored_patient(janet)[:3] == ("Janet Okafor", date(1968, 4, 2), 1968)
    assert (SSN, "111-11-1111") in stored_patient(janet)[3]


def test_the_same_person_with_a_changed_name_confirmed_with_a_reason(janet):
    """The audit row of the confirmation holds both identities and the reason."""
    raw = fhir_file(patient(name="Janet Adeyemi", ids=JANET["ids"]), day="2026-03-03")
    assert run(janet, raw).status == "refused"
    done = run(janet, raw, same_person="married in 2025; her new name, checked against her ID card")
    assert done.status == "imported"
    (row,) = audit_of(janet, "confirm_same_person")
    assert row["file_identity"]["name"] == "Janet Adeyemi" and row["stored_identity"]["name"] == "Janet Okafor"
    assert row["file_identity"]["birth_date"] == row["stored_identity"]["birth_date"] == "1968-04-02"
    assert {"system": SSN, "value": "111-11-1111"} in row["stored_identity"]["identifiers"]
    assert row["reason"].startswith("married in 2025") and row["_patient_id"] is not None
    (imported,) = [r for r in audit_of(janet, "import") if r.get("import_id") == done.import_id]
    assert imported["identity_disagrees"] == ["MRN-1"] and imported["same_person"].startswith("married")
    with session_scope(janet) as session:
        assert session.scalar(select(DiaryEntry.import_id).where(DiaryEntry.import_id == done.import_id))


def test_a_patient_without_name_or_birth_date_takes_them_from_the_first_file(db_url):
    """A diary CSV makes MRN-1 with a reference only; the first FHIR file fills the rest (audited)."""
    assert run(db_url, b"patient_id,date,pain\nMRN-1,2026-03-01,5\n", "d.csv").status == "imported"
    trial = run(db_url, fhir_file(patient(ids=JANET["ids"]), day="2026-03-02"), dry_run=True)
    (check,) = trial.identities
    assert not check["needs_confirmation"]
    assert {"the stored patient has no name", "the stored patient has no birth date"} <= set(check["unknown"])
    done = run(db_url, fhir_file(patient(ids=JANET["ids"]), day="2026-03-02"))
    assert done.status == "imported"
    assert stored_patient(db_url) == ("Janet Okafor", date(1968, 4, 2), 1968, JANET["ids"])
    (change,) = [r for r in audit_of(db_url, "record_change") if r.get("record") == "patient identity"]
    assert change["old"] == {"name": None, "birth_date": None, "birth_year": None}
    assert change["new"] == {"name": "Janet Okafor", "birth_date": "1968-04-02", "birth_year": 1968}


def test_a_new_patient_keeps_the_files_identity(db_url):
    report = run(db_url, fhir_file(patient(ids=JANET["ids"])), dry_run=True)
    (check,) = report.identities
    assert check["new_patient"] and check["stored"] is None and check["file"]["name"] == "Janet Okafor"
    assert run(db_url, fhir_file(patient(ids=JANET["ids"]))).status == "imported"
    assert stored_patient(db_url) == ("Janet Okafor", date(1968, 4, 2), 1968, JANET["ids"])


def test_two_files_with_patient_example_from_different_sources(db_url):
    """US Core's PHQ-9 (Patient/example, no name) makes the patient 'example'; US Core's blood
    pressure (Patient/example, "Amy Shaw") may be another source's 'example': refused, asking
    which patient it is, until a reference is given or the same person is confirmed."""
    phq = (REAL / "QuestionnaireResponse-phq-9-example.json").read_bytes()
    bp = (REAL / "blood-pressure.json").read_bytes()
    first = run(db_url, phq, "phq9.json")
    assert (first.status, first.patients_created) == ("imported", ["example"])
    assert first.identities[0]["known_by"] == "resource id" and first.identities[0]["new_patient"]
    before = dump(db_url, skip=("audit_event",))
    second = run(db_url, bp, "bp.json")
    assert second.status == "refused" and "which patient is this?" in second.message
    assert "Amy Shaw" in second.message and "Patient/example" in second.message
    assert_only_the_file_kept(db_url, before, raw=bp, status="refused")
    # A reference given: the file goes to that patient (a new one here), never silently to 'example'.
    named = run(db_url, bp, "bp.json", patient_ref="AMY-1")
    assert (named.status, named.patients_created) == ("imported", ["AMY-1"])
    assert stored_patient(db_url, "AMY-1")[0] == "Amy Shaw"
    assert stored_patient(db_url, "example")[0] is None


def test_the_same_id_with_the_same_name_and_birth_date_is_the_same_patient(db_url):
    """Two exports of one source's patient known by a resource id only: both names and birth dates agree."""
    pat = patient(ids=(), ident="p-77")
    assert run(db_url, fhir_file(pat), "a.json").status == "imported"
    second = run(db_url, fhir_file(pat, pain=4, day="2026-03-02"), "b.json")
    assert second.status == "imported" and second.patients == ["p-77"]
    third = run(db_url, fhir_file(patient(ids=(), ident="p-77", birth=None), pain=3, day="2026-03-03"), "c.json")
    assert third.status == "refused" and "which patient is this?" in third.message


def test_a_typed_reference_to_another_named_patient_is_refused_unless_confirmed(janet):
    """The issue's case: US Core's blood pressure ("Amy Shaw") typed into Janet Okafor's reference."""
    bp = (REAL / "blood-pressure.json").read_bytes()
    before = dump(janet, skip=("audit_event",))
    report = run(janet, bp, "blood-pressure.json", patient_ref="MRN-1")
    assert report.status == "refused"
    assert "'Amy Shaw'" in report.message and "'Janet Okafor'" in report.message and "blood-pressure.json" in report.message
    assert_only_the_file_kept(janet, before, raw=bp, status="refused")
    # A file that names nobody (US Core's PHQ-9: Patient/example alone) is no disagreement; the preview says so.
    phq = run(janet, (REAL / "QuestionnaireResponse-phq-9-example.json").read_bytes(), "phq.json",
              patient_ref="MRN-1", dry_run=True)
    (check,) = phq.identities
    assert phq.status == "would-import" and check["resource_id"] == "Patient/example"
    assert {"the file gives no name", "the file gives no birth date"} <= set(check["unknown"])
    done = run(janet, bp, "blood-pressure.json", patient_ref="MRN-1", same_person="the portal mislabels her readings")
    assert done.status == "imported" and stored_patient(janet)[0] == "Janet Okafor"
