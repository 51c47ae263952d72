"""``report`` and ``summary --note`` as a clinic's IT person runs them: real processes, both databases."""

from __future__ import annotations

from io import BytesIO

import pytest
from pypdf import PdfReader

from dashboard.analysis.note import PLAN_PLACEHOLDER, clinical_note
from dashboard.stored.review import patient_review
from dashboard.auth.accounts import add_user, share
from dashboard.config import chromium_path
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import audit_rows, last_audit_id
from tests.conftest import require
from tests.test_cli import cli

DIARY = ("patient_id,date,pain,notes\n" + "".join(f"P-001,2026-03-{d:02d}T21:00,{7 - d % 3},day {d} note\n"
                                                  for d in range(1, 29)))
TITRATION = "patient_id,start_date,dose_mg,frequency,route\nP-001,2026-03-08,25,twice daily,troche\n"
AS_OF = "2026-03-28"


@pytest.fixture
def clinic(db_url):
    for raw, name, fmt in ((DIARY, "d.csv", "auto"), (TITRATION, "t.csv", "titration")):
        assert import_file(raw.encode(), name, url=db_url, actor="test", fmt=fmt).status == "imported"
    with session_scope(db_url) as session:
        for username in ("dr.own", "dr.other"):
            add_user(session, username=username, display_name=username, role="clinician", password=None)
        share(session, username="dr.own", patient_ref="P-001")
    return db_url


def test_report_writes_a_pdf_of_the_patient_and_audits_it(clinic, tmp_path):
    require(chromium_path() is not None, "Chromium not found (the report's chart is drawn by kaleido through it)")
    before = last_audit_id(clinic)
    target = tmp_path / "p.pdf"
    result = cli(clinic, "report", "P-001", "--as-of", AS_OF, "--as", "dr.own", "-o", str(target))
    assert result.returncode == 0, result.stderr
    reader = PdfReader(BytesIO(target.read_bytes()))
    text = " ".join(" ".join(page.extract_text() for page in reader.pages).split())
    assert len(reader.pages) <= 2 and "P-001" in text and "50 mg/day" in text and "day 28 note" in text
    assert [(r[0], r[1], r[2]) for r in audit_rows(clinic, before)] == [("dr.own", "report", "ok")]
    assert '"as_of": "2026-03-28"' in audit_rows(clinic, before)[0][4]


def test_report_refuses_a_clinician_the_patient_is_not_shared_with(clinic, tmp_path):
    before = last_audit_id(clinic)
    target = tmp_path / "p.pdf"
    result = cli(clinic, "report", "P-001", "--as", "dr.other", "-o", str(target))
    assert result.returncode == 1 and "not available" in result.stderr
    assert not target.exists()
    assert [(r[0], r[1], r[2]) for r in audit_rows(clinic, before)] == [("dr.other", "report", "denied")]


@pytest.mark.parametrize("args", [["report", "P-001"], ["report", "P-001", "-o", "/no/such/folder/p.pdf"],
                                  ["report", "P-001", "-o", "x.pdf", "--as-of", "01/03/2026"],
                                  ["summary", "P-001", "--note", "--json"]])
def test_report_and_note_usage_errors_exit_2(clinic, args):
    before = last_audit_id(clinic)
    assert cli(clinic, *args).returncode == 2
    assert audit_rows(clinic, before) == []


def test_an_unknown_patient_exits_1(clinic, tmp_path):
    result = cli(clinic, "report", "P-NONE", "-o", str(tmp_path / "x.pdf"))
    assert result.returncode == 1 and "no patient" in result.stderr


def test_summary_note_prints_the_reviews_note_and_is_audited(clinic):
    before = last_audit_id(clinic)
    result = cli(clinic, "summary", "P-001", "--note", "--as-of", AS_OF, "--as", "dr.own")
    assert result.returncode == 0, result.stderr
    with session_scope(clinic) as session:
        expected = clinical_note(patient_review(session, "P-001", as_of=__import__("datetime").date(2026, 3, 28)))
    assert result.stdout.rstrip("\n") == expected
    assert result.stdout.rstrip("\n").endswith(PLAN_PLACEHOLDER)
    rows = audit_rows(clinic, before)
    assert [(r[0], r[1], r[2]) for r in rows] == [("dr.own", "summary", "ok")] and '"note"' in rows[0][4]
    refused = cli(clinic, "summary", "P-001", "--note", "--as", "dr.other")
    assert refused.returncode == 1 and refused.stdout == ""
