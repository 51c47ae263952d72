"""import-formats.md version 2 through the import service the page and the command line share:
every file kept with a truthful outcome, dry runs that write nothing, conflicts resolved explicitly."""

from __future__ import annotations

import json
from datetime import date, datetime

import pytest
from sqlalchemy import select

from dashboard.db.models import AuditEvent, DiaryEntry, ImportRecord, Patient, SideEffect, TitrationStep
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from dashboard.ingest.writer import Resolution
from tests.dbdump import assert_only_the_file_kept, dump

TODAY = date(2026, 3, 10)
DIARY = b"patient_id,date,pain,sleep,nausea\nP1,2026-03-01T08:00,5,6,mild\nP1,2026-03-02T08:00,4,7,none\n"
# The patient corrected 1 March (pain and nausea) and wrote two new days.
CORRECTED = (b"patient_id,date,pain,sleep,nausea\nP1,2026-03-01T08:00,7,6,severe\nP1,2026-03-02T08:00,3,7,none\n"
             b"P1,2026-03-03T08:00,4,5,\nP1,2026-03-04T08:00,3,6,\n")
ONLY_IGNORED = json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
    {"resource": {"resourceType": "Organization", "id": "org"}},
    {"resource": {"resourceType": "Encounter", "id": "enc", "status": "finished"}}]}).encode()
ROW_REFUSED = b"patient_id,date,pain\nP1,03/01/2026,6\nP1,2026-03-03,4\n"
UNREADABLE = b"\x00\x01 not a file this dashboard reads"


def _import(url, raw, name="diary.csv", **kw):
    return import_file(raw, name, url=url, today=TODAY, **kw)


def _records(url) -> list[ImportRecord]:
    with session_scope(url) as session:
        return list(session.scalars(select(ImportRecord).order_by(ImportRecord.id)))


def _audit(url, action: str) -> list[AuditEvent]:
    with session_scope(url) as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


OUTCOMES = {
    # name: (what is stored first, the file, its outcome)
    "imported": (None, DIARY, "imported"),
    "already-imported same bytes": (DIARY, DIARY, "already-imported"),
    "already-imported other bytes": (DIARY, DIARY.replace(b"\n", b"\r\n"), "already-imported"),
    "nothing-to-import": (None, ONLY_IGNORED, "nothing-to-import"),
    "refused row": (None, ROW_REFUSED, "refused"),
    "refused conflict": (DIARY, CORRECTED, "refused"),
    "refused whole file": (None, UNREADABLE, "refused"),
}


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_every_outcome_keeps_exactly_one_import_record_with_the_original_bytes(db_url, case):
    first, raw, outcome = OUTCOMES[case]
    if first:
        assert _import(db_url, first).status == "imported"
    before = dump(db_url, skip=("audit_event",))
    report = _import(db_url, raw)
    assert report.status == outcome
    if outcome == "imported":
        (record,) = _records(db_url)
        assert (record.id, record.status, record.original) == (report.import_id, "imported", raw)
    else:  # no row of the file is written; the file itself is kept, with its errors
        assert assert_only_the_file_kept(db_url, before, raw=raw, status=outcome) == report.import_id
        record = _records(db_url)[-1]
        assert (record.refused_rows, record.ignored, record.message) == (report.refused_rows, report.ignored,
                                                                         report.message)
        assert [c["key"] for c in record.conflicts] == [c["key"] for c in report.conflicts]
    (event,) = [e for e in _audit(db_url, "import") if json.loads(e.detail)["import_id"] == report.import_id]
    assert event.outcome == outcome


def test_nothing_to_import_says_what_the_file_held(db_url):
    report = _import(db_url, ONLY_IGNORED, "bundle.json")
    assert report.status == "nothing-to-import"
    assert report.ignored == {"Organization": 1, "Encounter": 1} and "nothing the dashboard reads" in report.message


@pytest.mark.parametrize("case", list(OUTCOMES))
def test_a_dry_run_writes_nothing_and_says_the_outcome_without_an_import_id(db_url, case):
    first, raw, outcome = OUTCOMES[case]
    if first:
        _import(db_url, first)
    before = dump(db_url)
    report = _import(db_url, raw, dry_run=True)
    after = dump(db_url)
    # No data is written. A dry run that compared the file with stored entries read the patient's
    # stored data (issue 24): that read, and only that, leaves one audit row.
    assert {k: v for k, v in after.items() if k != "audit_event"} == \
        {k: v for k, v in before.items() if k != "audit_event"}
    compared = bool(report.conflicts or report.entries_unchanged)
    assert len(after["audit_event"]) - len(before["audit_event"]) == (1 if compared else 0)
    assert compared is (first is not None)
    assert report.import_id is None
    assert report.status == ("would-import" if outcome == "imported" else outcome)


def test_re_importing_a_refused_file_keeps_a_new_refused_record_each_time(db_url):
    """Each attempt is a fact of its own (who tried, when): the refusal is said and kept again."""
    ids = [_import(db_url, ROW_REFUSED).import_id for _ in range(2)]
    assert ids[0] != ids[1]
    assert [(r.status, r.original) for r in _records(db_url)] == [("refused", ROW_REFUSED)] * 2


def _pain_by_day(url) -> dict:
    with session_scope(url) as session:
        rows = session.execute(select(DiaryEntry.recorded_at, DiaryEntry.pain, DiaryEntry.import_id)).all()
    return {when.day: (pain, import_id) for when, pain, import_id in rows}


def _nausea(url, day: int):
    with session_scope(url) as session:
        return session.scalar(select(SideEffect.severity).join(DiaryEntry, DiaryEntry.id == SideEffect.entry_id)
                              .where(DiaryEntry.recorded_at == datetime(2026, 3, day, 8, 0))
                              .where(SideEffect.effect == "nausea"))


def test_a_strict_refusal_over_a_conflict_does_not_strand_the_new_entries(db_url):
    """Refused first (nothing written, file kept); then staff keep the stored values and the new days land."""
    first = _import(db_url, DIARY).import_id
    refused = _import(db_url, CORRECTED)
    assert refused.status == "refused" and len(refused.conflicts) == 2
    assert "keep the stored values or take the file's" in refused.message
    done = _import(db_url, CORRECTED, resolution=Resolution(reason="patient's correction not confirmed", default="keep"))
    assert (done.status, done.entries_added) == ("imported", 2)
    assert _pain_by_day(db_url) == {1: (5.0, first), 2: (4.0, first), 3: (4.0, done.import_id),
                                    4: (3.0, done.import_id)}
    kept = _audit(db_url, "resolve_conflict")
    assert [(e.outcome, json.loads(e.detail)["reason"]) for e in kept] == [("keep", "patient's correction not confirmed")] * 2


def test_take_replaces_exactly_the_conflicting_entries_and_the_audit_keeps_the_old_values(db_url):
    first = _import(db_url, DIARY).import_id
    done = _import(db_url, CORRECTED, resolution=Resolution(reason="patient corrected by phone", default="take"))
    assert done.status == "imported" and {c["decision"] for c in done.conflicts} == {"take"}
    assert _pain_by_day(db_url) == {1: (7.0, done.import_id), 2: (3.0, done.import_id), 3: (4.0, done.import_id),
                                    4: (3.0, done.import_id)}
    assert _nausea(db_url, 1) == 3 and first != done.import_id
    events = _audit(db_url, "resolve_conflict")
    assert len(events) == 2 and all(e.outcome == "take" and e.actor == "cli" for e in events)
    day1 = json.loads(events[0].detail)
    assert day1["replaced"]["pain"] == 5.0 and day1["replaced"]["side effect: nausea"] == 1
    assert day1["file_values"]["pain"] == 7.0 and day1["reason"] == "patient corrected by phone"
    again = _import(db_url, CORRECTED, resolution=Resolution(reason="again", default="take"))
    assert again.status == "already-imported" and len(_audit(db_url, "resolve_conflict")) == 2


def test_per_entry_decisions_change_exactly_the_chosen_entries(db_url):
    _import(db_url, DIARY)
    trial = _import(db_url, CORRECTED, dry_run=True)
    keys = {int(c["recorded_at"][8:10]): c["key"] for c in trial.conflicts}
    done = _import(db_url, CORRECTED, resolution=Resolution(reason="checked with the patient",
                                                            per_entry={keys[1]: "take", keys[2]: "keep"}))
    assert done.status == "imported"
    pains = _pain_by_day(db_url)
    assert (pains[1][0], pains[2][0]) == (7.0, 4.0)
    assert [e.outcome for e in _audit(db_url, "resolve_conflict")] == ["take", "keep"]


def test_an_undecided_conflict_still_refuses_the_strict_import(db_url):
    _import(db_url, DIARY)
    trial = _import(db_url, CORRECTED, dry_run=True)
    before = dump(db_url, skip=("audit_event",))
    one = Resolution(reason="only one decided", per_entry={trial.conflicts[0]["key"]: "take"})
    report = _import(db_url, CORRECTED, resolution=one)
    assert report.status == "refused"
    assert_only_the_file_kept(db_url, before, raw=CORRECTED, status="refused")
    assert _audit(db_url, "resolve_conflict") == []


def test_accept_valid_keeps_its_meaning_conflicts_skipped_and_kept_in_the_record(db_url):
    """``--accept-valid``: the new entries land, stored values stay, conflicts are listed in the
    import record; no decision is made, so no resolution is audited."""
    _import(db_url, DIARY)
    done = _import(db_url, CORRECTED, accept_valid=True)
    assert (done.status, done.entries_added, len(done.conflicts)) == ("imported", 2, 2)
    assert [p for p, _ in _pain_by_day(db_url).values()] == [5.0, 4.0, 4.0, 3.0]
    assert len(_records(db_url)[-1].conflicts) == 2 and _audit(db_url, "resolve_conflict") == []


def test_take_and_keep_on_clinic_records_and_patient_details(db_url):
    steps = b"patient_id,start_date,dose_mg,frequency,route,note\nP1,2026-03-01,25,daily,troche,\n"
    _import(db_url, steps, "steps.csv")
    changed = steps.replace(b",25,", b",50,")
    assert _import(db_url, changed, "steps.csv").status == "refused"
    done = _import(db_url, changed, "steps.csv", resolution=Resolution(reason="typo in the first file", default="take"))
    assert done.status == "imported"
    with session_scope(db_url) as session:
        step = session.scalar(select(TitrationStep))
        assert (step.dose_mg, step.import_id) == (50.0, done.import_id)
    (event,) = _audit(db_url, "resolve_conflict")
    assert json.loads(event.detail)["replaced"]["dose_mg"] == 25.0


def test_a_fhir_patient_with_another_name_is_refused_until_confirmed_and_the_stored_name_kept(db_url):
    """Issue 23: a patient's name is who they are, not a value to take from a file: another name is a
    disagreement (refused and kept), imported only with a same-person reason; the stored name stays."""
    def bundle(family: str) -> bytes:
        return json.dumps({"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "F-1"}],
                           "name": [{"family": family, "given": ["Ann"]}],
                           "birthDate": "1970-01-03"}).encode()

    _import(db_url, bundle("Lee"), "p.json")
    refused = _import(db_url, bundle("Leigh"), "p.json")
    assert refused.status == "refused" and "'Ann Leigh'" in refused.message and "'Ann Lee'" in refused.message
    # Confirmed, a file that brings nothing else writes nothing (its confirmation neither: nothing was done).
    report = _import(db_url, bundle("Leigh"), "p.json", same_person="married name, checked with the patient")
    assert report.status == "already-imported"
    with session_scope(db_url) as session:
        assert session.scalar(select(Patient.name)) == "Ann Lee"
    assert _audit(db_url, "confirm_same_person") == []


def test_the_review_lists_as_sources_only_imports_that_brought_rows(db_url):
    from dashboard.db.queries import imports_frame

    first = _import(db_url, DIARY).import_id
    _import(db_url, CORRECTED)  # refused over its conflicts: kept, but no source of the review
    _import(db_url, DIARY)  # already imported
    with session_scope(db_url) as session:
        assert list(imports_frame(session, "P1")["import_id"]) == [first]
