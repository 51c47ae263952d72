"""The one writer: one transaction, idempotent, conflicts reported, never overwritten."""

from datetime import date, datetime

import pytest
from sqlalchemy import func, select

from dashboard.access import AccountImportPolicy
from dashboard.db.models import DiaryEntry, ImportRecord, Patient, SideEffect, TitrationStep
from dashboard.db.session import session_scope
from dashboard.ingest.records import DiaryRecord, ParsedFile, PatientRecord, RefusedRow, TitrationRecord
from dashboard.ingest.writer import write_import
from tests.dbdump import assert_only_the_file_kept, dump


def _file(*entries: DiaryRecord, refused=(), steps=(), patients=()) -> ParsedFile:
    return ParsedFile(file_name="diary.csv", format="diary-csv", diary=list(entries), refused=list(refused),
                      steps=list(steps), patients=list(patients))


def _entry(day: int, pain: float | None = 5.0, row: int = 2, ref: str = "P1", **effects) -> DiaryRecord:
    measures = {} if pain is None else {"pain": pain}
    return DiaryRecord(patient_ref=ref, recorded_at=datetime(2026, 3, day, 21, 30), row=row,
                       measures=measures, side_effects=dict(effects))


def _write(url, parsed, raw=b"raw", **kw):
    with session_scope(url) as session:
        return write_import(session, parsed, raw=raw, **kw)


def _count(url, model) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count()).select_from(model))


def test_new_file_is_stored_with_its_bytes_patients_and_side_effects(db_url):
    report = _write(db_url, _file(_entry(1, nausea=2), _entry(2, dizziness=0)), raw=b"original bytes")
    assert (report.status, report.entries_added, report.patients_created) == ("imported", 2, ["P1"])
    with session_scope(db_url) as session:
        record = session.scalar(select(ImportRecord))
        assert record.original == b"original bytes" and record.entries_added == 2
        effects = session.execute(select(SideEffect.effect, SideEffect.severity).order_by(SideEffect.effect)).all()
        assert effects == [("dizziness", 0), ("nausea", 2)]
        entry = session.scalar(select(DiaryEntry).order_by(DiaryEntry.recorded_at))
        assert (entry.diary_date, entry.import_id, entry.pain, entry.sleep) == (date(2026, 3, 1), record.id, 5.0, None)


@pytest.mark.parametrize("raw", [b"raw", b"other bytes, same entries"])
def test_reimport_changes_nothing(db_url, raw):
    _write(db_url, _file(_entry(1), _entry(2)))
    before = dump(db_url)
    report = _write(db_url, _file(_entry(1), _entry(2)), raw=raw)
    assert report.status == "already-imported" and report.entries_added == 0
    assert dump(db_url) == before


def test_conflict_is_reported_and_never_overwritten(db_url):
    _write(db_url, _file(_entry(1, pain=5.0)))
    before = dump(db_url)
    report = _write(db_url, _file(_entry(1, pain=7.0, row=3), _entry(2)), raw=b"edited")
    assert report.status == "refused"
    assert report.conflicts[0]["column"] == "pain" and report.conflicts[0]["stored"] == "5.0"
    assert report.conflicts[0]["new"] == "7.0" and report.conflicts[0]["row"] == 3
    assert dump(db_url) == before


def test_accept_valid_imports_the_rest_and_keeps_conflicts_and_refusals(db_url):
    _write(db_url, _file(_entry(1, pain=5.0)))
    bad = RefusedRow(row=4, column="pain", value="11", reason="outside 0-10")
    report = _write(db_url, _file(_entry(1, pain=7.0), _entry(2), refused=[bad]), raw=b"edited", accept_valid=True)
    assert (report.status, report.entries_added, len(report.conflicts)) == ("imported", 1, 1)
    with session_scope(db_url) as session:
        assert session.scalar(select(DiaryEntry.pain).where(DiaryEntry.diary_date == date(2026, 3, 1))) == 5.0
        record = session.get(ImportRecord, report.import_id)
        assert record.refused_rows == [bad.as_dict()] and len(record.conflicts) == 1


def test_refused_rows_refuse_the_whole_file_in_strict_mode(db_url):
    before = dump(db_url)
    bad = RefusedRow(row=3, column="date", value="03/01/2026", reason="not ISO 8601")
    report = _write(db_url, _file(_entry(1), refused=[bad]))
    assert report.status == "refused" and report.refused_rows == [bad.as_dict()]
    assert dump(db_url) == before


@pytest.mark.parametrize(
    ("second", "expected_entries", "refused"),
    [(_entry(1, row=3), 1, 0), (_entry(1, pain=6.0, row=3), 0, 1)],
    ids=["identical-duplicate-counts-once", "differing-duplicate-refused"],
)
def test_duplicates_inside_one_file(db_url, second, expected_entries, refused):
    report = _write(db_url, _file(_entry(1, row=2), second))
    assert report.entries_added == expected_entries and len(report.refused_rows) == refused
    if refused:
        assert "row 2" in report.refused_rows[0]["reason"]


def test_clinic_records_and_patient_details(db_url):
    step = TitrationRecord(patient_ref="P1", start_date=date(2026, 3, 1), dose_mg=20, frequency="daily", route="troche", row=2)
    report = _write(db_url, _file(steps=[step], patients=[PatientRecord(ref="P1", name="Ann Lee", birth_year=1970)]))
    assert report.records_added == {"titration_steps": 1}
    again = _write(db_url, _file(steps=[step]), raw=b"again")
    assert again.status == "already-imported"
    changed = TitrationRecord(patient_ref="P1", start_date=date(2026, 3, 1), dose_mg=30, frequency="daily", route="troche", row=2)
    conflict = _write(db_url, _file(steps=[changed]), raw=b"changed")
    assert conflict.status == "refused" and "dose_mg" in conflict.conflicts[0]["column"]
    assert _count(db_url, TitrationStep) == 1
    with session_scope(db_url) as session:
        assert session.scalar(select(Patient.name)) == "Ann Lee"


def test_a_clinician_imports_only_for_shared_patients(db_url):
    """A clinician's file naming a reference not shared with them is refused, whether or not it
    exists (no existence oracle, issue 24); staff bring new patients in."""
    from dashboard.auth.accounts import add_user, share
    from dashboard.ingest.service import import_file

    with session_scope(db_url) as session:
        add_user(session, username="rivera", display_name="Dr R", role="clinician", password=None)
        add_user(session, username="chen", display_name="Dr C", role="clinician", password=None)
    raw = b"patient_id,date,pain\nP-NEW,2026-03-01,6\n"
    before = dump(db_url, skip=("audit_event",))
    first = import_file(raw, "a.csv", url=db_url, actor="rivera", policy=AccountImportPolicy("rivera"), today=date(2026, 3, 2))
    assert first.status == "refused" and "not among your patients" in first.message
    # v2: the refused file is kept (its own record, bytes and all); no row of it is written, no patient made.
    assert_only_the_file_kept(db_url, before, raw=raw, status="refused")
    assert import_file(raw, "a.csv", url=db_url, actor="cli:staff", today=date(2026, 3, 2)).status == "imported"
    before = dump(db_url, skip=("audit_event",))
    other = import_file(b"patient_id,date,pain\nP-NEW,2026-03-01,9\n", "b.csv", url=db_url, actor="chen",
                        policy=AccountImportPolicy("chen"), today=date(2026, 3, 2))
    assert other.status == "refused" and "P-NEW" in other.message and other.conflicts == []
    assert_only_the_file_kept(db_url, before, raw=b"patient_id,date,pain\nP-NEW,2026-03-01,9\n", status="refused")
    with session_scope(db_url) as session:
        share(session, username="chen", patient_ref="P-NEW")
    again = import_file(b"patient_id,date,pain\nP-NEW,2026-03-02,5\n", "c.csv", url=db_url, actor="chen",
                        policy=AccountImportPolicy("chen"), today=date(2026, 3, 3))
    assert again.status == "imported"


def test_a_refused_duplicate_is_refused_again_when_the_same_parsed_file_is_written_again(db_url):
    """The import service retries a write with the same ParsedFile after a lost race."""
    parsed = _file(_entry(1, row=2), _entry(1, pain=6.0, row=3))
    first, second = _write(db_url, parsed), _write(db_url, parsed)
    assert first.status == second.status == "refused"
    assert first.refused_rows == second.refused_rows and len(second.refused_rows) == 1
    assert len(parsed.diary) == 2
