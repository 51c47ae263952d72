"""The worklist's reads: a few grouped queries for many patients at once, never a diary per patient.

The diary figures are aggregated in the database (GROUP BY over ``diary_entry``) with the
review's definitions (``analysis.recent``, ``analysis.completeness``): a day's pain is the mean
of its entries that recorded pain, a period's pain the mean of those daily values. Visits from
the first day asked about (and every booked one) come back in one query and go through the
review's own rules (``review.next_visits``), so the next visit cannot differ from the review's.
Nothing here reads a whole diary: windows of days and index steps (at 5,000 patients with two
years of diary each, bench/worklist.py).
"""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
from sqlalchemy import and_, case, func, or_, select, text
from sqlalchemy.orm import Session

from dashboard import fields
from dashboard.db.models import BP_RECORDED, Clinician, DiaryEntry, Patient, PatientShare, Visit
from dashboard.db.queries import VISIT_COLUMNS, _dated, _diary_dated, _frame, among

COMPLETENESS_DAYS = 30
DIARY_FIGURES = ["patient_id", "mean_pain_14d", "mean_pain_prev_14d", "diary_days_30d", "last_entry", "last_bp"]


def patients(session: Session, patient_ids: list[int]) -> pd.DataFrame:
    rows = session.execute(select(Patient.id, Patient.ref, Patient.name, Patient.condition)
                           .where(among(session, Patient.id, patient_ids)).order_by(Patient.ref)).all()
    return _frame(rows, ["patient_id", "ref", "name", "condition"])


def diary_figures(session: Session, patient_ids: list[int], windows: tuple[date, date, date]) -> pd.DataFrame:
    """Per patient: mean daily pain of the last 14 days and the 14 before, diary days in the
    last 30, the last diary day and the last day with a blood-pressure reading (up to the as-of day).
    ``windows`` are (start of the previous 14 days, start of the last 14, as-of day): the review's
    definitions (``analysis.recent.recent_windows``), handed in so storage does not import analysis.

    The sums read the last 30 days only; the last day and the last reading are one step down an
    index each per patient (``max`` over (patient, day) and the partial index of the days with a
    reading), so none of it grows with the length of the diary.
    """
    prev_start, last_start, end = windows
    window_start = end - timedelta(days=COMPLETENESS_DAYS - 1)
    # One pass over the last 30 days (the 28 of the pain windows among them): a day's pain is the
    # mean of its entries that recorded pain (avg skips the others), a day without pain is NULL
    # and so left out of the period's mean, and every day with an entry counts for completeness.
    first = min(prev_start, window_start)
    daily = (
        select(DiaryEntry.patient_id, DiaryEntry.diary_date, func.avg(DiaryEntry.pain).label("pain"))
        .where(among(session, DiaryEntry.patient_id, patient_ids), _diary_dated(first, end))
        .group_by(DiaryEntry.patient_id, DiaryEntry.diary_date).subquery()
    )
    windows = {pid: (last, prev, days) for pid, last, prev, days in session.execute(
        select(daily.c.patient_id,
               func.avg(case((daily.c.diary_date >= last_start, daily.c.pain))),
               func.avg(case((and_(daily.c.diary_date >= prev_start, daily.c.diary_date < last_start),
                              daily.c.pain))),
               func.count(case((daily.c.diary_date >= window_start, daily.c.diary_date))))
        .group_by(daily.c.patient_id))}

    def last_day(*where):  # the latest day as the first row of a backward index scan, not max():
        # under PostgreSQL's generic plan (a statement psycopg prepared, after a few runs on one
        # connection) the day range is unknown, and max() was planned as an aggregate over the
        # whole diary of every patient (1.4 s at 5,010 patients); ORDER BY ... LIMIT 1 stays one step
        return (select(DiaryEntry.diary_date)
                .where(DiaryEntry.patient_id == Patient.id, _diary_dated(last=end), *where)
                .order_by(DiaryEntry.diary_date.desc()).limit(1)
                .scalar_subquery())

    spans = session.execute(
        select(Patient.id, last_day(), last_day(text(f"({BP_RECORDED})"))).where(among(session, Patient.id, patient_ids))).all()
    rows = [(pid, *windows.get(pid, (None, None, 0)), last, bp) for pid, last, bp in spans if last is not None]
    frame = _frame(rows, DIARY_FIGURES, dates=("last_entry", "last_bp"),
                   floats=("mean_pain_14d", "mean_pain_prev_14d"))
    return frame.astype({"diary_days_30d": "int64"})


def visits(session: Session, patient_ids: list[int], since: date | None = None) -> pd.DataFrame:
    """The patients' visits (``queries.visits_frame``'s columns and ``patient_id``): every one, or
    with ``since`` those from that day on and every booked one, all that the next and overdue
    visits (``review.next_visits``/``overdue_visits``) and a range from ``since`` read, so the
    visits held before it, which grow with the years, are not read at all."""
    query = select(Visit.patient_id, Visit.id, Visit.date, Visit.kind, Visit.note, Visit.status).where(
        among(session, Visit.patient_id, patient_ids), _dated(Visit.date, fields.PLAN))
    if since is not None:
        query = query.where(or_(Visit.date >= since, Visit.status == "booked"))
    rows = session.execute(query.order_by(Visit.date)).all()
    return _frame(rows, ["patient_id", *VISIT_COLUMNS], dates=("date",))


def clinicians(session: Session, patient_ids: list[int]) -> dict[int, list[str]]:
    """The clinicians each patient is shared with (display names), for the clinician filter."""
    out: dict[int, list[str]] = {}
    for pid, name in session.execute(
            select(PatientShare.patient_id, Clinician.display_name)
            .join(Clinician, Clinician.id == PatientShare.clinician_id)
            .where(among(session, PatientShare.patient_id, patient_ids), Clinician.role == "clinician")
            .order_by(Clinician.display_name)):
        out.setdefault(pid, []).append(name)
    return out


# --- the clinic's visit list (staff): who, when, kind, diary days; no clinical figure -------------

def booked_visits(session: Session, until: date) -> pd.DataFrame:
    """Every patient's visits booked up to ``until`` (the past ones are overdue: never recorded as
    held), with the patient's reference and name, by date."""
    rows = session.execute(
        select(Visit.patient_id, Patient.ref, Patient.name, Visit.id, Visit.date, Visit.kind)
        .join(Patient, Patient.id == Visit.patient_id)
        .where(Visit.status == "booked", Visit.date <= until, _dated(Visit.date, fields.PLAN))
        .order_by(Visit.date, Patient.ref, Visit.id)).all()
    return _frame(rows, ["patient_id", "ref", "name", "visit_id", "date", "kind"], dates=("date",))


def diary_days(session: Session, patient_ids: list[int], as_of: date) -> dict[int, int]:
    """Per patient: the days with a diary entry in the ``COMPLETENESS_DAYS`` up to ``as_of`` (as
    the worklist's ``diary_days_30d``); a patient without one is absent."""
    first = as_of - timedelta(days=COMPLETENESS_DAYS - 1)
    return dict(session.execute(
        select(DiaryEntry.patient_id, func.count(func.distinct(DiaryEntry.diary_date)))
        .where(among(session, DiaryEntry.patient_id, patient_ids), _diary_dated(first, as_of))
        .group_by(DiaryEntry.patient_id)).all())
