"""The patient's upload page over HTTP (Starlette's test client on the page's own routes, the same
ones ``dashboard.server`` serves), on both databases: what it says, its headers, hostile uploads,
the size and hourly limits under a burst. In Chromium at phone size: tests/e2e/test_share_page.py."""

from __future__ import annotations

import threading
import warnings
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette

from dashboard.config import SHARE_LIMITS, ShareLimits
from dashboard.db.models import ImportRecord
from dashboard.db.session import session_scope
from dashboard.share_page import HEADERS, ROUTES
from dashboard.usecases import NotAllowed, run, share_links, share_upload
from dashboard.usecases.share_upload import Upload
from tests.app.conftest import account, audit_rows, last_audit_id
from tests.share import samples

with warnings.catch_warnings():
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

CLINIC = "Northside Pain Clinic"


@pytest.fixture
def page(demo_db, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", demo_db)
    monkeypatch.setenv("DASHBOARD_CLINIC_NAME", CLINIC)
    with TestClient(Starlette(routes=ROUTES)) as client:
        yield client, demo_db


def _link(url, ref="DEMO-001", **terms) -> tuple[int, str]:
    link = run(share_links.create_share_link, account(url, "dr.rivera"), ref, url=url, **terms)
    return link.id, link.address.rsplit("/", 1)[-1]


def _kept(url, link_id=None) -> int:
    with session_scope(url) as session:
        q = select(func.count(ImportRecord.id)).where(ImportRecord.share_link_id.is_not(None))
        if link_id is not None:
            q = q.where(ImportRecord.share_link_id == link_id)
        return session.scalar(q)


def _files(*pairs):
    return [("files", (name, raw, "application/octet-stream")) for name, raw in pairs]


def _stored_words(url, ref="DEMO-001") -> list[str]:
    from dashboard.db.queries import patient_by_ref

    with session_scope(url) as session:
        p = patient_by_ref(session, ref)
        return [p.ref, *(p.name or "").split()]


def test_the_form_names_the_clinic_and_nothing_of_the_patient(page):
    client, url = page
    link_id, token = _link(url, uses=1)
    response = client.get(f"/share/{token}")
    assert response.status_code == 200
    assert f"Send your diary to {CLINIC}" in response.text and 'type="file"' in response.text
    assert "multiple" in response.text and "<script" not in response.text.lower()
    assert not any(word in response.text for word in _stored_words(url))
    for name, value in HEADERS.items():
        assert response.headers[name] == value
    csp = response.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "form-action 'self'" in csp and "frame-ancestors 'none'" in csp
    client.get(f"/share/{token}")
    assert run(share_upload.link_works, token, url=url)  # looking takes no use of a one-use link


def test_every_link_that_does_not_work_gets_the_same_page(page):
    client, url = page
    rivera = account(url, "dr.rivera")
    _, expired = _link(url, days=1)
    revoked_id, revoked = _link(url)
    run(share_links.revoke_share_link, rivera, revoked_id, url=url)
    _, used = _link(url, uses=1)
    assert client.post(f"/share/{used}", files=_files(("d.csv", samples.native_csv()))).status_code == 200
    with session_scope(url) as session:  # the first link's day has passed
        from dashboard.db.models import ShareLink

        session.execute(ShareLink.__table__.update().where(ShareLink.token_sha256 == share_links.store.token_hash(
            expired)).values(expires_at=share_links.now_utc() - timedelta(seconds=1)))
    tokens = [expired, revoked, used, "A" * 43, "x", "%00", "A" * 5000]
    answers = set()
    for token in tokens:
        for method in ("get", "post"):
            kwargs = {"files": _files(("d.csv", samples.native_csv()))} if method == "post" else {}
            response = getattr(client, method)(f"/share/{token}", **kwargs)
            answers.add((response.status_code, response.text))
            assert response.headers["cache-control"] == "no-store"
    assert len(answers) == 1
    status, text = answers.pop()
    assert status == 404 and share_upload.GONE in text and "<form" not in text


def test_each_format_is_read_at_once_and_said_in_plain_words(page):
    client, url = page
    link_id, token = _link(url)
    response = client.post(f"/share/{token}", files=_files(
        ("diary.csv", samples.native_csv()), ("fhir.json", samples.fhir_bundle()), ("bearable.csv", samples.bearable()),
        ("pain-diary.csv", samples.pain_diary()), ("no-dates.csv", samples.no_dates())))
    text = response.text
    assert response.status_code == 200 and f"Thank you: {CLINIC} has your files" in text
    for said in ("diary.csv: 10 days of diary received.", "fhir.json: 7 days of diary received.",
                 "bearable.csv: 5 days of diary received.", "pain-diary.csv: 6 days of diary received.",
                 "no-dates.csv has no dates: export it again with dates."):
        assert said in text
    assert _kept(url, link_id) == 4  # the unreadable file is refused, not kept


def test_hostile_uploads_are_refused_escaped_and_never_shown(page):
    client, url = page
    link_id, token = _link(url)
    before = last_audit_id(url)
    html_like = '<img src=x onerror=alert(1)>.csv'
    response = client.post(f"/share/{token}", files=_files(
        ("bomb.zip", samples.zip_bomb()),
        ("page.html", b"<!doctype html><html><script>alert(document.cookie)</script></html>"),
        (html_like, samples.native_csv()),
        ("big.csv", samples.native_csv() + b"x" * (SHARE_LIMITS.file_bytes + 1)),
        ("../../etc/passwd", b"root:x:0:0:root:/root:/bin/bash\n"),
    ))
    text = response.text
    assert "<img" not in text and "<script>" not in text and "alert(document.cookie)" not in text
    assert "&lt;img src=x onerror=alert(1)&gt;.csv: 10 days of diary received." in text
    assert "bomb.zip is a compressed file" in text and "page.html is not a diary file" in text
    assert "big.csv is larger than 10 MB" in text and "passwd" in text and "../" not in text
    assert _kept(url, link_id) == 1
    rows = audit_rows(url, before)
    refused = [r for r in rows if r[2] == "refused"]
    assert len(refused) == 4 and all(r[0] == f"share link {link_id}" and r[1] == "share_link_upload" for r in refused)


def test_a_body_larger_than_the_cap_is_not_read(page):
    client, url = page
    _, token = _link(url)
    demo_inbox = _kept(url)  # the demo's own waiting files
    huge = b"x" * (SHARE_LIMITS.body_bytes + 1)
    response = client.post(f"/share/{token}", files=_files(("huge.csv", huge)))
    assert response.status_code == 413 and "too large" in response.text
    response = client.post(f"/share/{token}", content=b"--x\r\n", headers={
        "content-type": "multipart/form-data; boundary=x", "content-length": str(10 ** 12)})
    assert response.status_code == 413
    assert _kept(url) == demo_inbox


def test_too_many_files_at_once_are_refused(page):
    client, url = page
    link_id, token = _link(url)
    many = [(f"d{i}.csv", samples.native_csv()) for i in range(SHARE_LIMITS.files_per_submission + 1)]
    response = client.post(f"/share/{token}", files=_files(*many))
    assert response.status_code == 429 and "at most 10 files at once" in response.text
    assert _kept(url, link_id) == 0 and run(share_upload.link_works, token, url=url)


def test_a_file_naming_another_patient_lands_as_received_and_the_page_says_nothing_of_the_record(page):
    client, url = page
    link_id, token = _link(url)
    response = client.post(f"/share/{token}", files=_files(
        ("other.csv", samples.native_csv("DEMO-009")), ("other.json", samples.fhir_bundle("Hughes"))))
    assert response.text.count("days of diary received") == 2
    for word in _stored_words(url) + _stored_words(url, "DEMO-009"):  # no reference, no name, no comparison
        assert word not in response.text
    assert _kept(url, link_id) == 2


LIMITS = ShareLimits(link_files_per_hour=3, all_files_per_hour=5)


def _burst(url, tokens: list[str]) -> list:
    results, barrier = [], threading.Barrier(len(tokens))

    def send(token):
        barrier.wait()
        try:
            results.append(run(share_upload.receive_upload, token, [Upload("d.csv", samples.native_csv())],
                               limits=LIMITS, url=url))
        except NotAllowed as exc:
            results.append(exc)

    threads = [threading.Thread(target=send, args=(t,)) for t in tokens]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return results


def test_the_hourly_limit_of_a_link_holds_under_a_burst(demo_db):
    link_id, token = _link(demo_db)
    results = _burst(demo_db, [token] * 8)
    assert sum(1 for r in results if not isinstance(r, Exception) and r.record_ids) == 3
    assert {r.busy for r in results if not isinstance(r, Exception) and not r.record_ids} == {share_upload.BUSY}
    assert _kept(demo_db, link_id) == 3


def test_the_hourly_limit_of_every_link_holds_under_a_burst_from_many_links(demo_db):
    tokens = [_link(demo_db, ref=f"DEMO-00{1 + i % 7}")[1] for i in range(8)]
    results = _burst(demo_db, tokens)
    assert _kept(demo_db) == 5
    assert {r.busy for r in results if not isinstance(r, Exception) and not r.record_ids} == {
        share_upload.CLINIC_BUSY}


def test_an_upload_is_imported_at_once_when_the_clinic_imports_clean_files_automatically(page):
    """The page hands what it kept to the inbox's automatic import (``inbox_auto_import``): off, the
    file waits; on, a file passing every check is accepted and its diary lands, still listed in the inbox."""
    from dashboard.actors import Operator
    from dashboard.usecases import settings

    client, url = page
    link_id, token = _link(url)
    assert client.post(f"/share/{token}", files=_files(("off.csv", samples.native_csv()))).status_code == 200
    run(settings.change_thresholds, Operator("cli:test"), {"inbox_auto_import": "on"}, url=url)
    early = "patient_id,date,pain\n" + "".join(f"DEMO-001,2021-01-0{d}T21:00,6\n" for d in range(1, 6))
    assert client.post(f"/share/{token}", files=_files(("on.csv", early.encode()))).status_code == 200
    with session_scope(url) as session:
        outcome = dict(session.execute(select(ImportRecord.file_name, ImportRecord.status)
                                       .where(ImportRecord.share_link_id == link_id)).all())
        accepted = session.scalars(select(ImportRecord).where(ImportRecord.file_name == "on.csv",
                                                              ImportRecord.share_link_id.is_not(None))).one()
        result = session.get(ImportRecord, accepted.result_import_id)
        assert (accepted.decided_by, result.status) == ("automatic import", "imported")
    assert outcome == {"off.csv": "received", "on.csv": "accepted"}
