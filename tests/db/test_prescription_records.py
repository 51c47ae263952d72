"""The prescription checks where steps are written (issue 23, item 2), on SQLite and PostgreSQL: the
step form's use case, accepting a proposed step, and clinic records imported from a file (the import
and the command line). Each refusal writes nothing; each confirmation is one audit row carrying the
check, its numbers and the reason; ending an existing step is audited in words."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from dashboard import cli
from dashboard.auth import accounts
from dashboard.db import queries
from dashboard.db.clinic_records import RecordRefused, StepForm
from dashboard.db.models import AuditEvent, Patient, TitrationStep
from dashboard.db.session import session_scope
from dashboard.db.settings_store import save_thresholds
from dashboard.ingest.service import import_file
from dashboard.usecases import records, run
from tests.dbdump import dump

TODAY = date.today()
REASON = "refractory CRPS, agreed with the pain team on the last visit"


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _steps_csv(*rows: str) -> bytes:
    return ("\n".join(["patient_id,start_date,end_date,dose_mg,frequency,route", *rows]) + "\n").encode()


@pytest.fixture
def clinic(db_url, monkeypatch):
    """P1: troche 100 mg daily (ended on its own date), then 125 mg daily from 20 days ago, running on;
    dr.a shares P1; a proposed step of 1000 mg twice daily from tomorrow."""
    report = import_file(_steps_csv(f"P1,{ago(40)},{ago(21)},100,daily,troche", f"P1,{ago(20)},,125,daily,troche"),
                         "t.csv", url=db_url, actor="test", fmt="titration")
    assert report.status == "imported", report.message
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="dr.a", role="clinician", password=None)
        accounts.share(session, username="dr.a", patient_ref="P1")
        pid = session.scalar(select(Patient.id).where(Patient.ref == "P1"))
        session.add(TitrationStep(patient_id=pid, start_date=ago(-1), dose_mg=1000, frequency="twice daily",
                                  route="troche", status="proposed", note="from a prescription"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    return db_url


def _user(url):
    with session_scope(url) as session:
        return accounts.resolve_user(session, "dr.a")


def _pid(url) -> int:
    with session_scope(url) as session:
        return session.scalar(select(Patient.id).where(Patient.ref == "P1"))


def _step(url, start: date, status: str = "active") -> TitrationStep:
    with session_scope(url) as session:
        step = session.scalars(select(TitrationStep).where(TitrationStep.start_date == start,
                                                           TitrationStep.status == status)).one()
        session.expunge(step)
        return step


def _audit(url, after: int = 0) -> list[tuple]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(select(AuditEvent.id, AuditEvent.actor, AuditEvent.action,
                                                         AuditEvent.outcome, AuditEvent.detail)
                                                  .where(AuditEvent.id > after).order_by(AuditEvent.id))]


def _last(url) -> int:
    rows = _audit(url)
    return rows[-1][0] if rows else 0


# --- the step form's use case --------------------------------------------------------------------

def test_a_step_above_the_maximum_is_saved_only_with_a_reason_and_the_audit_row_keeps_the_numbers(clinic):
    """The issue's "1000 mg twice daily" after 125 mg/day: 2000 mg/day, above 300 and 16 times as much."""
    user, pid = _user(clinic), _pid(clinic)
    form = StepForm(start_date=TODAY, dose_mg=1000.0, frequency="twice daily", route="troche")
    _, problems, preview = run(records.check_step, user, pid, form)
    assert problems == []  # the fields are valid: the confirmation is asked before saving
    assert [f.check for f in preview.checks.findings] == ["above_maximum", "more_than_doubled"]
    before, data = _last(clinic), dump(clinic, skip=("audit_event",))
    for reason in (None, "  "):
        with pytest.raises(RecordRefused) as refused:
            run(records.save_step, user, pid, form, confirm_reason=reason)
        assert [p.field for p in refused.value.problems] == ["dose_mg", "dose_mg"]
        assert "above the clinic's maximum of 300 mg/day: needs a confirmation with a reason" in str(refused.value)
    assert dump(clinic, skip=("audit_event",)) == data
    assert [r for r in _audit(clinic, before) if r[3] == "ok"] == []
    step_id = run(records.save_step, user, pid, form, confirm_reason=REASON)
    (row,) = [r for r in _audit(clinic, before) if r[3] == "ok"]
    detail = json.loads(row[4])
    assert (row[1], row[2], detail["titration_step"]) == ("dr.a", "record_change", step_id)
    confirmed = detail["prescription"]["confirmed"]
    assert confirmed["reason"] == REASON
    assert [(c["check"], c["daily_dose_mg"], c["limit_mg"], c["previous_daily_dose_mg"]) for c in confirmed["checks"]] \
        == [("above_maximum", 2000.0, 300.0, None), ("more_than_doubled", 2000.0, 250.0, 125.0)]


def test_a_refused_prescription_writes_nothing(clinic):
    user, pid = _user(clinic), _pid(clinic)
    before = dump(clinic, skip=("audit_event",))
    with pytest.raises(RecordRefused):
        run(records.save_step, user, pid, StepForm(start_date=TODAY, dose_mg=260.0, frequency="daily", route="troche"))
    assert dump(clinic, skip=("audit_event",)) == before


@pytest.mark.parametrize(("dose", "needs"), [(250.0, False), (250.5, True)])
def test_exactly_twice_the_previous_step_is_saved_without_a_confirmation(clinic, dose, needs):
    user, pid = _user(clinic), _pid(clinic)
    form = StepForm(start_date=TODAY, dose_mg=dose, frequency="daily", route="troche")
    if needs:
        with pytest.raises(RecordRefused, match="more than twice the previous troche step's 125 mg/day"):
            run(records.save_step, user, pid, form)
    else:
        run(records.save_step, user, pid, form)
        assert "prescription" not in json.loads(_audit(clinic)[-1][4])


def test_the_maximum_follows_the_clinics_setting(clinic):
    with session_scope(clinic) as session:
        save_thresholds(session, {"max_daily_dose_mg": 200.0}, updated_by="test")
    with pytest.raises(RecordRefused, match="above the clinic's maximum of 200 mg/day"):
        run(records.save_step, _user(clinic), _pid(clinic),
            StepForm(start_date=TODAY, dose_mg=210.0, frequency="daily", route="troche"))


def test_an_overlapping_step_is_refused_with_both_steps_named(clinic):
    """The issue's back-dated step inside the current one: it no longer ends the current prescription silently."""
    user, pid = _user(clinic), _pid(clinic)
    form = StepForm(start_date=ago(10), end_date=ago(5), dose_mg=125.0, frequency="daily", route="troche")
    before = dump(clinic, skip=("audit_event",))
    clean, problems, preview = run(records.check_step, user, pid, form)
    ((problem,),) = [problems]
    assert problem.field == "start_date" and preview is None
    assert (f"the troche step of 125 mg daily from {ago(10):%d %b %Y} to {ago(5):%d %b %Y} overlaps the troche step "
            f"of 125 mg daily from {ago(20):%d %b %Y}") in problem.reason
    assert f"ends 125 mg daily (from {ago(20):%d %b %Y}) on {ago(11):%d %b %Y}" in problem.reason
    with pytest.raises(RecordRefused, match="troche steps never overlap"):
        run(records.save_step, user, pid, form, confirm_reason=REASON)  # a reason confirms doses, not overlaps
    assert dump(clinic, skip=("audit_event",)) == before


def test_an_overlap_with_end_the_existing_step_ends_it_the_day_before_and_says_the_gap(clinic):
    user, pid = _user(clinic), _pid(clinic)
    form = StepForm(start_date=ago(10), end_date=ago(5), dose_mg=125.0, frequency="daily", route="troche")
    _, problems, preview = run(records.check_step, user, pid, form, end_existing=True)
    assert problems == []
    words = f"ends 125 mg daily (from {ago(20):%d %b %Y}) on {ago(11):%d %b %Y}"
    assert [e.words for e in preview.checks.endings()] == [words]
    gap = (f"No troche step from {ago(4):%d %b %Y} to {TODAY:%d %b %Y} (today): these days would have no "
           "prescription")
    assert preview.checks.gaps == (gap,)  # said before saving
    assert preview.others == [f"The troche step of 125 mg daily from {ago(20):%d %b %Y} now ends on {ago(11):%d %b %Y}."]
    before = _last(clinic)
    run(records.save_step, user, pid, form, end_existing=True)
    assert _step(clinic, ago(20)).end_date == ago(11)
    (row,) = _audit(clinic, before)
    said = json.loads(row[4])["prescription"]
    assert said["ended"] == [{"titration_step": _step(clinic, ago(20)).id, "old_end": None,
                              "new_end": ago(11).isoformat(), "words": words}]
    assert said["gaps"] == [gap]


def test_a_gap_is_a_warning_not_a_refusal(clinic):
    user, pid = _user(clinic), _pid(clinic)
    current = _step(clinic, ago(20))
    form = StepForm(start_date=ago(20), end_date=ago(3), dose_mg=125.0, frequency="daily", route="troche")
    _, problems, preview = run(records.check_step, user, pid, form, step_id=current.id)
    assert problems == [] and preview.checks.gaps == (
        f"No troche step from {ago(2):%d %b %Y} to {TODAY:%d %b %Y} (today): these days would have no prescription",)
    run(records.save_step, user, pid, form, step_id=current.id)
    assert _step(clinic, ago(20)).end_date == ago(3)


# --- accepting a proposed step -------------------------------------------------------------------

def test_accepting_a_proposed_step_needs_the_same_confirmation(clinic):
    user, pid = _user(clinic), _pid(clinic)
    proposed = _step(clinic, ago(-1), "proposed")
    before = _last(clinic)
    with pytest.raises(RecordRefused, match="2000 mg/day .* is above the clinic's maximum of 300 mg/day"):
        run(records.decide_proposed_step, user, pid, proposed.id, True)
    assert _step(clinic, ago(-1), "proposed").status == "proposed"
    assert [r for r in _audit(clinic, before) if r[3] == "ok"] == []
    run(records.decide_proposed_step, user, pid, proposed.id, True, confirm_reason=REASON)
    assert _step(clinic, ago(-1)).status == "active"
    detail = json.loads(_audit(clinic, before)[-1][4])
    assert detail["decision"] == "active" and detail["prescription"]["confirmed"]["reason"] == REASON
    assert [c["check"] for c in detail["prescription"]["confirmed"]["checks"]] == ["above_maximum", "more_than_doubled"]


def test_accepting_a_proposed_step_through_the_form_needs_it_too(clinic):
    user, pid = _user(clinic), _pid(clinic)
    proposed = _step(clinic, ago(-1), "proposed")
    form = StepForm(start_date=ago(-1), dose_mg=1000.0, frequency="twice daily", route="troche")
    with pytest.raises(RecordRefused, match="needs a confirmation with a reason"):
        run(records.save_step, user, pid, form, step_id=proposed.id)
    run(records.save_step, user, pid, form, step_id=proposed.id, confirm_reason=REASON)


def test_rejecting_a_proposed_step_needs_no_confirmation(clinic):
    proposed = _step(clinic, ago(-1), "proposed")
    run(records.decide_proposed_step, _user(clinic), _pid(clinic), proposed.id, False)
    assert _step(clinic, ago(-1), "rejected").dose_mg == 1000


# --- clinic records imported from a file ----------------------------------------------------------

def test_an_imported_step_above_the_maximum_is_refused_naming_file_row_column_and_value(clinic):
    raw = _steps_csv(f"P1,{ago(20)},,125,daily,troche", f"P1,{TODAY},,400,daily,troche")
    before = dump(clinic, skip=("audit_event", "import_record"))
    report = import_file(raw, "steps.csv", url=clinic, actor="test", fmt="titration")
    assert report.status == "refused" and report.file == "steps.csv"
    assert [(r["row"], r["column"], r["value"]) for r in report.refused_rows] == [(3, "dose_mg", "400.0")] * 2
    assert "is above the clinic's maximum of 300 mg/day: needs a confirmation with a reason" in \
        report.refused_rows[0]["reason"]
    assert dump(clinic, skip=("audit_event", "import_record")) == before


def test_an_imported_step_confirmed_with_a_reason_is_audited_with_its_checks(clinic):
    raw = _steps_csv(f"P1,{TODAY},,400,daily,troche")
    report = import_file(raw, "steps.csv", url=clinic, actor="test", fmt="titration", confirm_prescription=REASON)
    assert report.status == "imported", report.message
    (row,) = [r for r in _audit(clinic) if r[2] == "import" and r[3] == "imported"][-1:]
    confirmed = json.loads(row[4])["prescription"]["confirmed"]
    assert confirmed["reason"] == REASON
    assert [(c["check"], c["row"], c["patient"], c["daily_dose_mg"]) for c in confirmed["checks"]] == [
        ("above_maximum", 2, "P1", 400.0), ("more_than_doubled", 2, "P1", 400.0)]
    assert _step(clinic, TODAY).dose_mg == 400


def test_an_imported_step_inside_a_stored_one_is_refused_and_a_gap_is_said(clinic):
    inside = import_file(_steps_csv(f"P1,{ago(10)},{ago(5)},125,daily,troche"), "back.csv", url=clinic, actor="test",
                         fmt="titration", confirm_prescription=REASON)
    assert inside.status == "refused"
    ((row, column, value, reason),) = [tuple(r.values()) for r in inside.refused_rows]
    assert (row, column, value) == (2, "start_date", ago(10).isoformat())
    assert f"overlaps the troche step of 125 mg daily from {ago(20):%d %b %Y}" in reason


def test_an_imported_file_that_leaves_days_without_a_step_says_so(clinic):
    raw = ("patient_id,start_date,end_date,dose_mg,frequency,route\n"
           f"P2,{ago(30)},{ago(21)},25,daily,troche\nP2,{ago(10)},,50,daily,troche\n").encode()
    report = import_file(raw, "p2.csv", url=clinic, actor="test", fmt="titration")
    assert report.status == "imported"
    gap = f"P2: No troche step from {ago(20):%d %b %Y} to {ago(11):%d %b %Y}: these days would have no prescription"
    assert report.prescription == {"gaps": [gap]} and report.message.endswith("; warning: " + gap)
    (row,) = [r for r in _audit(clinic) if r[2] == "import"][-1:]
    assert json.loads(row[4])["prescription"] == {"gaps": [gap]}


def test_the_command_line_confirms_with_its_flag(clinic, tmp_path, capsys):
    path = tmp_path / "steps.csv"
    path.write_bytes(_steps_csv(f"P1,{TODAY},,400,daily,troche"))
    assert cli.main(["import", str(path), "--format", "titration"]) != 0
    out = capsys.readouterr().out
    assert f"refused: {path}, row 2, column 'dose_mg', value '400.0'" in out
    assert cli.main(["import", str(path), "--format", "titration", "--confirm-prescription", "  "]) != 0
    assert cli.main(["import", str(path), "--format", "titration", "--confirm-prescription", REASON]) == 0
    out = capsys.readouterr().out
    assert f"prescription confirmed: {path}, row 2: 400 mg/day (400 mg daily from {TODAY:%d %b %Y}) is above" in out
    with session_scope(clinic) as session:
        frame = queries.titration_frame(session, _pid(clinic))
    assert 400.0 in set(frame["dose_mg"])
