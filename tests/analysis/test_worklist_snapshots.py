"""The worklist's stored review snapshots: every kind of change (an import, the step and visit
forms, a flag acknowledgement, a threshold) makes the changed snapshots stale through their
version, so the next worklist run shows the review's new figure; the others are kept.
On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from dashboard import loaders
from dashboard.usecases import records, run, settings
from dashboard.analysis.worklist import RuleFigures
from dashboard.stored.worklist import precompute, stored_review
from dashboard.auth import accounts
from dashboard.auth.accounts import User
from dashboard.db.clinic_records import StepForm, VisitForm
from dashboard.db.models import Clinician, Patient, ReviewSnapshot
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.service import import_file

TODAY = date.today()


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def _import(url: str, raw: bytes, name: str, fmt: str) -> None:
    report = import_file(raw, name, url=url, actor="test", fmt=fmt)
    assert report.status == "imported", report.message


@pytest.fixture
def clinic(db_url, monkeypatch):
    """P1: 60 diary days, a blood pressure of 190/110 two days ago (a new safety flag), troche
    25 then 50 mg daily, visits 40 and 20 days ago. P2: a diary only. dr.a sees both; admin."""
    diary = [f"P{p},{ago(d).isoformat()}T21:00,{5 + d % 3},," for p in (1, 2) for d in range(60, -1, -1)]
    diary.append(f"P1,{ago(2).isoformat()}T08:00,,190,110")
    _import(db_url, _csv("patient_id,date,pain,bp_systolic,bp_diastolic", diary), "d.csv", "diary-csv")
    _import(db_url, _csv("patient_id,start_date,end_date,dose_mg,frequency,route",
                         [f"P1,{ago(40)},{ago(21)},25,daily,troche", f"P1,{ago(20)},,50,daily,troche"]),
            "t.csv", "titration")
    _import(db_url, _csv("patient_id,date,kind,note", [f"P1,{ago(40)},in person,intake", f"P1,{ago(20)},telehealth,"]),
            "v.csv", "visits")
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="Dr A", role="clinician", password=None)
        accounts.add_user(session, username="boss", display_name="Boss", role="admin", password=None)
        accounts.share(session, username="dr.a", patient_ref="P1")
        accounts.share(session, username="dr.a", patient_ref="P2")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    return db_url


def _user(url: str, username: str) -> User:
    with session_scope(url) as session:
        c = session.scalar(select(Clinician).where(Clinician.username == username))
        return User(c.id, c.username, c.display_name, c.role)


def _ids(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        return dict(session.execute(select(Patient.ref, Patient.id)).all())


def _figures(url: str) -> dict[str, RuleFigures]:
    """The worklist's rule figures on the page's path (``loaders.worklist``)."""
    rows = loaders.worklist(_user(url, "dr.a"), as_of=TODAY, start=TODAY, end=TODAY, everyone=True, audit_view=False)
    return {r.ref: RuleFigures(r.daily_dose_mg, r.step_words, r.days_on_step, r.responder, r.new_safety_flags,
                               r.open_flags) for r in rows}


def _truth(url: str) -> dict[str, RuleFigures]:
    """Each patient's figures from a review built now: what the worklist must show."""
    with session_scope(url) as session:
        limits = load_thresholds(session)
        return {ref: RuleFigures.of(stored_review(session, pid, TODAY, limits)) for ref, pid in _ids(url).items()}


def _snapshots(url: str) -> dict[int, tuple]:
    with session_scope(url) as session:
        return {pid: (version, computed) for pid, version, computed in session.execute(
            select(ReviewSnapshot.patient_id, ReviewSnapshot.version, ReviewSnapshot.computed_at)
            .where(ReviewSnapshot.as_of == TODAY))}


def _import_step(url, p1):
    _import(url, _csv("patient_id,start_date,end_date,dose_mg,frequency,route", [f"P1,{ago(3)},,100,daily,troche"]),
            "t2.csv", "titration")


def _step_form(url, p1):
    run(records.save_step, _user(url, "dr.a"), p1, StepForm(start_date=TODAY, dose_mg=75.0, frequency="daily",
                                                       route="troche"))


def _visit_form(url, p1):
    run(records.save_visit, _user(url, "dr.a"), p1, VisitForm(date=TODAY, kind="in person", booked=False))


def _acknowledge(url, p1):
    with session_scope(url) as session:
        flags = stored_review(session, p1, TODAY, load_thresholds(session)).flags
    bp = flags[flags["rule"] == "bp_high"].iloc[0]
    with session_scope(url) as session:
        records.acknowledge_flag(session, actor=_user(url, "dr.a"), patient_id=p1, rule="bp_high",
                                      flag_start=bp["start"], flag_end=bp["end"], note="seen, rechecked at home")


def _thresholds(url, p1):
    run(settings.change_thresholds, _user(url, "boss"), {"bp_systolic_high": 200.0, "bp_diastolic_high": 120.0})


# (change, patients whose snapshot it makes stale: "P1" or everyone)
CHANGES = [(_import_step, {"P1"}), (_step_form, {"P1"}), (_visit_form, {"P1"}), (_acknowledge, {"P1"}),
           (_thresholds, {"P1", "P2"})]


@pytest.mark.parametrize(("change", "stale"), CHANGES, ids=[c.__name__.strip("_") for c, _ in CHANGES])
def test_each_kind_of_change_shows_on_the_next_worklist_run(clinic, change, stale):
    ids = _ids(clinic)
    before = _figures(clinic)
    assert before == _truth(clinic)
    assert "bp_high" in before["P1"].new_safety_flags  # the fixture's story, so every change has a figure to move
    stored = _snapshots(clinic)
    assert set(stored) == set(ids.values())
    assert _figures(clinic) == before and _snapshots(clinic) == stored  # current: nothing computed again
    change(clinic, ids["P1"])
    after = _figures(clinic)
    assert after == _truth(clinic)
    assert after["P1"] != before["P1"]
    now = _snapshots(clinic)
    assert {ref for ref, pid in ids.items() if now[pid] != stored[pid]} == stale


def test_precompute_fills_every_snapshot_once_and_prunes_old_days(clinic):
    with session_scope(clinic) as session:
        first = precompute(session, as_of=ago(10))
        assert (first["patients"], first["computed"], first["current"]) == (2, 2, 0)
    with session_scope(clinic) as session:
        assert precompute(session, as_of=TODAY) == {"patients": 2, "computed": 2, "current": 0, "pruned": 2}
    with session_scope(clinic) as session:
        assert precompute(session, as_of=TODAY) == {"patients": 2, "computed": 0, "current": 2, "pruned": 0}
    stored = _snapshots(clinic)
    assert _figures(clinic) == _truth(clinic)
    assert _snapshots(clinic) == stored  # the worklist read them, computed nothing
