"""A stored titration step changed by an import's "take" decision (the file's values replace the
stored ones) faces the same prescription checks as a new step (dashboard.ingest.import_prescriptions):
above the clinic's maximum and more than doubled need a confirmation with a reason, an overlap is
refused. On SQLite and PostgreSQL, through the import, the command line and the import page."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import streamlit as st
from sqlalchemy import select

from dashboard import cli
from dashboard.auth import accounts
from dashboard.db.models import AuditEvent, TitrationStep
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from dashboard.ingest.writer import Resolution
from tests.app.conftest import account, app
from tests.dbdump import dump

TODAY = date.today()
REASON = "refractory CRPS, agreed with the pain team on the last visit"
TAKE = Resolution(reason="the clinic's corrected record", default="take")


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _steps_csv(*rows: str) -> bytes:
    return ("\n".join(["patient_id,start_date,end_date,dose_mg,frequency,route", *rows]) + "\n").encode()


# The stored 125 mg step from 20 days ago, as a file says it: 400 mg daily (above 300, 4 x 100).
RAISED = _steps_csv(f"P1,{ago(20)},,400,daily,troche")
# The stored first step, as a file says it: ending 15 days ago, inside the next step's days.
STRETCHED = _steps_csv(f"P1,{ago(40)},{ago(15)},100,daily,troche")


@pytest.fixture
def clinic(db_url, monkeypatch):
    """P1: troche 100 mg daily (ended on its own date), then 125 mg daily from 20 days ago; sam is staff."""
    report = import_file(_steps_csv(f"P1,{ago(40)},{ago(21)},100,daily,troche", f"P1,{ago(20)},,125,daily,troche"),
                         "t.csv", url=db_url, actor="test", fmt="titration")
    assert report.status == "imported", report.message
    with session_scope(db_url) as session:
        accounts.add_user(session, username="sam", display_name="Sam", role="staff", password=None)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    return db_url


def _doses(url) -> list[float]:
    with session_scope(url) as session:
        return list(session.scalars(select(TitrationStep.dose_mg).order_by(TitrationStep.start_date)))


def test_taking_a_dose_above_the_maximum_is_refused_without_a_confirmation(clinic):
    before = dump(clinic, skip=("audit_event", "import_record"))
    report = import_file(RAISED, "raised.csv", url=clinic, actor="test", fmt="titration", resolution=TAKE)
    assert report.status == "refused", report.message
    assert {(r["row"], r["column"], r["value"]) for r in report.refused_rows} == {(2, "dose_mg", "400.0")}
    reasons = " | ".join(r["reason"] for r in report.refused_rows)
    assert "taking the file's values for the stored step" in reasons
    assert "is above the clinic's maximum of 300 mg/day: needs a confirmation with a reason" in reasons
    assert "is more than twice the previous troche step's 100 mg/day" in reasons
    assert dump(clinic, skip=("audit_event", "import_record")) == before
    assert _doses(clinic) == [100.0, 125.0]


def test_a_dry_run_of_taking_offers_the_confirmation(clinic):
    report = import_file(RAISED, "raised.csv", url=clinic, actor="test", fmt="titration", resolution=TAKE,
                         dry_run=True)
    assert [c["check"] for c in report.prescription["needs_confirmation"]] == ["above_maximum", "more_than_doubled"]
    assert all(c["taken_from_file"] for c in report.prescription["needs_confirmation"])


def test_taking_a_dose_above_the_maximum_with_a_reason_is_imported_and_audited(clinic):
    report = import_file(RAISED, "raised.csv", url=clinic, actor="test", fmt="titration", resolution=TAKE,
                         confirm_prescription=REASON)
    assert report.status == "imported", report.message
    assert _doses(clinic) == [100.0, 400.0]
    with session_scope(clinic) as session:
        detail = json.loads(session.scalars(select(AuditEvent.detail).where(AuditEvent.action == "import")
                                            .order_by(AuditEvent.id.desc())).first())
    confirmed = detail["prescription"]["confirmed"]
    assert confirmed["reason"] == REASON
    assert [(c["check"], c["row"], c["daily_dose_mg"]) for c in confirmed["checks"]] == [
        ("above_maximum", 2, 400.0), ("more_than_doubled", 2, 400.0)]


def test_taking_an_end_date_that_overlaps_the_next_step_is_refused_even_confirmed(clinic):
    report = import_file(STRETCHED, "stretched.csv", url=clinic, actor="test", fmt="titration", resolution=TAKE,
                         confirm_prescription=REASON)
    assert report.status == "refused"
    ((row, column, value, reason),) = [tuple(r.values()) for r in report.refused_rows]
    assert (row, column, value) == (2, "end_date", ago(15).isoformat())
    assert f"overlaps the troche step of 125 mg daily from {ago(20):%d %b %Y}" in reason


def test_accepting_valid_rows_keeps_a_refused_take_open_and_the_stored_step_unchanged(clinic):
    raw = _steps_csv(f"P1,{ago(20)},,400,daily,troche", f"P2,{ago(5)},,25,daily,troche")
    report = import_file(raw, "mixed.csv", url=clinic, actor="test", fmt="titration", resolution=TAKE,
                         accept_valid=True)
    assert report.status == "imported", report.message
    assert [c.get("decision") for c in report.conflicts] == [None]
    assert _doses(clinic) == [100.0, 125.0, 25.0]


def test_keeping_the_stored_step_needs_no_confirmation(clinic):
    report = import_file(RAISED, "raised.csv", url=clinic, actor="test", fmt="titration",
                         resolution=Resolution(reason="the clinic's record is right", default="keep"))
    assert report.status == "imported" and report.prescription == {}
    assert _doses(clinic) == [100.0, 125.0]


def test_the_command_line_take_needs_the_prescription_confirmed(clinic, tmp_path, capsys):
    path = tmp_path / "raised.csv"
    path.write_bytes(RAISED)
    take = ["import", str(path), "--format", "titration", "--resolve", "take", "--reason", "corrected record"]
    assert cli.main(take) != 0
    out = capsys.readouterr().out
    assert f"refused: {path}, row 2, column 'dose_mg', value '400.0': taking the file's values" in out
    assert _doses(clinic) == [100.0, 125.0]
    assert cli.main([*take, "--confirm-prescription", REASON]) == 0
    assert "prescription confirmed" in capsys.readouterr().out
    assert _doses(clinic) == [100.0, 400.0]


def test_the_import_page_asks_for_the_confirmation_after_take(clinic):
    at = app("import", user=account(clinic, "sam")).run()
    at.file_uploader(key="upload").upload("raised.csv", RAISED, "text/csv").run()
    at.selectbox(key="format").select("titration").run()
    at.radio(key="resolve_all").set_value("take").run()
    at.text_input(key="resolve_reason").input("the clinic's corrected record").run()
    assert not at.exception, at.exception
    texts = [t.value for t in at.text]
    assert any("is above the clinic's maximum of 300 mg/day" in t for t in texts), texts
    assert "import_confirm_prescription" in [c.key for c in at.checkbox]
    assert "do_import" not in [b.key for b in at.button]
    at.checkbox(key="import_confirm_prescription").check().run()
    at.text_input(key="import_confirm_reason").input(REASON).run()
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    assert [s.value for s in at.success][-1].startswith("Imported as import #")
    assert _doses(clinic) == [100.0, 400.0]
