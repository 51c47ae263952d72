"""A patient's upload link on both databases (issue 22): made by those who import for the patient,
token kept only as its hash and shown once, listed without it, used up, expired, revoked; each
step and each refusal audited as the link, with its id."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from dashboard.actors import Operator
from dashboard.db.models import AuditEvent, DiaryEntry, ImportRecord, ShareLink
from dashboard.db.session import session_scope
from dashboard.usecases import NotAllowed, run, share_links, share_upload
from dashboard.usecases.share_upload import Upload
from tests.app.conftest import account, audit_rows, last_audit_id
from tests.share import samples

NOW = share_links.now_utc()


def _token(link: share_links.NewLink) -> str:
    return link.address.rsplit("/", 1)[-1]


def _make(url, who="dr.rivera", ref="DEMO-001", **terms) -> share_links.NewLink:
    return run(share_links.create_share_link, account(url, who), ref, now=NOW, url=url, **terms)


def _send(url, token, *files, now=NOW):
    uploads = [Upload(name, raw) for name, raw in files] or [Upload("diary.csv", samples.native_csv())]
    return run(share_upload.receive_upload, token, uploads, now=now, url=url)


def test_a_link_is_made_with_its_token_shown_once_and_kept_only_as_its_hash(demo_db):
    before = last_audit_id(demo_db)
    link = _make(demo_db, days=14, uses=2)
    token = _token(link)
    assert link.address == f"/share/{token}" and link.relative and len(token) >= 43
    assert link.expires_at == NOW + timedelta(days=14)
    with session_scope(demo_db) as session:
        stored = session.get(ShareLink, link.id)
        assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        assert stored.created_by == "dr.rivera" and stored.max_uses == 2 and stored.uses == 0
    rows = audit_rows(demo_db, before)
    assert [(r[0], r[1], r[2]) for r in rows] == [("dr.rivera", "share_link_create", "ok")]
    assert json.loads(rows[0][4])["link"] == link.id and token not in rows[0][4]
    listed = run(share_links.list_share_links, account(demo_db, "dr.rivera"), "DEMO-001", now=NOW, url=demo_db)
    assert [(x.id, x.state, x.uses, x.max_uses, x.created_by) for x in listed] == [(link.id, "live", 0, 2, "dr.rivera")]
    assert token not in json.dumps([x.json() for x in listed])


def test_the_public_address_starts_the_link_when_set(sqlite_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PUBLIC_URL", "https://pain.example.org/")
    where, relative = share_links.address("abc")
    assert (where, relative) == ("https://pain.example.org/share/abc", False)


@pytest.mark.parametrize(("days", "uses"), [(0, None), (91, None), (14, 0), (14, -1)])
def test_terms_outside_the_rules_are_refused_before_anything_is_written(demo_db, days, uses):
    before = last_audit_id(demo_db)
    with pytest.raises(share_links.LinkRefused):
        _make(demo_db, days=days, uses=uses)
    assert audit_rows(demo_db, before) == []


def test_who_may_make_list_and_revoke(demo_db):
    staff_link = _make(demo_db, who="sam.staff", ref="DEMO-009")  # staff: any patient of the clinic
    run(share_links.create_share_link, Operator("cli:test"), "DEMO-009", url=demo_db)  # the server's operator
    before = last_audit_id(demo_db)
    rivera = account(demo_db, "dr.rivera")  # DEMO-009 is dr.chen's
    for call in (lambda: run(share_links.create_share_link, rivera, "DEMO-009", url=demo_db),
                 lambda: run(share_links.list_share_links, rivera, "DEMO-009", url=demo_db),
                 lambda: run(share_links.revoke_share_link, rivera, staff_link.id, url=demo_db),
                 lambda: run(share_links.revoke_share_link, rivera, 999_999, url=demo_db),
                 lambda: run(share_links.create_share_link, rivera, "NO-SUCH", url=demo_db)):
        with pytest.raises(NotAllowed):
            call()
    assert [(r[0], r[1], r[2]) for r in audit_rows(demo_db, before)] == [
        ("dr.rivera", "share_link_create", "denied"), ("dr.rivera", "share_link_list", "denied"),
        ("dr.rivera", "share_link_revoke", "denied"), ("dr.rivera", "share_link_revoke", "denied"),
        ("dr.rivera", "share_link_create", "denied")]
    assert run(share_links.may_share_link, rivera, _pid(demo_db, "DEMO-009"), url=demo_db) is False
    assert run(share_links.may_share_link, account(demo_db, "dr.chen"), _pid(demo_db, "DEMO-009"), url=demo_db)


def _pid(url, ref):
    from dashboard.db.queries import patient_by_ref

    with session_scope(url) as session:
        return patient_by_ref(session, ref).id


def test_a_link_is_used_up_and_then_works_no_more(demo_db):
    link = _make(demo_db, uses=1)
    token = _token(link)
    assert run(share_upload.link_works, token, now=NOW, url=demo_db)
    assert run(share_upload.link_works, token, now=NOW, url=demo_db)  # looking at the form takes no use
    answer = _send(demo_db, token, ("diary.csv", samples.native_csv()), ("fhir.json", samples.fhir_bundle()))
    assert [f.received for f in answer.files] == [True, True] and len(answer.record_ids) == 2
    assert not run(share_upload.link_works, token, now=NOW, url=demo_db)
    before = last_audit_id(demo_db)
    with pytest.raises(NotAllowed) as refused:
        _send(demo_db, token)
    assert str(refused.value) == share_upload.GONE
    rows = audit_rows(demo_db, before)
    assert [(r[0], r[1], r[2]) for r in rows] == [(f"share link {link.id}", "share_link_upload", "denied")]
    assert json.loads(rows[0][4])["reason"] == "used up"
    listed = run(share_links.list_share_links, account(demo_db, "dr.rivera"), "DEMO-001", now=NOW, url=demo_db)
    assert listed[0].state == "used up" and listed[0].uses == 1


def test_received_files_wait_for_the_link_patient_and_are_written_into_nothing(demo_db):
    link = _make(demo_db)
    with session_scope(demo_db) as session:
        diary_before = session.scalar(select(func.count(DiaryEntry.id)))
    before = last_audit_id(demo_db)
    answer = _send(demo_db, _token(link), ("diary.csv", samples.native_csv("DEMO-002")))  # names another patient
    assert answer.files[0].received and "DEMO" not in answer.files[0].message
    with session_scope(demo_db) as session:
        assert session.scalar(select(func.count(DiaryEntry.id))) == diary_before
        record = session.get(ImportRecord, answer.record_ids[0])
        assert (record.status, record.share_link_id, record.patients, record.imported_by) == (
            "received", link.id, ["DEMO-001"], f"share link {link.id}")
        assert record.original == samples.native_csv("DEMO-002")
    rows = audit_rows(demo_db, before)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [
        (f"share link {link.id}", "share_link_upload", "ok", _pid(demo_db, "DEMO-001"))]
    assert json.loads(rows[0][4])["record"] == record.id


def test_an_expired_or_revoked_link_refuses_as_an_unknown_one(demo_db):
    expired, revoked = _make(demo_db, days=1), _make(demo_db)
    rivera = account(demo_db, "dr.rivera")
    assert run(share_links.revoke_share_link, rivera, revoked.id, url=demo_db) is True
    assert run(share_links.revoke_share_link, rivera, revoked.id, url=demo_db) is False  # once
    later = NOW + timedelta(days=1, seconds=1)
    before = last_audit_id(demo_db)
    with session_scope(demo_db) as session:
        demo_inbox = session.scalar(select(func.count(ImportRecord.id)).where(ImportRecord.share_link_id.is_not(None)))
    messages = []
    for token in (_token(expired), _token(revoked), "not-a-token", ""):
        assert not run(share_upload.link_works, token, now=later, url=demo_db)
        with pytest.raises(NotAllowed) as refused:
            _send(demo_db, token, now=later)
        messages.append(str(refused.value))
    assert set(messages) == {share_upload.GONE}
    reasons = [json.loads(r[4])["reason"] for r in audit_rows(demo_db, before)]
    assert reasons == ["expired", "revoked", "unknown", "unknown"]
    states = {x.id: x.state for x in run(share_links.list_share_links, rivera, "DEMO-001", now=later, url=demo_db)}
    assert states == {expired.id: "expired", revoked.id: "revoked"}
    with session_scope(demo_db) as session:
        kept = session.scalar(select(func.count(ImportRecord.id)).where(ImportRecord.share_link_id.is_not(None)))
        assert kept == demo_inbox  # nothing kept beyond the demo's own waiting files
        assert session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.detail.contains("not-a-token"))) == 0


def test_a_layout_the_clinic_saved_as_a_mapping_profile_is_read_too(demo_db):
    from dashboard.ingest.profiles import save_profile

    profile = {"header_row": 1, "layout": "wide", "date_column": "day", "date_format": "%Y-%m-%d",
               "patient_column": "who", "columns": {"Knee Pain": "pain"}}
    with session_scope(demo_db) as session:
        save_profile(session, "kneeapp", profile, created_by="test")
    link = _make(demo_db)
    answer = _send(demo_db, _token(link), ("knee.csv", b"who,day,Knee Pain\nX-1,2026-11-01,6\nX-1,2026-11-02,4\n"),
                   ("other.csv", b"when,how\nyesterday,fine\n"))
    assert [(f.received, f.message) for f in answer.files] == [
        (True, "knee.csv: 2 days of diary received."),
        (False, f"other.csv {share_upload.NOT_READ}.")]


def test_the_command_line_prints_the_address_once_lists_without_it_and_revokes(demo_db, monkeypatch, capsys):
    from dashboard import cli

    monkeypatch.setenv("DASHBOARD_DATABASE_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_PUBLIC_URL", "https://pain.example.org")
    assert cli.main(["share-link", "create", "DEMO-001", "--days", "30", "--uses", "2", "--as", "sam.staff"]) == 0
    out, err = capsys.readouterr()
    address = out.strip()
    assert address.startswith("https://pain.example.org/share/") and len(out.splitlines()) == 1
    token = address.rsplit("/", 1)[-1]
    link_id = int(err.split()[1])
    assert cli.main(["share-link", "list", "DEMO-001", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(x["id"], x["state"], x["max_uses"], x["created_by"]) for x in listed] == [(link_id, "live", 2, "sam.staff")]
    assert cli.main(["share-link", "revoke", str(link_id), "--as", "dr.rivera"]) == 0
    assert cli.main(["share-link", "list", "DEMO-001"]) == 0
    out = capsys.readouterr().out
    assert f"{link_id} | revoked" in out and token not in out
    for argv in (["share-link", "create", "DEMO-001", "--days", "91"], ["share-link", "create", "DEMO-001", "--uses", "0"]):
        with pytest.raises(SystemExit) as usage:
            cli.main(argv)
        assert usage.value.code == 2
