"""Read queries that return DataFrames: the contract between the store and analysis.

Dates come back as pandas datetime64 at midnight (``diary_date``, ``start_date``...),
missing values as NaN/NaT, never 0.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from dashboard import fields
from dashboard import patient_ref as patient_refs
from dashboard.db.models import (
    DIARY_MEASURES,
    DIARY_TEXTS,
    CoMedication,
    DiaryEntry,
    ImportRecord,
    Measure,
    Patient,
    PatientShare,
    Setting,
    SideEffect,
    TitrationStep,
    Visit,
)
from dashboard.db.revisions import revisions
from dashboard.db.sql import among  # noqa: F401  (queries.among: the name other modules use)

DIARY_COLUMNS = ["entry_id", "recorded_at", "utc_offset_minutes", "diary_date", *DIARY_MEASURES, *DIARY_TEXTS, "source", "import_id"]
SIDE_EFFECT_COLUMNS = ["entry_id", "diary_date", "effect", "severity"]
STEP_COLUMNS = ["step_id", "start_date", "end_date", "dose_mg", "frequency", "max_per_day", "route", "note", "status"]
VISIT_COLUMNS = ["visit_id", "date", "kind", "note", "status"]
MEASURE_COLUMNS = ["recorded_at", "diary_date", "instrument", "system", "code", "name", "value", "answer_code",
                   "answer_text", "answer_position", "unit", "source", "import_id", "reference_low", "reference_high"]
COMEDICATION_COLUMNS = ["name", "rxnorm", "drug_class", "start_date", "end_date", "status", "dose_text", "source",
                        "start_precision", "end_precision"]


def _frame(rows, columns: list[str], dates: tuple[str, ...] = (), floats: tuple[str, ...] = ()) -> pd.DataFrame:
    df = pd.DataFrame([tuple(r) for r in rows], columns=columns)
    for col in dates:
        df[col] = pd.to_datetime(df[col]).astype("datetime64[ns]")
    for col in floats:
        df[col] = pd.to_numeric(df[col]).astype("float64")
    return df


def _dated(column, limits: fields.DateRange, *, optional: bool = False):
    """Rows dated within ``dashboard.fields``: a row stored outside them (an old database, a
    hand edit) is left out of every frame, so it cannot crash the review, the charts or the
    export (pandas cannot even hold a date before 1677), rather than being half-shown. This
    is the one place the review applies the limits."""
    within = column.between(fields.EARLIEST, limits.latest())
    return or_(column.is_(None), within) if optional else within


def _diary_dated(first: date | None = None, last: date | None = None):
    """Diary entries within ``fields.DIARY`` by both their day and their time (a time on the
    last day counts: compared as datetimes, not with the date's midnight); with ``first`` or
    ``last``, only the days from ``first`` to ``last`` of those, as one range on ``diary_date``
    (given as two ranges, SQLite may seek the index with the wider one and read a whole diary)."""
    latest = fields.DIARY.latest()
    end = datetime.combine(latest + timedelta(days=1), time.min)
    days = DiaryEntry.diary_date.between(max(first or fields.EARLIEST, fields.EARLIEST), min(last or latest, latest))
    return and_(days, DiaryEntry.recorded_at >= datetime.combine(fields.EARLIEST, time.min), DiaryEntry.recorded_at < end)


def patient_by_ref(session: Session, ref: str | None) -> Patient | None:
    """The patient ``ref`` names as ``dashboard.patient_ref`` reads it (``ＤＥＭＯ-001`` is DEMO-001);
    None when there is none or ``ref`` cannot be a reference (a NUL, a line break, ...)."""
    key = patient_refs.lookup(ref)
    return session.scalar(select(Patient).where(Patient.ref == key)) if key is not None else None


def diary_frame(session: Session, patient_id: int) -> pd.DataFrame:
    """One row per diary entry, ordered by time."""
    cols = [DiaryEntry.id, DiaryEntry.recorded_at, DiaryEntry.utc_offset_minutes, DiaryEntry.diary_date]
    cols += [getattr(DiaryEntry, m) for m in (*DIARY_MEASURES, *DIARY_TEXTS)]
    cols += [DiaryEntry.source, DiaryEntry.import_id]
    rows = session.execute(
        select(*cols).where(DiaryEntry.patient_id == patient_id, _diary_dated())
        .order_by(DiaryEntry.recorded_at)
    ).all()
    return _frame(rows, DIARY_COLUMNS, dates=("recorded_at", "diary_date"), floats=DIARY_MEASURES)


def side_effects_frame(session: Session, patient_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(SideEffect.entry_id, DiaryEntry.diary_date, SideEffect.effect, SideEffect.severity)
        .join(DiaryEntry, DiaryEntry.id == SideEffect.entry_id)
        .where(DiaryEntry.patient_id == patient_id, _diary_dated())
        .order_by(DiaryEntry.recorded_at, SideEffect.effect)
    ).all()
    df = _frame(rows, SIDE_EFFECT_COLUMNS, dates=("diary_date",))
    df["severity"] = df["severity"].astype("int64")
    return df


def titration_frame(session: Session, patient_id: int, include_proposed: bool = False) -> pd.DataFrame:
    """The prescribed steps; FHIR-proposed steps only when asked (they await a clinician's review)."""
    query = select(
        TitrationStep.id,
        TitrationStep.start_date,
        TitrationStep.end_date,
        TitrationStep.dose_mg,
        TitrationStep.frequency,
        TitrationStep.max_per_day,
        TitrationStep.route,
        TitrationStep.note,
        TitrationStep.status,
    ).where(
        TitrationStep.patient_id == patient_id,
        _dated(TitrationStep.start_date, fields.PLAN),
        _dated(TitrationStep.end_date, fields.PLAN, optional=True),
        # A step that ends before it starts has no days: left out, as the importers refuse it.
        or_(TitrationStep.end_date.is_(None), TitrationStep.end_date >= TitrationStep.start_date),
    )
    if not include_proposed:
        query = query.where(TitrationStep.status == "active")
    rows = session.execute(query.order_by(TitrationStep.start_date, TitrationStep.id)).all()
    return _frame(rows, STEP_COLUMNS, dates=("start_date", "end_date"), floats=("dose_mg", "max_per_day"))


def visits_frame(session: Session, patient_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(Visit.id, Visit.date, Visit.kind, Visit.note, Visit.status)
        .where(Visit.patient_id == patient_id, _dated(Visit.date, fields.PLAN)).order_by(Visit.date)
    ).all()
    return _frame(rows, VISIT_COLUMNS, dates=("date",))


def comedications_frame(session: Session, patient_id: int) -> pd.DataFrame:
    rows = session.execute(
        select(
            CoMedication.name,
            CoMedication.rxnorm,
            CoMedication.drug_class,
            CoMedication.start_date,
            CoMedication.end_date,
            CoMedication.status,
            CoMedication.dose_text,
            CoMedication.source,
            CoMedication.start_precision,
            CoMedication.end_precision,
        )
        .where(CoMedication.patient_id == patient_id,
               _dated(CoMedication.start_date, fields.PLAN, optional=True),  # None: start unknown
               _dated(CoMedication.end_date, fields.PLAN, optional=True))
        .order_by(CoMedication.start_date, CoMedication.name)
    ).all()
    return _frame(rows, COMEDICATION_COLUMNS, dates=("start_date", "end_date"))


def measures_frame(session: Session, patient_id: int) -> pd.DataFrame:
    """A patient's measures (instruments and other observations), oldest first; ``diary_date`` is
    the patient's local date, as for diary entries."""
    end = datetime.combine(fields.DIARY.latest() + timedelta(days=1), time.min)
    rows = session.execute(
        select(Measure.recorded_at, Measure.recorded_at, Measure.instrument, Measure.system, Measure.code,
               Measure.name, Measure.value, Measure.answer_code, Measure.answer_text, Measure.answer_position,
               Measure.unit, Measure.source, Measure.import_id, Measure.reference_low, Measure.reference_high)
        .where(Measure.patient_id == patient_id, Measure.recorded_at >= datetime.combine(fields.EARLIEST, time.min),
               Measure.recorded_at < end)
        .order_by(Measure.recorded_at, Measure.code)
    ).all()
    df = _frame(rows, MEASURE_COLUMNS, dates=("recorded_at", "diary_date"),
                floats=("value", "reference_low", "reference_high"))
    df["diary_date"] = df["diary_date"].dt.normalize()
    return df


def imports_frame(session: Session, patient_ref: str) -> pd.DataFrame:
    """The imports that touched a patient: where the data on screen came from. Only files that
    brought rows: refused and nothing-to-import attempts are kept too (import-formats.md v2), but
    they are listed on the import page, not as sources of the review."""
    rows = session.execute(
        select(
            ImportRecord.id,
            ImportRecord.file_name,
            ImportRecord.format,
            ImportRecord.imported_at,
            ImportRecord.imported_by,
            ImportRecord.entries_added,
            ImportRecord.patients,
        ).where(ImportRecord.status == "imported").order_by(ImportRecord.imported_at)
    ).all()
    kept = [r[:-1] for r in rows if patient_ref in (r[-1] or [])]
    return _frame(
        kept,
        ["import_id", "file_name", "format", "imported_at", "imported_by", "entries_added"],
        dates=("imported_at",),
    )


def patients_frame(session: Session, patient_ids: list[int] | None = None) -> pd.DataFrame:
    """Patients with their diary span, for the patient list."""

    span = (
        select(
            DiaryEntry.patient_id,
            func.count(DiaryEntry.id).label("entries"),
            func.min(DiaryEntry.diary_date).label("first_entry"),
            func.max(DiaryEntry.diary_date).label("last_entry"),
        )
        .group_by(DiaryEntry.patient_id)
        .subquery()
    )
    query = select(
        Patient.id, Patient.ref, Patient.name, Patient.birth_year, Patient.condition, Patient.birth_date,
        span.c.entries, span.c.first_entry, span.c.last_entry,
    ).outerjoin(span, span.c.patient_id == Patient.id)
    if patient_ids is not None:
        query = query.where(or_(Patient.id.in_(patient_ids), False))
    rows = session.execute(query.order_by(Patient.ref)).all()
    df = _frame(
        rows,
        ["patient_id", "ref", "name", "birth_year", "condition", "birth_date", "entries", "first_entry", "last_entry"],
        dates=("first_entry", "last_entry"),
    )
    df["entries"] = df["entries"].fillna(0).astype("int64")
    return df


def data_version(session: Session, patient_id: int) -> tuple:
    """A cheap fingerprint of everything a patient's review reads, for caching the review:
    ``data_versions`` for one patient, so the review's cache and the worklist's snapshots
    (``db.snapshots``) cannot disagree on whether something changed."""
    return data_versions(session, [patient_id])[patient_id]


def data_versions(session: Session, patient_ids: list[int]) -> dict[int, tuple]:
    """``data_version`` of many patients in one query on one row per patient, however long their
    diaries: each patient's revision (``db.revisions``), which every writer of what the review
    reads raises in its own transaction (imports and their conflict decisions, the step and
    visit forms, proposed-step decisions, flag acknowledgements), whichever process or server
    made the change. It used to be row counts and highest ids of six tables, which grew with
    years of diary and missed a conflict decided by taking the file's values.
    """
    return {pid: (revision,) for pid, revision in revisions(session, patient_ids).items()}


def clinic_version(session: Session) -> tuple:
    """A fingerprint of what the unversioned lists read (imports, patients, shares, settings).

    Part of their cache keys, so a change made through another server process is a new cache
    entry on this one at once, not after a time-to-live: one aggregate query per page run.
    """


    parts = [func.count(ImportRecord.id), func.max(ImportRecord.id)], [func.count(Patient.id), func.max(Patient.id)], \
        [func.count(PatientShare.patient_id), func.max(PatientShare.shared_at)], \
        [func.count(Setting.key), func.max(Setting.updated_at)]
    columns = [select(column).scalar_subquery() for part in parts for column in part]
    return tuple(session.execute(select(*columns)).one())
