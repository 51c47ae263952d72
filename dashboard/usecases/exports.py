"""A patient's data leaving the dashboard: the diary as CSV, the patient as FHIR, the pre-visit
report, the summary and the note. Each is only for a patient shared with the user, and audited
as an export, a report or a summary; a refusal is audited and raises ``NotAllowed``. The
worklist and the clinic's visit list leave as CSV (spreadsheet-safe), audited as exports.

The page's downloads (``diary_csv``, ``patient_fhir``, ``pre_visit_report``) and the command
line's (``export_patient``, ``patient_review``, ``report_data``) write the audit rows they always
wrote (the page's name what it exported and how many rows; the command's name its options).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, PatientInfo, User, as_user, audit_name
from dashboard.stored.review import patient_review as _patient_review
from dashboard.audit_actions import AuditAction
from dashboard.db import audit
from dashboard.db.models import Patient
from dashboard.db.queries import patient_by_ref
from dashboard.analysis import worklist_table as wt
from dashboard.analysis.visit_list import visit_csv_frame
from dashboard.ingest.export import export_patient_csv, spreadsheet_csv
from dashboard.stored.visit_list import clinic_visits
from dashboard.stored.worklist import worklist as build_worklist
from dashboard.ingest.fhir_export import export_patient_fhir
from dashboard.report import report_pdf
from dashboard.stored.review import report_data as _report_data
from dashboard.usecases.guard import guarded, refuse


def _shared(session: Session, actor: User, ref: str):
    patient = patient_by_ref(session, ref)
    return patient, patient is not None and access.can_open_patient(session, actor, patient.id)


# --- the review page's downloads ------------------------------------------------------------------

def diary_csv(session: Session, actor: User, patient_ref: str) -> bytes:
    """The patient's diary as the command line's ``export`` writes it (spreadsheet-safe: a cell
    that starts like a formula gets a leading quote), with a UTF-8 byte order mark so that a
    spreadsheet reads it as UTF-8 (the importer reads it either way)."""
    detail = {"patient": patient_ref, "format": "csv", "what": "diary"}
    patient, allowed = _shared(session, actor, patient_ref)
    with guarded(session, actor, AuditAction.EXPORT, allowed, denied_detail=detail) as done:
        text = export_patient_csv(session, patient_ref)
        done.patient_id, done.detail = patient.id, {**detail, "rows": _csv_rows(text), "via": "page"}
    return text.encode("utf-8-sig")


def _csv_rows(text: str) -> int:
    """Diary rows in the file (a note may hold a line break inside its quotes)."""
    return sum(1 for _ in csv.reader(io.StringIO(text))) - 1


def patient_fhir(session: Session, actor: User, patient_ref: str) -> bytes:
    """The patient as a FHIR R4 Bundle (UTF-8 JSON), audited as an export with its format."""
    detail = {"patient": patient_ref, "format": "fhir"}
    patient, allowed = _shared(session, actor, patient_ref)
    with guarded(session, actor, AuditAction.EXPORT, allowed, detail=detail,
                 denied_patient_id=patient.id if patient else None) as done:
        text = export_patient_fhir(session, patient_ref)
        done.patient_id = patient.id
    return text.encode("utf-8")


def pre_visit_report(session: Session, actor: User, patient: PatientInfo, review, *, visits: pd.DataFrame,
                     imports: pd.DataFrame) -> bytes:
    """The review as a PDF, when the user clicks for it: the patient must still be shared with the
    user (a refusal is audited), and the report is audited like a view of the patient.

    Runs in Streamlit's download thread (no script context), so it takes what the page already
    holds; the check's transaction ends before the PDF is drawn, and the audit row is written in
    the next one (no transaction is held open while drawing).
    """
    allowed = access.can_open_patient(session, actor, patient.id)
    if not allowed:
        refuse(session, actor, AuditAction.REPORT, detail={"ref": patient.ref})
    session.commit()  # ends the check's transaction (and its connection) before drawing
    pdf = report_pdf(review, visits=visits, imports=imports)
    audit.record(session, actor=actor.username, action=AuditAction.REPORT, patient_id=patient.id,
                 detail={"ref": patient.ref, "as_of": f"{review.as_of:%Y-%m-%d}"})
    return pdf


# --- the command line's reads of one patient ------------------------------------------------------

def _patient_read(session: Session, actor: Actor, ref: str, action: str, detail: dict,
                  read: Callable[[Session], object]):
    """``read(session)`` for the patient ``ref`` after the access check, audited.

    A ``User`` (``--as``) must have the patient shared with them, exactly as on the review page;
    the ``Operator`` can read the database directly anyway. ``read`` raises LookupError for an
    unknown reference (the operator's only refusal; nothing is audited then)."""
    detail = {"patient": ref, **detail}
    user = as_user(actor)
    if user is not None:
        patient, allowed = _shared(session, user, ref)
        if not allowed:
            refuse(session, actor, action, detail=detail,
                   message=f"{action}: patient {ref!r} is not available to {user.username!r}")
    result = read(session)
    patient = patient_by_ref(session, ref)
    audit.record(session, actor=audit_name(actor), action=action, patient_id=patient.id if patient else None,
                 detail=detail)
    return result


def export_patient(session: Session, actor: Actor, patient_ref: str, fmt: str) -> str:
    """The patient's diary (``csv``) or the patient as a FHIR R4 Bundle (``fhir``), as text."""
    export = export_patient_fhir if fmt == "fhir" else export_patient_csv
    return _patient_read(session, actor, patient_ref, AuditAction.EXPORT, {"format": fmt},
                         lambda s: export(s, patient_ref))


def patient_review(session: Session, actor: Actor, patient_ref: str, *, as_of: date | None, note: bool):
    """The patient's review, for ``summary --json`` (its numbers) or ``--note`` (the note)."""
    detail = {"as_of": as_of.isoformat() if as_of else None, "format": "note" if note else "json"}
    return _patient_read(session, actor, patient_ref, AuditAction.SUMMARY, detail,
                         lambda s: _patient_review(s, patient_ref, as_of=as_of))


def report_data(session: Session, actor: Actor, patient_ref: str, *, as_of: date | None):
    """What the pre-visit report reads (the Review, visits, imports); the caller draws the PDF after
    its unit of work has closed."""
    return _patient_read(session, actor, patient_ref, AuditAction.REPORT,
                         {"as_of": as_of.isoformat() if as_of else None},
                         lambda s: _report_data(s, patient_ref, as_of=as_of))


# --- the worklist and the clinic's visit list as CSV ------------------------------------------------

WORKLIST_CSV_COLUMNS = {"ref": "Patient reference", **wt.COLUMNS}


def worklist_csv(session: Session, actor: Actor, *, as_of: date, start: date, end: date, everyone: bool,
                 conditions=(), flags=(), clinicians=(), order: str | None = None) -> bytes:
    """The worklist as the page shows it (the same patients, filters and order: the patients shared
    with the user, every patient for the operator), as a spreadsheet-safe CSV, audited as an export
    naming every patient in it."""
    user = as_user(actor)
    ids = sorted(session.scalars(select(Patient.id))) if user is None else access.visible_patient_ids(session, user)
    rows = build_worklist(session, patient_ids=ids, as_of=as_of, start=start, end=end, everyone=everyone)
    shown = wt.SORTS.get(order, wt.attention_order)(wt.filtered(rows, conditions=conditions, flags=flags,
                                                                clinicians=clinicians))
    frame = wt.table(shown, as_of)
    frame.insert(0, "ref", [r.ref for r in shown])
    detail = {"what": "worklist", "format": "csv", "patients": [r.ref for r in shown], "as_of": as_of.isoformat(),
              "from": start.isoformat(), "to": end.isoformat(), "all": everyone}
    with guarded(session, actor, AuditAction.EXPORT, True, detail=detail):
        return spreadsheet_csv(frame.rename(columns=WORKLIST_CSV_COLUMNS))


def visit_list_csv(session: Session, actor: Actor, *, as_of: date, start: date, end: date) -> bytes:
    """The clinic's visit list (staff: ``access.sees_clinic_visits``; the operator) as a
    spreadsheet-safe CSV, audited as an export naming its patients; anyone else is refused."""
    user = as_user(actor)
    allowed = user is None or access.sees_clinic_visits(user)
    detail = {"what": "visit list", "format": "csv", "as_of": as_of.isoformat(), "from": start.isoformat(),
              "to": end.isoformat()}
    with guarded(session, actor, AuditAction.EXPORT, allowed, detail=detail,
                 message="The clinic's visit list is the front desk's; it was not downloaded.") as done:
        rows = clinic_visits(session, as_of=as_of, start=start, end=end)
        done.detail = {**detail, "patients": sorted({r.ref for r in rows}), "visits": len(rows)}
        return spreadsheet_csv(visit_csv_frame(rows))
