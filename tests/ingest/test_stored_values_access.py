"""An import's report never shows stored values to someone who may not open the patient, and
never tells a clinician whether a reference exists (issue 24, items 1 and 8).

Staff and administrators import for the whole clinic, but opening a patient is a share, whatever
the role (dashboard.access). So a dry run or a refused import by them lists the conflicts (that a
stored entry differs, and the file's side) without the stored side; a reader who may open the
patient sees it, and every report that shows or compares with stored values is audited.
"""

from __future__ import annotations

import json

import pytest
import streamlit as st
from sqlalchemy import select, update

from dashboard import cli
from dashboard.auth import accounts
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.access import AccountImportPolicy
from dashboard.ingest.service import OPERATOR, STORED_HIDDEN, import_file
from tests.app.conftest import audit_rows, last_audit_id

SECRET_NOTE = "chen-secret-note-7731"
SECRET_NAME = "Hortensia Secretname"
STORED = (f"patient_id,date,pain,notes\nP-CHE,2026-03-01T21:00,6,{SECRET_NOTE}\n"
          "P-CHE,2026-03-02T21:00,5,\n")
# The same entry with other values and a guessed value for the second: a conflict and an unchanged entry.
GUESS = "patient_id,date,pain,notes\nP-CHE,2026-03-01T21:00,9,guess\nP-CHE,2026-03-02T21:00,5,\n"
ACCOUNTS = {"dr.chen": "clinician", "dr.rivera": "clinician", "sam.staff": "staff", "alex.admin": "admin"}


@pytest.fixture
def clinic(db_url, monkeypatch):
    assert import_file(STORED.encode(), "chen.csv", url=db_url, actor="test").status == "imported"
    riv = STORED.replace("P-CHE", "P-RIV").replace(SECRET_NOTE, "riv")
    assert import_file(riv.encode(), "riv.csv", url=db_url, actor="test").status == "imported"
    with session_scope(db_url) as session:
        session.execute(update(Patient).where(Patient.ref == "P-CHE").values(name=SECRET_NAME, birth_year=1961))
        session.execute(update(Patient).where(Patient.ref == "P-RIV").values(name="Rita Other", birth_year=1990))
        for username, role in ACCOUNTS.items():
            accounts.add_user(session, username=username, display_name=username, role=role, password=None)
        accounts.share(session, username="dr.chen", patient_ref="P-CHE")
        accounts.share(session, username="dr.rivera", patient_ref="P-RIV")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    st.cache_data.clear()
    return db_url


def _fhir_of_rivera(url: str, tmp_path) -> bytes:
    """The issue's file: another patient's FHIR export (name, birth year, diary), imported as P-CHE."""
    out = tmp_path / "riv.json"
    assert cli.main(["export", "--patient", "P-RIV", "--format", "fhir", "-o", str(out)]) == cli.EXIT_OK
    return out.read_bytes()


# Who reads the report -> whether they may see P-CHE's stored values.
READERS = [("sam.staff", False), ("alex.admin", False), ("dr.chen", True), (None, True)]


@pytest.mark.parametrize(("reader", "may_see"), READERS)
@pytest.mark.parametrize("dry_run", [True, False])
@pytest.mark.parametrize("kind", ["diary-csv", "fhir"])
def test_a_report_shows_stored_values_only_to_whom_may_open_the_patient(clinic, tmp_path, reader, may_see,
                                                                       dry_run, kind):
    raw = GUESS.encode() if kind == "diary-csv" else _fhir_of_rivera(clinic, tmp_path)
    before = last_audit_id(clinic)
    report = import_file(raw, f"file.{kind}", url=clinic, actor=reader or "cli:test",
                         policy=AccountImportPolicy(reader) if reader else OPERATOR,
                         patient_ref="P-CHE", dry_run=dry_run)
    # The comparison itself is still said: a conflict, or (another person's file, issue 23) what differs.
    assert report.conflicts or [c["disagreements"] for c in report.identities if c["needs_confirmation"]], report.message
    shown = json.dumps(report.as_dict(), default=str)
    secrets = [SECRET_NOTE] if kind == "diary-csv" else [SECRET_NAME, "1961"]
    for secret in secrets:
        assert (secret in shown) is may_see, secret
    if not may_see:
        assert {c["stored"] for c in report.conflicts} <= {STORED_HIDDEN}
        assert all(c.get("stored_hidden") for c in report.identities)
    # The read is audited, dry run included, and says whose stored values were shown.
    rows = audit_rows(clinic, before)
    assert [(r[0], r[1]) for r in rows] == [(reader or "cli:test", "import")]
    detail = json.loads(rows[0][4])
    # Rivera's own export carries the dashboard's reference P-RIV: the operator is told it is Rivera's.
    holder = ["P-RIV"] if kind == "fhir" and reader is None else []
    assert detail.get("stored_values_shown", []) == (["P-CHE", *holder] if may_see else [])
    assert detail.get("dry_run", False) is dry_run
    assert all(secret not in rows[0][4] for secret in secrets)


@pytest.mark.parametrize("reader", ["sam.staff", "alex.admin"])
def test_the_command_line_dry_run_of_the_issue_prints_no_stored_value(clinic, tmp_path, capsys, reader):
    path = tmp_path / "d1.json"
    path.write_bytes(_fhir_of_rivera(clinic, tmp_path))
    capsys.readouterr()
    code = cli.main(["import", str(path), "--patient", "P-CHE", "--dry-run", "--as", reader, "--json"])
    out, err = capsys.readouterr()
    assert code in (cli.EXIT_OK, cli.EXIT_REFUSED), err
    report = json.loads(out)
    assert (report["conflicts"] or report["identities"]) and SECRET_NAME not in out and "1961" not in out
    code = cli.main(["import", str(path), "--patient", "P-CHE", "--dry-run", "--as", reader])
    out, _ = capsys.readouterr()
    assert STORED_HIDDEN in out and "stored stored" not in out and SECRET_NAME not in out


def test_a_dry_run_that_compares_with_nothing_stored_writes_nothing(clinic):
    before = last_audit_id(clinic)
    new = "patient_id,date,pain\nP-NEW,2026-03-01T21:00,4\n"
    report = import_file(new.encode(), "new.csv", url=clinic, actor="sam.staff", policy=AccountImportPolicy("sam.staff"), dry_run=True)
    assert report.status == "would-import"
    assert audit_rows(clinic, before) == []


def _refs(url: str) -> set[str]:
    with session_scope(url) as session:
        return set(session.scalars(select(Patient.ref)))


@pytest.mark.parametrize("dry_run", [True, False])
def test_a_clinicians_import_does_not_tell_whether_a_reference_exists(clinic, dry_run):
    """dr.rivera names P-CHE (exists, dr.chen's) and P-XYZ (does not exist): the same answer."""
    answers = {}
    for ref in ("P-CHE", "P-XYZ"):
        raw = f"patient_id,date,pain\n{ref},2026-03-05T21:00,4\n".encode()
        report = import_file(raw, "mine.csv", url=clinic, actor="dr.rivera", policy=AccountImportPolicy("dr.rivera"), dry_run=dry_run)
        answers[ref] = (report.status, report.message.replace(ref, "REF"), report.entries_added,
                        report.patients_created, len(report.conflicts))
    assert answers["P-CHE"] == answers["P-XYZ"]
    assert answers["P-CHE"][0] == "refused" and "not among your patients" in answers["P-CHE"][1]
    assert "P-XYZ" not in _refs(clinic)  # a clinician's import creates no patient


def test_a_clinician_still_imports_for_a_shared_patient(clinic):
    raw = "patient_id,date,pain\nP-RIV,2026-03-05T21:00,4\n".encode()
    report = import_file(raw, "mine.csv", url=clinic, actor="dr.rivera", policy=AccountImportPolicy("dr.rivera"))
    assert (report.status, report.entries_added) == ("imported", 1)


@pytest.mark.parametrize("role_user", ["sam.staff", "alex.admin"])
def test_staff_and_administrators_still_create_new_patients(clinic, role_user):
    raw = "patient_id,date,pain\nP-NEW,2026-03-05T21:00,4\n".encode()
    report = import_file(raw, "new.csv", url=clinic, actor=role_user, policy=AccountImportPolicy(role_user))
    assert (report.status, report.patients_created) == ("imported", ["P-NEW"])
