"""An identifier of the file (same system and value) that a DIFFERENT stored patient holds is
refused, whether the file joins another stored patient or would create a new one (ingest.identity;
import-formats.md v3, "The file's patient"). No same-person confirmation passes it, and the refusal
names the other patient only to a reader who may open them: a dry run never shows them otherwise.
On SQLite and PostgreSQL, through the import use case and the command line."""

from __future__ import annotations

import json

import pytest
import streamlit as st
from sqlalchemy import func, select

from dashboard import cli
from dashboard.access import AccountImportPolicy
from dashboard.auth import accounts
from dashboard.db.models import Patient, PatientIdentifier
from dashboard.db.session import session_scope
from dashboard.ingest.fhir.dashboard_codes import PATIENT_REF_SYSTEM
from dashboard.ingest.identity import STORED_HIDDEN
from dashboard.ingest.service import import_file
from tests.app.conftest import account, app
from tests.dbdump import assert_only_the_file_kept, dump
from tests.ingest.test_identity import JANET, MRN, SSN, TODAY, fhir_file, patient, run

SSN_JANET = (SSN, "111-11-1111")


@pytest.fixture
def two(db_url, monkeypatch):
    """MRN-1 (Janet Okafor, SSN 111-11-1111) and MRN-2 (Amy Shaw, SSN 222-22-2222); dr.b opens MRN-2 only."""
    assert run(db_url, fhir_file(patient(ids=JANET["ids"])), "janet.json").status == "imported"
    amy = patient(name="Amy Shaw", birth="1987-02-20", ids=((MRN, "MRN-2"), (SSN, "222-22-2222")))
    assert run(db_url, fhir_file(amy), "amy.json").status == "imported"
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.b", display_name="dr.b", role="clinician", password=None)
        accounts.add_user(session, username="sam", display_name="sam", role="staff", password=None)
        accounts.share(session, username="dr.b", patient_ref="MRN-2")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    return db_url


def _patients(url) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(Patient))


def test_a_new_patient_with_another_patients_identifier_is_refused_even_confirmed(two):
    raw = fhir_file(patient(name="Jan Okafor", ids=((MRN, "MRN-9"), SSN_JANET)))
    for same_person in (None, "a typo in the file's name"):
        before = dump(two, skip=("audit_event",))
        report = run(two, raw, "new.json", same_person=same_person)
        assert report.status == "refused", report.message
        assert "the file's patient would go to a new patient MRN-9" in report.message
        assert f"the file's identifier {SSN} '111-11-1111' is already held by MRN-1" in report.message
        assert "Confirming the same person does not pass this" in report.message
        assert_only_the_file_kept(two, before, raw=raw, status="refused")
    assert _patients(two) == 2


def test_joining_a_stored_patient_with_another_patients_identifier_is_refused(two):
    raw = fhir_file(patient(name="Amy Shaw", birth="1987-02-20", ids=((MRN, "MRN-2"), SSN_JANET)))
    report = run(two, raw, "mixed.json", same_person="sure")
    assert report.status == "refused"
    assert "would go to the stored patient MRN-2" in report.message and "held by MRN-1" in report.message
    with session_scope(two) as session:  # the identifier is not copied to MRN-2
        holders = session.scalars(select(PatientIdentifier.patient_id).where(PatientIdentifier.value == "111-11-1111"))
        assert len(list(holders)) == 1


def test_the_dashboards_own_reference_of_another_patient_is_refused(two):
    raw = fhir_file(patient(name="Amy Shaw", birth="1987-02-20", ids=((PATIENT_REF_SYSTEM, "MRN-1"),)))
    report = run(two, raw, "export.json", patient_ref="MRN-2", same_person="sure")
    assert report.status == "refused" and "is already held by MRN-1" in report.message


def test_the_same_identifier_on_the_same_patient_is_no_conflict(two):
    report = run(two, fhir_file(patient(ids=JANET["ids"]), pain=3, day="2026-03-02"), "again.json")
    assert report.status == "imported", report.message
    assert all(c["held_by_other"] == [] for c in report.identities)


@pytest.mark.parametrize("reader", ["dr.b", "sam"])
@pytest.mark.parametrize("dry_run", [True, False])
def test_a_reader_who_may_not_open_the_holder_is_not_told_who_it_is(two, reader, dry_run):
    raw = fhir_file(patient(name="Amy Shaw", birth="1987-02-20", ids=((MRN, "MRN-2"), SSN_JANET)))
    report = import_file(raw, "mixed.json", url=two, actor=reader, policy=AccountImportPolicy(reader),
                         dry_run=dry_run, today=TODAY)
    assert report.status == "refused"
    assert f"already held by another stored patient ({STORED_HIDDEN})" in report.message
    shown = json.dumps(report.as_dict(), default=str)
    for secret in ("MRN-1", "Janet", "Okafor", "1968"):
        assert secret not in shown, secret


def test_the_command_line_says_the_conflict(two, tmp_path, capsys):
    path = tmp_path / "new.json"
    path.write_bytes(fhir_file(patient(name="Jan Okafor", ids=((MRN, "MRN-9"), SSN_JANET))))
    assert cli.main(["import", str(path), "--same-person", "sure"]) == cli.EXIT_REFUSED
    out = capsys.readouterr().out
    assert "IDENTIFIER OF ANOTHER PATIENT" in out and "is already held by MRN-1" in out
    assert _patients(two) == 2


def test_the_import_page_refuses_it_without_naming_a_patient_staff_may_not_open(two):
    st.cache_data.clear()
    at = app("import", user=account(two, "sam")).run()
    at.file_uploader(key="upload").upload("new.json", fhir_file(patient(name="Jan Okafor", ids=((MRN, "MRN-9"),
                                                                                                 SSN_JANET))),
                                          "application/fhir+json").run()
    assert not at.exception, at.exception
    assert any("belongs to another stored patient" in e.value for e in at.error)
    assert "do_import" not in [b.key for b in at.button] and "same_person" not in [c.key for c in at.checkbox]
    # (The past imports tab lists every file to staff, by design: only the check is looked at.)
    shown = "\n".join(t.value for t in at.text) + "".join(
        d.value.to_string() for d in at.dataframe if "in the file" in d.value.columns)
    assert f"another stored patient ({STORED_HIDDEN})" in shown
    assert "MRN-1" not in shown and "Janet" not in shown
