"""Steps and visits recorded on the review page (issue 10): every refused input writes nothing and
says which field and why; every accepted change writes exactly one audit row with the old and new
values and shows in the review (``summary --json``) and on the timeline's step labels at once.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date, timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from dashboard import cli
from dashboard.usecases import exports, records, run
from dashboard.stored.review import patient_summary
from dashboard.auth import accounts
from dashboard.db import clinic_records, queries
from dashboard.db.clinic_records import RecordError, RecordRefused, StepForm, VisitForm
from dashboard.db.models import AuditEvent, Patient, TitrationStep
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.dbdump import dump

TODAY = date.today()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


@pytest.fixture
def clinic(db_url, monkeypatch):
    """P1: 60 diary days; troche 25 mg daily (ended explicitly) then 50 mg daily; two visits.
    dr.a (P1 shared), dr.b (not shared), sam (staff, P1 shared), and a proposed step."""
    diary = _csv("patient_id,date,pain,notes", [f"P1,{ago(d).isoformat()}T21:00,{5 + d % 3},n{d}"
                                                for d in range(60, -1, -1)])
    steps = _csv("patient_id,start_date,end_date,dose_mg,frequency,route",
                 [f"P1,{ago(40)},{ago(21)},25,daily,troche", f"P1,{ago(20)},,50,daily,troche"])
    visits = _csv("patient_id,date,kind,note", [f"P1,{ago(40)},in person,intake", f"P1,{ago(20)},telehealth,"])
    for raw, name, fmt in ((diary, "d.csv", "diary-csv"), (steps, "t.csv", "titration"), (visits, "v.csv", "visits")):
        report = import_file(raw, name, url=db_url, actor="test", fmt=fmt)
        assert report.status == "imported", report.message
    with session_scope(db_url) as session:
        for username, role in (("dr.a", "clinician"), ("dr.b", "clinician"), ("sam", "staff")):
            accounts.add_user(session, username=username, display_name=username, role=role, password=None)
        accounts.share(session, username="dr.a", patient_ref="P1")
        accounts.share(session, username="sam", patient_ref="P1")
        pid = session.scalar(select(Patient.id).where(Patient.ref == "P1"))
        session.add(TitrationStep(patient_id=pid, start_date=ago(-10), dose_mg=75, frequency="daily", route="troche",
                                  status="proposed", note="from a prescription"))
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    return db_url


def _user(url, name):
    with session_scope(url) as session:
        return accounts.resolve_user(session, name)


def _pid(url) -> int:
    with session_scope(url) as session:
        return session.scalar(select(Patient.id).where(Patient.ref == "P1"))


def _step_id(url, start: date, status: str = "active") -> int:
    with session_scope(url) as session:
        return session.scalar(select(TitrationStep.id).where(TitrationStep.start_date == start,
                                                             TitrationStep.status == status))


def _audit(url, after: int = 0) -> list[tuple]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(select(AuditEvent.id, AuditEvent.actor, AuditEvent.action,
                                                         AuditEvent.outcome, AuditEvent.detail)
                                                  .where(AuditEvent.id > after).order_by(AuditEvent.id))]


def _last_audit(url) -> int:
    rows = _audit(url)
    return rows[-1][0] if rows else 0


def _summary(url) -> dict:
    with session_scope(url) as session:
        return json.loads(json.dumps(patient_summary(session, "P1"), default=str))


def _labels(url) -> list[str]:
    """The step labels the page's timeline draws (charts.timeline on the review's steps)."""
    from dashboard.analysis.periods import steps_table
    from dashboard.charts.timeline import step_labels

    with session_scope(url) as session:
        steps = queries.titration_frame(session, _pid(url))
    return list(step_labels(steps_table(steps, ago(-400))))


STEP = dict(start_date=ago(-1), dose_mg=50.0, frequency="twice daily", route="troche")
BAD_STEPS = [
    ({"dose_mg": 0.0}, "dose_mg", "above 0"),
    ({"dose_mg": 1500.0}, "dose_mg", "at most 1000"),
    ({"dose_mg": 300.0, "route": "intranasal"}, "dose_mg", "at most 200 by the intranasal route"),
    ({"start_date": date(1899, 12, 31)}, "start_date", "before 1900-01-01"),
    ({"start_date": ago(-365 * 6)}, "start_date", "is dated at most 5 years"),
    ({"end_date": ago(0)}, "end_date", "the end date is before the start date"),
    ({"frequency": "thrice hourly"}, "frequency", "is not a frequency"),
    ({"frequency": "20 per week"}, "frequency", "1 to 14 per week"),
    ({"frequency": "as needed"}, "frequency", "needs a maximum per day"),
    ({"frequency": "as needed", "max_per_day": 30.0}, "max_per_day", "from 1 to 24"),
    ({"route": "oral"}, "route", "is not a route"),
    ({"start_date": ago(20)}, "start_date", "overlaps the troche step of 50 mg daily"),
    ({"start_date": ago(25)}, "start_date", "overlaps the troche step of 25 mg daily"),
    # Within the 25 mg step's days and reaching into the 50 mg step's: both named.
    ({"start_date": ago(30), "end_date": ago(10)}, "start_date,end_date", "overlaps the troche step of 50 mg daily"),
    ({"note": "x" * 2001}, "note", "at most 2000 characters"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_STEPS, ids=[f"{f}-{r[:20]}" for _, f, r in BAD_STEPS])
def test_a_refused_step_names_its_field_and_writes_nothing(clinic, change, field, reason):
    before = dump(clinic)
    user = _user(clinic, "dr.a")
    with session_scope(clinic) as session, pytest.raises(RecordRefused) as refused:
        records.save_step(session, actor=user, patient_id=_pid(clinic), form=StepForm(**{**STEP, **change}))
    assert [p.field for p in refused.value.problems] == field.split(",")
    assert reason in str(refused.value)
    assert dump(clinic) == before


BAD_VISITS = [
    ({"kind": "surgery"}, "kind", "is not a visit kind"),
    ({"date": ago(3)}, "date", "a booked visit is today or later"),
    ({"booked": False}, "date", "a visit that took place is dated today or earlier"),
    ({"date": ago(-365 * 6)}, "date", "is dated at most 5 years"),
    ({"kind": "infusion", "infusion_route": "IV"}, "infusion_dose_mg", "needs its dose"),
    ({"kind": "infusion", "infusion_route": "troche", "infusion_dose_mg": 35.0}, "infusion_route", "IV or IM"),
    ({"kind": "infusion", "infusion_route": "IM", "infusion_dose_mg": 600.0}, "infusion_dose_mg", "at most 500"),
    ({"date": ago(20), "booked": False, "kind": "telehealth"}, "date", "visit on"),
]


@pytest.mark.parametrize(("change", "field", "reason"), BAD_VISITS, ids=[f"{f}-{r[:20]}" for _, f, r in BAD_VISITS])
def test_a_refused_visit_names_its_field_and_writes_nothing(clinic, change, field, reason):
    before = dump(clinic)
    form = VisitForm(**{**dict(date=ago(-7), kind="in person", booked=True), **change})
    with session_scope(clinic) as session, pytest.raises(RecordRefused) as refused:
        records.save_visit(session, actor=_user(clinic, "dr.a"), patient_id=_pid(clinic), form=form)
    assert [p.field for p in refused.value.problems] == [field]
    assert reason in str(refused.value)
    assert dump(clinic) == before


def test_a_new_step_is_one_audit_row_and_shows_in_the_summary_and_on_the_timeline(clinic):
    user, pid = _user(clinic, "dr.a"), _pid(clinic)
    before = _last_audit(clinic)
    version = _version(clinic)
    clean, problems, preview = run(records.check_step, user, pid, StepForm(**STEP))
    assert problems == [] and preview.label == "50 → 100 mg/day" and preview.end is None
    assert preview.schedule == "50 mg twice daily = 100 mg/day, troche"
    assert preview.others == [f"The troche step of 50 mg daily from {ago(20):%d %b %Y} now ends on {ago(0):%d %b %Y}."]
    assert _last_audit(clinic) == before  # checking writes nothing
    step_id = run(records.save_step, user, pid, clean)
    rows = _audit(clinic, before)
    assert [(r[1], r[2], r[3]) for r in rows] == [("dr.a", "record_change", "ok")]
    detail = json.loads(rows[0][4])
    assert detail["old"] is None and detail["change"] == "add step" and detail["titration_step"] == step_id
    assert detail["new"] == {"start_date": STEP["start_date"].isoformat(), "end_date": None, "dose_mg": 50.0,
                             "frequency": "twice daily", "max_per_day": None, "route": "troche", "note": None,
                             "status": "active"}
    assert _version(clinic) != version
    assert "50 → 100 mg/day" in _labels(clinic)
    with session_scope(clinic) as session:
        tomorrow = patient_summary(session, "P1", as_of=ago(-1))
    assert tomorrow["current_step"]["daily_dose_mg"] == 100 and tomorrow["current_step"]["words"].startswith("50 mg")


def _version(url):
    with session_scope(url) as session:
        return queries.data_version(session, _pid(url))


def test_ending_a_step_changes_it_in_place_with_old_and_new_values(clinic):
    user, pid = _user(clinic, "dr.a"), _pid(clinic)
    step_id = _step_id(clinic, ago(20))
    with session_scope(clinic) as session:
        frame = queries.titration_frame(session, pid)
        form = clinic_records.step_form_of(frame[frame["step_id"] == step_id].iloc[0])
    before, version = _last_audit(clinic), _version(clinic)
    run(records.save_step, user, pid, replace(form, end_date=ago(2)), step_id=step_id)
    rows = _audit(clinic, before)
    assert len(rows) == 1
    detail = json.loads(rows[0][4])
    assert detail["change"] == "change step"
    assert (detail["old"]["end_date"], detail["new"]["end_date"]) == (None, ago(2).isoformat())
    assert _version(clinic) != version  # a change in place is a new review
    assert _summary(clinic)["current_step"] is None  # nothing runs after its end
    with pytest.raises(RecordError, match="nothing to change"):
        run(records.save_step, user, pid, replace(form, end_date=ago(2)), step_id=step_id)
    assert len(_audit(clinic, before)) == 1


def test_accepting_a_proposed_step_with_the_form_writes_its_values(clinic):
    user, pid = _user(clinic, "dr.a"), _pid(clinic)
    step_id = _step_id(clinic, ago(-10), "proposed")
    before = _last_audit(clinic)
    run(records.save_step, user, pid, StepForm(start_date=ago(-10), dose_mg=60, frequency="daily", route="troche"),
                       step_id=step_id)
    detail = json.loads(_audit(clinic, before)[0][4])
    assert detail["change"] == "accept proposed step"
    assert (detail["old"]["status"], detail["old"]["dose_mg"]) == ("proposed", 75.0)
    assert (detail["new"]["status"], detail["new"]["dose_mg"]) == ("active", 60.0)
    assert "50 → 60 mg/day" in _labels(clinic)


def test_booking_a_visit_shows_as_the_next_visit(clinic, capsys):
    user, pid = _user(clinic, "sam"), _pid(clinic)  # staff book visits
    assert _summary(clinic)["next_visit"] is None
    before = _last_audit(clinic)
    run(records.save_visit, user, pid, VisitForm(date=ago(-7), kind="Telemedicine", booked=True, note="<b>call</b>"))
    rows = _audit(clinic, before)
    assert [(r[1], r[2], r[3]) for r in rows] == [("sam", "record_change", "ok")]
    assert json.loads(rows[0][4])["new"] == {"date": ago(-7).isoformat(), "kind": "telehealth",
                                             "note": "<b>call</b>", "booked": True}
    assert _summary(clinic)["next_visit"] == {"date": ago(-7).isoformat(), "kind": "telehealth"}
    assert cli.main(["summary", "P1", "--json", "--as", "dr.a"]) == cli.EXIT_OK  # summary --json itself
    assert json.loads(capsys.readouterr().out)["next_visit"] == {"date": ago(-7).isoformat(), "kind": "telehealth"}


def test_recording_the_booked_visit_as_held_changes_it_instead_of_leaving_it_overdue(clinic):
    """Booked for today, then recorded as having taken place: one visit, held, the booking in the
    audit row's old values; tomorrow it is the last visit, not an overdue one."""
    user, pid = _user(clinic, "dr.a"), _pid(clinic)
    run(records.save_visit, user, pid, VisitForm(date=TODAY, kind="in person", booked=True))
    before = _last_audit(clinic)
    run(records.save_visit, user, pid, VisitForm(date=TODAY, kind="in person", booked=False, note="seen"))
    with session_scope(clinic) as session:
        visits = queries.visits_frame(session, pid)
    today = visits[visits["date"] == pd.Timestamp(TODAY)]
    assert list(today["status"]) == ["held"] and list(today["note"]) == ["seen"]
    (row,) = _audit(clinic, before)
    detail = json.loads(row[4])
    assert detail["old"] == {"date": TODAY.isoformat(), "kind": "in person", "note": None, "booked": True}
    assert detail["new"]["booked"] is False
    with session_scope(clinic) as session:
        later = patient_summary(session, "P1", as_of=TODAY + timedelta(days=1))
    assert later["overdue_visit"] is None
    assert later["last_visit"]["date"] == TODAY.isoformat()


def test_an_infusion_that_took_place_is_a_visit_and_its_dose_step(clinic):
    user, pid = _user(clinic, "dr.a"), _pid(clinic)
    form = VisitForm(date=ago(0), kind="infusion", booked=False, infusion_dose_mg=35, infusion_route="iv")
    clean, problems, preview = run(records.check_visit, user, pid, form)
    assert problems == [] and preview.label == "IV 35 mg" and preview.end == ago(0)
    before = _last_audit(clinic)
    run(records.save_visit, user, pid, clean)
    rows = _audit(clinic, before)
    assert len(rows) == 1 and json.loads(rows[0][4])["new"]["infusion_step"]["dose_mg"] == 35.0
    summary = _summary(clinic)
    assert summary["last_visit"]["kind"] == "infusion"
    assert any(s["route"] == "IV" and s["dose_mg"] == 35 for s in summary["steps"])
    assert "IV 35 mg" in _labels(clinic)


@pytest.mark.parametrize(("username", "call"), [
    ("dr.b", "step"), ("dr.b", "visit"), ("sam", "step"), ("sam", "infusion"),
])
def test_who_may_not_change_is_refused_audited_and_nothing_written(clinic, username, call):
    user, pid = _user(clinic, username), _pid(clinic)
    before, data = _last_audit(clinic), dump(clinic, skip=("audit_event",))
    with pytest.raises(PermissionError):
        if call == "step":
            run(records.save_step, user, pid, StepForm(**STEP))
        else:
            kind = "infusion" if call == "infusion" else "in person"
            run(records.save_visit, user, pid, VisitForm(date=ago(-7), kind=kind, booked=True, infusion_dose_mg=35,
                                                     infusion_route="IV"))
    assert [(r[1], r[2], r[3]) for r in _audit(clinic, before)] == [(username, "record_change", "denied")]
    assert dump(clinic, skip=("audit_event",)) == data


def test_the_diary_download_is_the_exports_csv_and_audited(clinic):
    from dashboard.ingest.export import export_patient_csv

    before = _last_audit(clinic)
    raw = run(exports.diary_csv, _user(clinic, "dr.a"), "P1")
    with session_scope(clinic) as session:
        assert raw == export_patient_csv(session, "P1").encode("utf-8-sig")
    rows = _audit(clinic, before)
    assert [(r[1], r[2], r[3]) for r in rows] == [("dr.a", "export", "ok")]
    assert json.loads(rows[0][4])["rows"] == 61
    with pytest.raises(PermissionError):
        run(exports.diary_csv, _user(clinic, "dr.b"), "P1")
    assert [(r[1], r[2], r[3]) for r in _audit(clinic, before)][-1] == ("dr.b", "export", "denied")
