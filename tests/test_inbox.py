"""The clinic's inbox (issue 22): files a patient sent through a share link wait, written into
nothing, until someone who may import for the link's patient imports them (through the import
service, for the link's patient only, with the same identity rule and audit) or rejects them.
On both databases; links and received files are made with the storage functions."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from dashboard.actors import Operator
from dashboard.analysis.worklist_table import attention_words
from dashboard.auth import accounts
from dashboard.db import share_links
from dashboard.db.models import AuditEvent, DiaryEntry, ImportRecord, Patient
from dashboard.db.session import session_scope
from dashboard.usecases import NotAllowed, imports, inbox, patients, run, settings
from tests.app.conftest import account
from tests.clirun import cli
from tests.dbdump import dump

OPERATOR = Operator("cli:test")
NOW = datetime(2026, 12, 7, 9, 0)
US_CORE = Path(__file__).resolve().parent / "data" / "real" / "us_core"
DIARY = b"date,pain,notes\n2026-03-02T21:00,5,<b>not html</b>\n2026-03-03T21:00,4,\n"


def _fhir(name: str, birth: str, mrn: str, day: str = "2026-03-04") -> bytes:
    given, family = name.split(" ")
    patient = {"resourceType": "Patient", "id": "pt", "name": [{"given": [given], "family": family}],
               "birthDate": birth, "identifier": [{"system": "urn:clinic:mrn", "value": mrn,
                                                    "type": {"coding": [{"code": "MR"}]}}]}
    obs = {"resourceType": "Observation", "id": "o1", "status": "final", "subject": {"reference": "Patient/pt"},
           "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
           "effectiveDateTime": f"{day}T21:00:00+01:00", "valueQuantity": {"value": 6}}
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": patient}, {"resource": obs}]}).encode()


@pytest.fixture
def clinic(db_url):
    """Janet Okafor (MRN-1, shared with dr.rivera) and Bob Stone (MRN-2, shared with dr.chen), made
    by FHIR files; sam.staff imports clinic-wide; a live link for MRN-1."""
    for name, birth, mrn in (("Janet Okafor", "1968-04-02", "MRN-1"), ("Bob Stone", "1970-01-01", "MRN-2")):
        assert imports.import_file(OPERATOR, _fhir(name, birth, mrn, "2026-03-01"), f"{mrn}.json",
                                   url=db_url).status == "imported"
    with session_scope(db_url) as session:
        for username, role in (("dr.rivera", "clinician"), ("dr.chen", "clinician"), ("sam.staff", "staff")):
            accounts.add_user(session, username=username, display_name=username, role=role, password=None)
        accounts.share(session, username="dr.rivera", patient_ref="MRN-1")
        accounts.share(session, username="dr.chen", patient_ref="MRN-2")
    return db_url


def receive(url: str, raw: bytes, file_name: str = "diary.csv", ref: str = "MRN-1") -> int:
    with session_scope(url) as session:
        patient = session.scalar(select(Patient).where(Patient.ref == ref))
        link = (share_links.for_patient(session, patient.id) or [None])[0]
        if link is None:
            link, _ = share_links.create(session, patient.id, created_by="dr.rivera", now=NOW,
                                         expires_at=NOW + timedelta(days=14), max_uses=None)
        return share_links.keep_received(session, link, ref, file_name=file_name, raw=raw, now=NOW).id


def entries(url: str, ref: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(func.count(DiaryEntry.id)).join(Patient, Patient.id == DiaryEntry.patient_id)
                              .where(Patient.ref == ref))


def record(url: str, record_id: int) -> ImportRecord:
    with session_scope(url) as session:
        return session.get(ImportRecord, record_id)


def audit_rows(url: str, action: str) -> list[tuple[str, str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(select(AuditEvent.actor, AuditEvent.outcome, AuditEvent.detail)
                               .where(AuditEvent.action == action).order_by(AuditEvent.id)).all()
    return [(actor, outcome, json.loads(detail) if detail else {}) for actor, outcome, detail in rows]


def test_a_waiting_file_is_listed_with_its_dry_run_and_the_listing_is_audited(clinic):
    rid = receive(clinic, DIARY)
    rivera = account(clinic, "dr.rivera")
    box = run(inbox.inbox, rivera, url=clinic)
    (item,) = box.waiting
    assert (item.record_id, item.patient_ref, item.patient_name, item.file_name) == (rid, "MRN-1", "Janet Okafor",
                                                                                     "diary.csv")
    assert item.size == len(DIARY) and item.check.format == "diary-csv" and item.check.import_id is None
    assert item.would_add == "2 diary entries" and not item.needs_same_person and item.passes_every_check
    assert item.identity_summary == "the file does not say who (read as the link's patient)"
    assert entries(clinic, "MRN-1") == 1  # the dry run wrote nothing
    assert audit_rows(clinic, "view_inbox")[-1] == ("dr.rivera", "ok", {"patients": ["MRN-1"], "waiting": [rid],
                                                                        "decided": []})
    # dr.chen (MRN-2 only) sees nothing of it; staff see the clinic's inbox.
    assert run(inbox.inbox, account(clinic, "dr.chen"), url=clinic).waiting == []
    assert [i.record_id for i in run(inbox.inbox, account(clinic, "sam.staff"), url=clinic).waiting] == [rid]


def test_one_click_imports_through_the_import_service_and_a_second_click_is_told(clinic):
    rid = receive(clinic, DIARY)
    rivera = account(clinic, "dr.rivera")
    report = inbox.accept_received(rivera, rid, url=clinic)
    assert report.status == "imported" and report.patients == ["MRN-1"] and report.entries_added == 2
    assert entries(clinic, "MRN-1") == 3
    done = record(clinic, rid)
    assert (done.status, done.decided_by, done.result_import_id) == ("accepted", "dr.rivera", report.import_id)
    assert audit_rows(clinic, "import")[-1][:2] == ("dr.rivera", "imported")
    assert audit_rows(clinic, "inbox_accept")[-1] == ("dr.rivera", "ok", {
        "record": rid, "link": done.share_link_id, "file": "diary.csv", "import_id": report.import_id,
        "outcome": "imported", "automatic": False})
    with pytest.raises(inbox.AlreadyDecided, match="already accepted by dr.rivera"):
        inbox.accept_received(account(clinic, "sam.staff"), rid, url=clinic)
    assert entries(clinic, "MRN-1") == 3
    box = run(inbox.inbox, rivera, url=clinic)
    assert box.waiting == [] and [(d.record_id, d.status, d.decided_by) for d in box.decided] == [
        (rid, "accepted", "dr.rivera")]


def test_an_identity_disagreement_waits_until_a_same_person_reason(clinic):
    """US Core's blood pressure (its patient is Amy Shaw) sent through Janet Okafor's link."""
    raw = (US_CORE / "blood-pressure.json").read_bytes()
    rid = receive(clinic, raw, "blood-pressure.json")
    (item,) = run(inbox.inbox, account(clinic, "dr.rivera"), url=clinic).waiting
    assert item.needs_same_person and not item.passes_every_check
    assert any("Amy Shaw" in words and "DIFFERS" in words for words in item.identity)
    assert item.identity_summary.startswith("DIFFERS") and "identity differs" in item.check_summary
    rivera = account(clinic, "dr.rivera")
    refused = inbox.accept_received(rivera, rid, url=clinic)
    assert refused.status == "refused" and "Amy Shaw" in refused.message
    assert record(clinic, rid).status == "received"  # still waiting, with the reason shown
    done = inbox.accept_received(rivera, rid, same_person="her portal mislabels her readings", url=clinic)
    assert done.status == "imported" and done.patients == ["MRN-1"]
    done = record(clinic, rid)
    assert done.status == "accepted" and done.decision == "her portal mislabels her readings"
    assert audit_rows(clinic, "confirm_same_person")[-1][0] == "dr.rivera"


def test_a_file_naming_another_patient_never_reaches_that_patient(clinic):
    """Through Janet's link: a diary naming Bob (MRN-2) in its rows, and Bob's own FHIR export."""
    bob_before = entries(clinic, "MRN-2")
    csv = receive(clinic, b"patient_id,date,pain\nMRN-2,2026-03-05T21:00,9\n", "bob.csv")
    fhir = receive(clinic, _fhir("Bob Stone", "1970-01-01", "MRN-2"), "bob.json")
    staff = account(clinic, "sam.staff")  # clinic-wide: the widest who could import it
    items = {i.record_id: i for i in run(inbox.inbox, staff, url=clinic).waiting}
    assert items[csv].check.refused_rows and not items[csv].passes_every_check
    assert "MRN-2" in str(items[csv].check.refused_rows)
    assert items[fhir].needs_same_person  # Bob's name and birth date against Janet's: a disagreement shown
    assert inbox.accept_received(staff, csv, url=clinic).status == "refused"
    assert inbox.accept_received(staff, fhir, url=clinic).status == "refused"
    assert entries(clinic, "MRN-2") == bob_before and entries(clinic, "MRN-1") == 1
    assert record(clinic, csv).status == record(clinic, fhir).status == "received"
    # Even confirmed, Bob's file goes to the link's patient only (the reviewer's decision), never to MRN-2.
    inbox.accept_received(staff, fhir, same_person="tested: the reviewer said so", url=clinic)
    assert entries(clinic, "MRN-2") == bob_before


def test_a_clinician_not_sharing_the_patient_can_neither_import_nor_reject(clinic):
    rid = receive(clinic, DIARY)
    chen = account(clinic, "dr.chen")
    with pytest.raises(NotAllowed, match="not in your inbox"):
        inbox.accept_received(chen, rid, url=clinic)
    with pytest.raises(NotAllowed, match="not in your inbox"):
        run(inbox.reject_received, chen, rid, "spam", url=clinic)
    with pytest.raises(NotAllowed, match="not in your inbox"):  # the same words for a file that does not exist
        inbox.accept_received(chen, rid + 1000, url=clinic)
    assert [r[:2] for r in audit_rows(clinic, "inbox_accept")] == [("dr.chen", "denied")] * 2
    assert audit_rows(clinic, "inbox_reject") == [("dr.chen", "denied", {"record": rid})]
    assert record(clinic, rid).status == "received" and entries(clinic, "MRN-1") == 1


def test_a_rejection_needs_a_reason_and_is_audited(clinic):
    rid = receive(clinic, DIARY)
    rivera = account(clinic, "dr.rivera")
    with pytest.raises(ValueError, match="reason"):
        run(inbox.reject_received, rivera, rid, "  ", url=clinic)
    assert record(clinic, rid).status == "received"
    run(inbox.reject_received, rivera, rid, "sent twice by mistake", url=clinic)
    done = record(clinic, rid)
    assert (done.status, done.decided_by, done.decision) == ("rejected", "dr.rivera", "sent twice by mistake")
    assert done.original == DIARY  # the file stays kept
    assert audit_rows(clinic, "inbox_reject")[-1] == ("dr.rivera", "ok", {
        "record": rid, "link": done.share_link_id, "file": "diary.csv", "reason": "sent twice by mistake"})
    with pytest.raises(inbox.AlreadyDecided, match="rejected by dr.rivera"):
        inbox.accept_received(rivera, rid, url=clinic)
    assert entries(clinic, "MRN-1") == 1


def test_the_automatic_import_obeys_the_clinic_setting_and_every_check(clinic):
    good = receive(clinic, DIARY)
    assert inbox.auto_import_received(clinic, [good]) == {good: "waiting"}  # off by default
    assert record(clinic, good).status == "received" and entries(clinic, "MRN-1") == 1
    run(settings.change_thresholds, OPERATOR, {"inbox_auto_import": "on"}, url=clinic)
    doubtful = receive(clinic, (US_CORE / "blood-pressure.json").read_bytes(), "blood-pressure.json")
    assert inbox.auto_import_received(clinic, [good, doubtful]) == {good: "imported", doubtful: "waiting"}
    accepted = record(clinic, good)
    assert (accepted.status, accepted.decided_by) == ("accepted", "automatic import")
    assert entries(clinic, "MRN-1") == 3 and record(clinic, doubtful).status == "received"
    assert audit_rows(clinic, "inbox_accept")[-1][2]["automatic"] is True
    assert ("automatic import", "imported") in [r[:2] for r in audit_rows(clinic, "import")]
    # The doubtful file's check is audited as a dry run, nothing more.
    assert all(r[2].get("dry_run") for r in audit_rows(clinic, "import") if "blood-pressure.json" == r[2]["file"])
    # Still in the inbox afterwards, as decided by the automatic import.
    box = run(inbox.inbox, account(clinic, "dr.rivera"), url=clinic)
    assert [i.record_id for i in box.waiting] == [doubtful]
    assert [(d.record_id, d.decided_by) for d in box.decided] == [(good, "automatic import")]


def test_the_command_line_lists_imports_and_rejects(clinic):
    good = receive(clinic, DIARY)
    doubtful = receive(clinic, (US_CORE / "blood-pressure.json").read_bytes(), "blood-pressure.json")
    spam = receive(clinic, DIARY.replace(b"5", b"7"), "again.csv")
    listed = cli(clinic, "inbox", "list", "--as", "dr.rivera")
    assert listed.returncode == 0, listed.stderr
    assert "3 file(s) waiting" in listed.stdout and "would add: 2 diary entries" in listed.stdout
    assert "Amy Shaw" in listed.stdout and "--same-person" in listed.stdout
    assert cli(clinic, "inbox", "list", "--as", "dr.chen").stdout.startswith("0 file(s) waiting")
    assert cli(clinic, "inbox", "import", str(good), "--as", "dr.chen").returncode == 1
    done = cli(clinic, "inbox", "import", str(good), "--as", "dr.rivera")
    assert done.returncode == 0 and f"#{good}: imported" in done.stdout, done.stderr
    again = cli(clinic, "inbox", "import", str(good), "--as", "dr.rivera")
    assert again.returncode == 1 and "already accepted by dr.rivera" in again.stderr
    held = cli(clinic, "inbox", "import", str(doubtful), "--as", "dr.rivera")
    assert held.returncode == 1 and "Amy Shaw" in held.stdout and "stays waiting" in held.stderr
    assert cli(clinic, "inbox", "import", str(doubtful), "--as", "dr.rivera", "--same-person", " ").returncode == 2
    assert cli(clinic, "inbox", "import", str(doubtful), "--as", "dr.rivera", "--same-person",
               "her portal mislabels her readings").returncode == 0
    assert cli(clinic, "inbox", "reject", str(spam), "--as", "dr.rivera", "--reason", " ").returncode == 2
    assert cli(clinic, "inbox", "reject", str(spam), "--reason", "sent twice", "--as", "dr.rivera").returncode == 0
    assert record(clinic, spam).status == "rejected"
    listed = cli(clinic, "inbox", "list", "--as", "dr.rivera").stdout
    assert "0 file(s) waiting" in listed and "rejected by dr.rivera" in listed and "sent twice" in listed


def test_the_worklist_says_how_many_files_wait(clinic):
    first, _second = receive(clinic, DIARY), receive(clinic, DIARY, "again.csv")
    rivera = account(clinic, "dr.rivera")

    def row():
        (only,) = run(patients.worklist, rivera, as_of=date(2026, 3, 10), start=date(2026, 3, 1),
                      end=date(2026, 3, 31), everyone=True, url=clinic)
        return only

    assert row().files_waiting == 2 and "2 files waiting in the inbox" in attention_words(row())
    assert row().json()["files_waiting"] == 2
    run(inbox.reject_received, rivera, first, "sent twice", url=clinic)
    assert "1 file waiting in the inbox" in attention_words(row())


def test_the_demo_has_a_live_link_and_two_files_that_import_with_one_click(demo_db):
    from dashboard.demo import inbox as demo_inbox

    rivera = account(demo_db, "dr.rivera")
    box = run(inbox.inbox, rivera, url=demo_db)
    waiting = [i for i in box.waiting if i.patient_ref == demo_inbox.PATIENT]
    assert sorted(i.check.format for i in waiting) == ["fhir", "privacy-friendly-pain-diary"]
    assert all(i.passes_every_check and i.would_add == "1 diary entry" for i in waiting)
    with session_scope(demo_db) as session:
        patient = session.scalar(select(Patient).where(Patient.ref == demo_inbox.PATIENT))
        (link,) = share_links.for_patient(session, patient.id)
        assert link.revoked_at is None and link.expires_at > datetime.now() and link.uses == 2
    before = entries(demo_db, demo_inbox.PATIENT)
    assert [inbox.accept_received(rivera, i.record_id, url=demo_db).status for i in waiting] == ["imported"] * 2
    assert entries(demo_db, demo_inbox.PATIENT) == before + 2


def test_the_demo_build_says_its_links_address_once_and_keeps_only_the_hash(sqlite_url):
    from dashboard.demo import build_demo

    with session_scope(sqlite_url) as session:
        summary = build_demo(session, seed=7, today=date(2026, 3, 10))
    token = summary["share_link"].removeprefix("/share/")
    assert summary["waiting_files"] == 2 and len(token) >= 43
    with session_scope(sqlite_url) as session:
        link = share_links.by_token(session, token)
        assert link is not None and link.token_sha256 != token
    assert token not in repr(dump(sqlite_url))  # nowhere in the database: only its hash


def test_two_accepts_at_once_import_once_and_one_is_told(clinic):
    from concurrent.futures import ThreadPoolExecutor

    rid = receive(clinic, DIARY)
    people = [account(clinic, "dr.rivera"), account(clinic, "sam.staff")]

    def accept(user):
        try:
            return inbox.accept_received(user, rid, url=clinic).status
        except inbox.AlreadyDecided as exc:
            return str(exc)

    with ThreadPoolExecutor(2) as pool:
        outcomes = list(pool.map(accept, people))
    assert sum(o in inbox.DONE for o in outcomes) >= 1
    assert all(o in inbox.DONE or o.startswith("This file was already accepted by") for o in outcomes)
    assert entries(clinic, "MRN-1") == 3  # the two entries, once
    assert len([r for r in audit_rows(clinic, "inbox_accept") if r[1] == "ok"]) == 1
    assert record(clinic, rid).status == "accepted"


def test_a_file_naming_a_reference_the_clinic_does_not_have_creates_no_patient(clinic):
    rid = receive(clinic, b"patient_id,date,pain\nNEW-9,2026-03-05T21:00,9\n", "new.csv")
    assert inbox.accept_received(account(clinic, "sam.staff"), rid, url=clinic).status == "refused"
    with session_scope(clinic) as session:
        assert session.scalar(select(func.count(Patient.id)).where(Patient.ref == "NEW-9")) == 0
    assert record(clinic, rid).status == "received"
