"""No stored value crashes the review: rows written straight into the database (an old
database, a hand edit), past every importer's checks, on SQLite and PostgreSQL.

A row dated outside ``dashboard.fields`` is left out of the review (and the export) by
``dashboard.db.queries``; what is left must still compute, draw and export.
"""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta

import pytest
import streamlit as st

from dashboard.stored.review import patient_summary
from dashboard.auth.accounts import add_user, share
from dashboard.db.models import CoMedication, DiaryEntry, Patient, SideEffect, TitrationStep, Visit
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.export import export_patient_csv
from tests.app.conftest import app

TODAY = date.today()
NOW = datetime.combine(TODAY, datetime.min.time())


def _entry(pid: int, at: datetime, **values) -> DiaryEntry:
    return DiaryEntry(patient_id=pid, recorded_at=at, diary_date=at.date(), has_time=True, source="hand", **values)


# (what, rows for patient id -> list of ORM objects)
EXTREMES = {
    "diary in 1600": lambda pid: [_entry(pid, datetime(1600, 1, 1), pain=5.0)],
    "diary in 9999": lambda pid: [_entry(pid, datetime(9999, 12, 31, 23, 59), pain=5.0)],
    "diary in year 1": lambda pid: [_entry(pid, datetime(1, 1, 1), pain=5.0)],
    "pain 1e308": lambda pid: [_entry(pid, NOW - timedelta(days=d), pain=1e308, peg=1e308) for d in range(20)],
    "pain -1e308": lambda pid: [_entry(pid, NOW - timedelta(days=d), pain=-1e308) for d in range(20)],
    "pain infinite": lambda pid: [_entry(pid, NOW - timedelta(days=d), pain=math.inf, mood=-math.inf)
                                  for d in range(20)],
    "pain NaN": lambda pid: [_entry(pid, NOW - timedelta(days=d), pain=math.nan) for d in range(20)],
    "huge dose": lambda pid: [_entry(pid, NOW - timedelta(days=d), pain=5.0, dose_mg=1e300) for d in range(20)],
    "bp inverted": lambda pid: [_entry(pid, NOW - timedelta(days=1), bp_systolic=1e9, bp_diastolic=-1e9)],
    "severity 99": lambda pid: [_entry(pid, NOW - timedelta(days=1), pain=5.0), ("nausea", 99)],
    "visit in 1500": lambda pid: [Visit(patient_id=pid, date=date(1500, 1, 1), kind="in person")],
    "visit in 9999": lambda pid: [Visit(patient_id=pid, date=date(9999, 12, 31), kind="telehealth")],
    "step ending before it starts": lambda pid: [
        TitrationStep(patient_id=pid, start_date=TODAY - timedelta(days=10), end_date=TODAY - timedelta(days=40),
                      dose_mg=50.0, frequency="daily", route="troche"),
        _entry(pid, NOW - timedelta(days=20), pain=5.0)],
    "step in 1200 to 9999": lambda pid: [
        TitrationStep(patient_id=pid, start_date=date(1200, 1, 1), end_date=date(9999, 12, 31),
                      dose_mg=1e300, frequency="daily", route="troche")],
    "huge step dose": lambda pid: [
        TitrationStep(patient_id=pid, start_date=TODAY - timedelta(days=30), dose_mg=1e308, frequency="daily",
                      route="troche", max_per_day=1e308),
        _entry(pid, NOW - timedelta(days=2), pain=5.0, dose_mg=1e308)],
    "co-medication in 1000": lambda pid: [
        CoMedication(patient_id=pid, name="oxycodone", start_date=date(1000, 1, 1), end_date=date(9999, 1, 1),
                     source="hand", drug_class="opioid")],
}


def _store(url: str, case: str) -> str:
    with session_scope(url) as session:
        patient = Patient(ref="X1", name="Extreme", created_at=NOW)
        session.add(patient)
        session.flush()
        rows = EXTREMES[case](patient.id)
        session.add_all([r for r in rows if not isinstance(r, tuple)])
        session.flush()
        for effect, severity in (r for r in rows if isinstance(r, tuple)):  # graded on the first entry
            session.add(SideEffect(entry_id=rows[0].id, effect=effect, severity=severity))
        add_user(session, username="dr.x", display_name="Dr X", role="clinician", password="a-long-password-2026")
        share(session, username="dr.x", patient_ref="X1")
    return "X1"


@pytest.mark.parametrize("case", sorted(EXTREMES))
def test_summary_and_export_survive_any_stored_value(db_url, case):
    ref = _store(db_url, case)
    with session_scope(db_url) as session:
        summary = patient_summary(session, ref)
        export_patient_csv(session, ref)
    assert summary["patient"]["ref"] == ref


@pytest.mark.parametrize("case", sorted(EXTREMES))
def test_the_review_page_survives_any_stored_value(sqlite_url, monkeypatch, case):
    ref = _store(sqlite_url, case)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    try:
        with session_scope(sqlite_url) as session:
            from dashboard.auth.accounts import resolve_user

            user = resolve_user(session, "dr.x")
        at = app("review", user=user, patient=ref).run()
        assert not at.exception, [e.value for e in at.exception]
    finally:
        st.cache_data.clear()
        st.cache_resource.clear()
        get_engine(sqlite_url).dispose()
