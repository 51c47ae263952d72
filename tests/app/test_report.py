"""The review page offers the pre-visit report (drawn only on the click) and the note for the record."""

from __future__ import annotations

from datetime import date

import pytest

from dashboard import loaders
from dashboard.usecases import exports, run
from dashboard.analysis.note import clinical_note
from dashboard.stored.review import patient_review
from dashboard.config import chromium_path
from dashboard.db import queries
from dashboard.db.session import session_scope
from tests.app.conftest import account, app, audit_rows, last_audit_id
from tests.conftest import require


@pytest.mark.parametrize("ref, username", [("DEMO-001", "dr.rivera"), ("DEMO-009", "dr.chen")])
def test_the_review_page_offers_the_report_and_the_note(clinic_url, ref, username, monkeypatch):
    drawn = []
    monkeypatch.setattr(exports, "pre_visit_report", lambda *a, **k: drawn.append(a) or b"%PDF")
    at = app("review", user=account(clinic_url, username), patient=ref).run()
    assert not at.exception, at.exception
    (button,) = [b for b in at.get("download_button") if b.proto.id.endswith("report_download")]
    assert button.proto.label == "Download the pre-visit report (PDF)"
    assert drawn == []  # nothing is drawn on a rerun: the PDF is made on the click
    with session_scope(clinic_url) as session:
        note = clinical_note(patient_review(session, ref, as_of=date.today()))
    assert [c.value for c in at.code] == [note]
    assert at.code[0].language in ("", None, "plaintext")


def test_the_pages_report_is_checked_and_audited_when_clicked(clinic_url):
    """What the download button calls: for the user's patient a PDF and an audit row."""
    require(chromium_path() is not None, "Chromium not found")
    user = account(clinic_url, "dr.rivera")
    patient = loaders.open_patient(user, "DEMO-001", audit_view=False)
    with session_scope(clinic_url) as session:
        review = patient_review(session, "DEMO-001")
        visits, imports = queries.visits_frame(session, patient.id), queries.imports_frame(session, "DEMO-001")
    before = last_audit_id(clinic_url)
    pdf = run(exports.pre_visit_report, user, patient, review, visits=visits, imports=imports)
    assert pdf.startswith(b"%PDF")
    rows = audit_rows(clinic_url, before)
    assert [(r[0], r[1], r[2], r[3]) for r in rows] == [("dr.rivera", "report", "ok", patient.id)]


def test_the_note_shows_hostile_patient_text_as_text(clinic_url):
    """The name and condition are patient data: st.code shows them literally, never as markdown or HTML."""
    hostile_name, hostile_condition = "<script>alert(1)</script> **Zoë**", "# CRPS <b>é ≥ −</b>"
    with session_scope(clinic_url) as session:
        patient = queries.patient_by_ref(session, "DEMO-001")
        patient.name, patient.condition = hostile_name, hostile_condition
    at = app("review", user=account(clinic_url, "dr.rivera"), patient="DEMO-001").run()
    assert not at.exception, at.exception
    (code,) = at.code
    assert f"{hostile_name} (DEMO-001)" in code.value and f"Condition: {hostile_condition}." in code.value
    assert not any("<script>" in m.value or "**Zoë**" in m.value for m in at.markdown)
