"""Every way patient data changes raises that patient's revision (``db.revisions``) in the same
transaction, so ``queries.data_version`` (the review cache's key and the worklist snapshots'
version) moves with it; other patients' stay. Walked through the entry points on SQLite and
PostgreSQL: imports of each format, a conflict decided, the step and visit forms, a proposed
step decided, a flag acknowledged."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.usecases import records, run
from dashboard.stored.worklist import stored_review
from dashboard.auth import accounts
from dashboard.auth.accounts import User
from dashboard.db import queries
from dashboard.db.clinic_records import StepForm, VisitForm
from dashboard.db.models import Clinician, DiaryEntry, Patient, TitrationStep
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.service import import_file
from dashboard.ingest.writer import Resolution

TODAY = date.today()
RXNORM = "http://www.nlm.nih.gov/research/umls/rxnorm"


def ago(days: int) -> date:
    return TODAY - timedelta(days=days)


def _csv(header: str, rows: list[str]) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


DIARY = _csv("patient_id,date,pain,bp_systolic,bp_diastolic",
             [f"P{p},{ago(d).isoformat()}T21:00,{5 + d % 3},," for p in (1, 2) for d in range(20, -1, -1)]
             + [f"P1,{ago(2).isoformat()}T08:00,,190,110"])


def _import(url: str, raw: bytes, name: str, fmt: str, **kw) -> None:
    report = import_file(raw, name, url=url, actor="test", fmt=fmt, **kw)
    assert report.status == "imported", report.message


@pytest.fixture
def clinic(db_url, monkeypatch):
    """P1 and P2 with three weeks of diary (P1 a blood pressure of 190/110 two days ago: a flag to
    acknowledge), shared with dr.a."""
    _import(db_url, DIARY, "d.csv", "diary-csv")
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.a", display_name="Dr A", role="clinician", password=None)
        accounts.share(session, username="dr.a", patient_ref="P1")
        accounts.share(session, username="dr.a", patient_ref="P2")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    return db_url


def _user(url: str) -> User:
    with session_scope(url) as session:
        c = session.scalar(select(Clinician).where(Clinician.username == "dr.a"))
        return User(c.id, c.username, c.display_name, c.role)


def _ids(url: str) -> dict[str, int]:
    with session_scope(url) as session:
        return dict(session.execute(select(Patient.ref, Patient.id)).all())


def _versions(url: str) -> dict[str, tuple]:
    ids = _ids(url)
    with session_scope(url) as session:
        many = queries.data_versions(session, list(ids.values()))
        assert all(queries.data_version(session, pid) == many[pid] for pid in ids.values())
    return {ref: many[pid] for ref, pid in ids.items()}


def _fhir(url, p1):
    pain = {"resourceType": "Observation", "id": "o1", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
            "subject": {"reference": "Patient/P1"}, "effectiveDateTime": f"{TODAY.isoformat()}T07:30:00+00:00",
            "valueQuantity": {"value": 4, "unit": "{score}"}}
    _import(url, json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [{"resource": pain}]}).encode(),
            "b.json", "fhir", patient_ref="P1")  # a resource id alone never joins a stored patient (v3)


def _bearable(url, p1):
    day = ago(1)
    written = f"{day.day}{'th' if 10 < day.day % 100 < 14 else {1: 'st', 2: 'nd', 3: 'rd'}.get(day.day % 10, 'th')} " \
              f"{day:%b %Y}"
    row = [written, day.isoformat(), f"{day:%A}", "am", "Mood", "5", "", ""]
    raw = ("date,date formatted,weekday,time of day,category,rating/amount,detail,notes\n"
           + ",".join(f'"{c}"' for c in row) + "\n").encode()
    _import(url, raw, "bearable.csv", "bearable", patient_ref="P1")


def _diary(url, p1):
    _import(url, _csv("patient_id,date,pain", [f"P1,{TODAY.isoformat()}T07:00,3"]), "d2.csv", "diary-csv")


def _titration(url, p1):
    _import(url, _csv("patient_id,start_date,end_date,dose_mg,frequency,route", [f"P1,{ago(3)},,50,daily,troche"]),
            "t.csv", "titration")


def _visits(url, p1):
    _import(url, _csv("patient_id,date,kind,note", [f"P1,{ago(5)},in person,"]), "v.csv", "visits")


def _resolve_take(url, p1):
    """The patient corrected one day's pain: the file's value taken, the entry changed in place
    (neither the diary's row count nor its highest id moves)."""
    when = f"{ago(3).isoformat()}T21:00"
    raw = _csv("patient_id,date,pain,bp_systolic,bp_diastolic", [f"P1,{when},9,,"])
    _import(url, raw, "fix.csv", "diary-csv", resolution=Resolution(reason="corrected by phone", default="take"))
    with session_scope(url) as session:
        assert session.scalar(select(DiaryEntry.pain).where(DiaryEntry.patient_id == p1,
                                                            DiaryEntry.diary_date == ago(3))) == 9


def _step_form(url, p1):
    run(records.save_step, _user(url), p1, StepForm(start_date=TODAY, dose_mg=75.0, frequency="daily", route="troche"))


def _visit_form(url, p1):
    run(records.save_visit, _user(url), p1, VisitForm(date=TODAY, kind="in person", booked=False))


def _acknowledge(url, p1):
    with session_scope(url) as session:
        flags = stored_review(session, p1, TODAY, load_thresholds(session)).flags
    bp = flags[flags["rule"] == "bp_high"].iloc[0]
    with session_scope(url) as session:
        records.acknowledge_flag(session, actor=_user(url), patient_id=p1, rule="bp_high",
                                      flag_start=bp["start"], flag_end=bp["end"], note="seen, rechecked at home")


def _proposed_step(url, p1):
    """A prescription read from FHIR is a proposed step (an import: a revision); deciding it is another."""
    request = {"resourceType": "MedicationRequest", "id": "ket1", "status": "active", "intent": "order",
               "medicationCodeableConcept": {"coding": [{"system": RXNORM, "code": "6130", "display": "ketamine"}]},
               "subject": {"reference": "Patient/P1"}, "authoredOn": ago(1).isoformat(),
               "dosageInstruction": [{"doseAndRate": [{"doseQuantity": {"value": 50, "unit": "mg", "code": "mg"}}],
                                      "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]}
    _import(url, json.dumps({"resourceType": "Bundle", "type": "collection",
                             "entry": [{"resource": request}]}).encode(), "rx.json", "fhir", patient_ref="P1")
    before = _versions(url)
    with session_scope(url) as session:
        step_id = session.scalar(select(TitrationStep.id).where(TitrationStep.patient_id == p1,
                                                                TitrationStep.status == "proposed"))
        assert step_id is not None
        records.decide_proposed_step(session, actor=_user(url), patient_id=p1, step_id=step_id, accept=True)
    assert _versions(url)["P1"] != before["P1"]


CHANGES = [_diary, _fhir, _bearable, _titration, _visits, _resolve_take, _step_form, _visit_form, _acknowledge,
           _proposed_step]


@pytest.mark.parametrize("change", CHANGES, ids=[c.__name__.strip("_") for c in CHANGES])
def test_every_change_to_a_patients_data_moves_their_version_and_no_one_elses(clinic, change):
    before = _versions(clinic)
    change(clinic, _ids(clinic)["P1"])
    after = _versions(clinic)
    assert after["P1"] != before["P1"]
    assert after["P2"] == before["P2"]


def test_an_import_that_writes_nothing_moves_no_version(clinic):
    before = _versions(clinic)
    report = import_file(DIARY, "again.csv", url=clinic, actor="test", fmt="diary-csv")
    assert report.status == "already-imported"
    refused = import_file(_csv("patient_id,date,pain", ["P1,not a date,4"]), "bad.csv", url=clinic, actor="test",
                          fmt="diary-csv")
    assert refused.status == "refused"
    assert _versions(clinic) == before


def test_a_patient_never_changed_since_the_upgrade_is_at_revision_0(clinic):
    with session_scope(clinic) as session:
        session.add(Patient(ref="OLD", created_at=datetime.now()))
    assert _versions(clinic)["OLD"] == (0,)
