"""Share links and the inbox in the store (issue 22): the token is kept only as its SHA-256, a
use is counted in the database so a link's last use is taken once, a received file is written
into nothing, and a received file is decided once."""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

from sqlalchemy import func, select

from dashboard.db import share_links
from dashboard.db.models import DiaryEntry, ImportRecord, Patient, ShareLink
from dashboard.db.session import session_scope

NOW = datetime(2026, 12, 7, 9, 0)


def _patient(session, ref="P1") -> Patient:
    patient = Patient(ref=ref, created_at=NOW)
    session.add(patient)
    session.flush()
    return patient


def test_the_token_is_kept_only_as_its_hash_and_finds_its_link(db_url):
    with session_scope(db_url) as session:
        link, token = share_links.create(session, _patient(session).id, created_by="dr.a", now=NOW,
                                         expires_at=NOW + timedelta(days=14), max_uses=None)
        link_id = link.id
    assert len(token) >= 43  # 32 random bytes, URL-safe
    with session_scope(db_url) as session:
        stored = session.get(ShareLink, link_id)
        assert stored.token_sha256 == hashlib.sha256(token.encode()).hexdigest()
        columns = [getattr(stored, c.key) for c in ShareLink.__table__.columns]
        assert token not in [str(v) for v in columns]
        assert share_links.by_token(session, token).id == link_id
        assert share_links.by_token(session, token[:-1]) is None
        assert share_links.by_token(session, "") is None
        assert share_links.by_token(session, "x" * 500) is None


def test_a_link_with_uses_left_is_counted_until_used_up(db_url):
    with session_scope(db_url) as session:
        link, _ = share_links.create(session, _patient(session).id, created_by="dr.a", now=NOW,
                                     expires_at=NOW + timedelta(days=1), max_uses=2)
        assert [share_links.count_use(session, link) for _ in range(3)] == [True, True, False]
        assert link.uses == 2


def test_a_received_file_waits_writes_nothing_and_is_decided_once(db_url):
    with session_scope(db_url) as session:
        patient = _patient(session)
        _patient(session, "P2")
        link, _ = share_links.create(session, patient.id, created_by="dr.a", now=NOW,
                                     expires_at=NOW + timedelta(days=1), max_uses=None)
        record = share_links.keep_received(session, link, "P1", file_name="diary.csv", raw=b"date,pain\n", now=NOW)
        record_id, link_id, patient_id = record.id, link.id, patient.id
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(DiaryEntry.id))) == 0
        waiting = share_links.waiting(session)
        assert [(r.id, p.ref, r.status, r.share_link_id) for r, p in waiting] == [
            (record_id, "P1", "received", link_id)]
        assert share_links.waiting_counts(session) == {patient_id: 1}
        assert share_links.uploads_since(session, NOW - timedelta(hours=1)) == (1, len(b"date,pain\n"))
        assert share_links.uploads_since(session, NOW + timedelta(seconds=1), link_id=link_id) == (0, 0)
        record = session.get(ImportRecord, record_id)
        assert share_links.decide(session, record, status="rejected", by="sam", now=NOW, decision="not a diary")
        assert not share_links.decide(session, record, status="accepted", by="dr.a", now=NOW, decision=None)
    with session_scope(db_url) as session:
        record = session.get(ImportRecord, record_id)
        assert (record.status, record.decided_by, record.decision) == ("rejected", "sam", "not a diary")
        assert share_links.waiting(session) == [] and share_links.waiting_counts(session) == {}


def test_revoking_keeps_the_first_revocation(db_url):
    with session_scope(db_url) as session:
        link, _ = share_links.create(session, _patient(session).id, created_by="dr.a", now=NOW,
                                     expires_at=NOW + timedelta(days=1), max_uses=None)
        share_links.revoke(session, link, by="dr.a", now=NOW)
        share_links.revoke(session, link, by="sam", now=NOW + timedelta(hours=1))
        assert (link.revoked_by, link.revoked_at) == ("dr.a", NOW)
        assert [l.id for l in share_links.for_patient(session, link.patient_id)] == [link.id]
