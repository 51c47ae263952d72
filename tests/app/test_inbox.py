"""The Inbox page (issue 22) on a copy of the demo clinic: a waiting file imported with one click,
an identity disagreement held until a same-person reason, a rejection with a reason, and
another clinician's patient's files never shown. Files are made with the storage functions."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import select

from dashboard.db import share_links
from dashboard.db.models import ImportRecord, Patient
from dashboard.db.session import session_scope
from tests.app.conftest import account, app, audit_rows, last_audit_id, texts

NOW = datetime(2026, 12, 7, 9, 0)
HOSTILE_NAME = "<img src=x onerror=alert(1)>.csv"
DIARY = b"date,pain,notes\n2024-01-02T21:00,5,**bold** <script>alert(1)</script>\n"
BP = (Path(__file__).resolve().parents[1] / "data" / "real" / "us_core" / "blood-pressure.json").read_bytes()


def receive(url: str, raw: bytes, file_name: str, ref: str = "DEMO-001") -> int:
    with session_scope(url) as session:
        patient = session.scalar(select(Patient).where(Patient.ref == ref))
        link, _ = share_links.create(session, patient.id, created_by="dr.rivera", now=NOW,
                                     expires_at=NOW + timedelta(days=14), max_uses=None)
        return share_links.keep_received(session, link, ref, file_name=file_name, raw=raw, now=NOW).id


def status(url: str, record_id: int) -> tuple[str, str | None, str | None]:
    with session_scope(url) as session:
        r = session.get(ImportRecord, record_id)
        return r.status, r.decided_by, r.decision


def table(at, column: str):
    """The page's table with this column (AppTest does not find a dataframe by its key), or None."""
    return next((d.value for d in at.dataframe if column in d.value.columns), None)


def _pick(at, record_id: int):
    return at.selectbox(key="inbox_pick").set_value(record_id).run()


def test_a_waiting_file_is_imported_with_one_click_and_its_text_stays_text(clinic_url):
    rid = receive(clinic_url, DIARY, HOSTILE_NAME)
    before = last_audit_id(clinic_url)
    at = app("inbox", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception
    waiting = table(at, "Would add")
    row = waiting[waiting["File #"] == str(rid)].iloc[0]
    assert row["Patient"] == "Maria Alvarez · DEMO-001" and row["Would add"] == "1 diary entry"
    assert row["Check"] == "ready to import" and row["File"] == HOSTILE_NAME
    # The file's name and the patient's note only ever as text: no markdown or HTML element holds them.
    assert not any("onerror" in m.value or "<script>" in m.value for m in at.markdown)
    assert any(r[1] == "view_inbox" and "DEMO-001" in r[4] for r in audit_rows(clinic_url, before))
    at = _pick(at, rid)
    at = at.button(key="inbox_import").click().run()
    assert not at.exception
    assert status(clinic_url, rid)[:2] == ("accepted", "dr.rivera")
    assert any(f"File #{rid} imported for DEMO-001" in s.value for s in at.success)
    decided = table(at, "By")
    assert decided[decided["File #"] == str(rid)].iloc[0]["By"] == "dr.rivera"
    waiting = table(at, "Would add")
    assert waiting is None or str(rid) not in list(waiting["File #"])


def test_an_identity_disagreement_needs_a_same_person_reason_on_the_page(clinic_url):
    rid = receive(clinic_url, BP, "blood-pressure.json")
    at = _pick(app("inbox", user=account(clinic_url, "dr.rivera")).run(), rid)
    assert "Amy Shaw" in texts(at) and at.checkbox(key="inbox_same_person")
    at = at.button(key="inbox_import").click().run()
    assert any("Not imported" in e.value and "stays waiting" in e.value for e in at.error)
    assert not any("Amy Shaw" in e.value for e in at.error)  # the file's names only as plain text
    assert any("Amy Shaw" in t.value for t in at.text)
    assert status(clinic_url, rid)[0] == "received"
    at.checkbox(key="inbox_same_person").check()
    at.text_input(key="inbox_same_person_reason").input("her portal mislabels her readings")
    at = at.button(key="inbox_import").click().run()
    assert not at.exception
    assert status(clinic_url, rid) == ("accepted", "dr.rivera", "her portal mislabels her readings")


def test_a_file_is_rejected_with_a_reason(clinic_url):
    rid = receive(clinic_url, DIARY, "diary.csv")
    at = _pick(app("inbox", user=account(clinic_url, "dr.rivera")).run(), rid)
    at = at.button(key="inbox_reject").click().run()
    assert any("Give the reason" in w.value for w in at.warning) and status(clinic_url, rid)[0] == "received"
    at.text_input(key="inbox_reject_reason").input("not her diary")
    at = at.button(key="inbox_reject").click().run()
    assert not at.exception
    assert status(clinic_url, rid) == ("rejected", "dr.rivera", "not her diary")
    assert any(f"File #{rid} rejected" in s.value for s in at.success)


def test_another_clinicians_patients_files_are_not_shown(clinic_url):
    rid = receive(clinic_url, DIARY, "maria-diary.csv")
    at = app("inbox", user=account(clinic_url, "dr.chen")).run()  # DEMO-001 is not shared with dr.chen
    assert not at.exception
    shown = texts(at)
    assert "maria-diary.csv" not in shown and "Maria Alvarez" not in shown and "DEMO-001" not in shown
    staff = app("inbox", user=account(clinic_url, "sam.staff")).run()  # staff: the clinic's inbox
    assert "maria-diary.csv" in texts(staff)
    assert status(clinic_url, rid)[0] == "received"
