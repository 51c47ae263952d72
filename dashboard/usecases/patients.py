"""Opening a patient, the patient list, the worklist and the cohort.

``dashboard.loaders`` caches what these return for the pages; the command line calls them
directly. An unknown reference and a patient not shared answer alike, so a reference in a URL
reveals nothing about who is a patient here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, PatientInfo, User, as_user, audit_name
from dashboard.analysis.cohort import Cohort, build_cohort
from dashboard.stored.review import stored_review
from dashboard.analysis.worklist import WorklistRow
from dashboard.stored.worklist import worklist as build_worklist
from dashboard.analysis.visit_list import VisitListRow
from dashboard.stored.visit_list import clinic_visits as read_clinic_visits
from dashboard.audit_actions import AuditAction
from dashboard.db import audit, queries
from dashboard.db import worklist_queries
from dashboard.db.models import Patient
from dashboard.db.settings_store import load_thresholds
from dashboard.usecases.guard import NotAllowed, guarded, refuse


def open_patient(session: Session, actor: User, ref: str, *, audit_view: bool = True) -> PatientInfo | None:
    """The patient if shared with ``actor``, else None; every opening and every refusal is audited."""
    patient = queries.patient_by_ref(session, ref) if _queryable(ref) else None
    if patient is None or not access.can_open_patient(session, actor, patient.id):
        try:
            refuse(session, actor, AuditAction.VIEW_PATIENT, detail={"ref": _storable(ref)})
        except NotAllowed:
            return None  # the page says why; the refusal is in the trail
    if audit_view:
        audit.record(session, actor=actor.username, action=AuditAction.VIEW_PATIENT, patient_id=patient.id,
                     detail={"ref": ref})
    return PatientInfo(patient.id, patient.ref, patient.name, patient.birth_year, patient.condition,
                       patient.birth_date)


def _queryable(ref: str) -> bool:
    """A NUL, as an address can carry (``/review?patient=DEMO-001%00``), names no patient: PostgreSQL
    refuses it in any text, so it must not reach the query (an error and a traceback, not a refusal)."""
    return "\x00" not in ref


def _storable(ref: str) -> str:
    """The reference as the audit trail can keep it (the NUL shown as U+FFFD)."""
    return ref.replace("\x00", "\ufffd")


def require_open(session: Session, actor: User, patient: PatientInfo) -> None:
    """Before any cached read of an opened patient: still shared with the user, or ``NotAllowed``
    after a "denied" row (the opening itself was audited by ``open_patient``)."""
    if not access.can_open_patient(session, actor, patient.id):
        refuse(session, actor, AuditAction.VIEW_PATIENT, detail={"ref": patient.ref})


def patient_list(session: Session, actor: User) -> pd.DataFrame:
    """The patients shared with the user (their own shares: not audited)."""
    return queries.patients_frame(session, access.visible_patient_ids(session, actor))


# --- the worklist --------------------------------------------------------------------------------

def worklist(session: Session, actor: Actor, *, as_of: date, start: date, end: date, everyone: bool,
             review_of: Callable | None = None, audit_view: bool = True,
             audit_empty: bool = False) -> list[WorklistRow]:
    """The worklist rows of the patients shared with a user (``dashboard.access``), or of every
    patient for the operator, audited as one view listing every patient shown.

    ``review_of`` builds a stale patient's review (the pages pass their per-process review
    cache); ``analysis.worklist`` stores the new snapshots (a derived cache, not audited). An
    empty list shows no patient's data and is audited only with ``audit_empty`` (the command
    line audits every run).
    """
    user = as_user(actor)
    ids = sorted(session.scalars(select(Patient.id))) if user is None else access.visible_patient_ids(session, user)
    rows = build_worklist(session, patient_ids=ids, as_of=as_of, start=start, end=end, everyone=everyone,
                          review_of=review_of)
    with guarded(session, actor, AuditAction.VIEW_WORKLIST, True,
                 audit_success=audit_view and (bool(rows) or audit_empty),
                 detail={"patients": [r.ref for r in rows], "as_of": as_of.isoformat(), "from": start.isoformat(),
                         "to": end.isoformat(), "all": everyone}):
        return rows


# --- the clinic's visit list (the front desk) -----------------------------------------------------

VISIT_LIST_REFUSED = ("The clinic's visit list is the front desk's. Your worklist lists the patients shared with "
                      "you.")


@dataclass(frozen=True)
class ClinicVisits:
    """The booked and overdue visits across the clinic (no clinical figure), and the patients the
    user may book a visit for (id -> "name · reference")."""

    rows: list[VisitListRow]
    bookable: dict[int, str]


def clinic_visits(session: Session, actor: Actor, *, as_of: date, start: date, end: date,
                  audit_view: bool = True) -> ClinicVisits:
    """Staff's worklist (``dashboard.access.sees_clinic_visits``; the operator too): every booked
    visit from ``start`` to ``end`` and every overdue one, with who, when, kind and diary days,
    audited as one view listing the patients shown. Anyone else is refused (audited)."""
    user = as_user(actor)
    allowed = user is None or access.sees_clinic_visits(user)
    detail = {"list": "visits", "as_of": as_of.isoformat(), "from": start.isoformat(), "to": end.isoformat()}
    with guarded(session, actor, AuditAction.VIEW_WORKLIST, allowed, detail=detail, message=VISIT_LIST_REFUSED,
                 audit_success=audit_view) as done:
        rows = read_clinic_visits(session, as_of=as_of, start=start, end=end)
        ids = sorted(session.scalars(select(Patient.id))) if user is None else access.visit_patient_ids(session, user)
        who = worklist_queries.patients(session, ids)
        bookable = {int(pid): f"{name if isinstance(name, str) else 'name not recorded'} · {ref}"
                    for pid, ref, name in zip(who["patient_id"], who["ref"], who["name"])}
        done.detail = {**detail, "patients": sorted({r.ref for r in rows}), "visits": len(rows)}
        return ClinicVisits(rows=rows, bookable=bookable)


# --- the cohort ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class CohortMembers:
    """The patients a cohort view aggregates (``access.cohort_patient_ids``), their data versions,
    which of them the user may open, and the scope in words."""

    ids: list[int]
    versions: dict[int, tuple]
    openable_refs: set[str]
    scope: str


def cohort_members(session: Session, actor: User, as_of: date, *, audit_view: bool = True) -> CohortMembers:
    """Whom the page's cohort covers, audited as one view of many patients (their count and the
    scope); the page then builds each review from its cache and ``build_cohort``."""
    ids = access.cohort_patient_ids(session, actor)
    openable = set(access.visible_patient_ids(session, actor))
    versions = queries.data_versions(session, ids)  # grouped: a handful of queries for the whole cohort
    openable_refs = {p.ref for p in session.scalars(select(Patient).where(Patient.id.in_(list(openable))))}
    scope = access.cohort_scope(actor)
    with guarded(session, actor, AuditAction.VIEW_COHORT, True, audit_success=audit_view,
                 detail={"patients": len(ids), "scope": scope, "as_of": as_of.isoformat()}):
        return CohortMembers(ids=ids, versions=versions, openable_refs=openable_refs, scope=scope)


def cohort(session: Session, actor: Actor, as_of: date) -> tuple[Cohort, str]:
    """The cohort (figures only, no patient references) and its scope, each review built here:
    the command line's cohort, audited as one view of many patients."""
    user = as_user(actor)
    ids = access.cohort_patient_ids(session, user)
    limits = load_thresholds(session)
    patients = session.scalars(select(Patient).where(Patient.id.in_(ids)).order_by(Patient.id))
    result = build_cohort([stored_review(session, p, as_of=as_of, thresholds=limits) for p in patients])
    scope = access.cohort_scope(user)
    audit.record(session, actor=audit_name(actor), action=AuditAction.VIEW_COHORT,
                 detail={"patients": len(ids), "scope": scope, "as_of": as_of.isoformat()})
    return result, scope
