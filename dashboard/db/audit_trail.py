"""Reading the audit trail for the administrators' page: filter, count, list (never names).

A filter on an action also finds the rows stored under its older spelling
(``dashboard.audit_actions.LEGACY``): the table is append-only, so old rows keep theirs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd
from sqlalchemy import Select, false, func, or_, select
from sqlalchemy.orm import Session

from dashboard import patient_ref as patient_refs
from dashboard.audit_actions import LEGACY, AuditAction, spellings
from dashboard.db.models import AuditEvent, Patient

COLUMNS = ["at (UTC)", "who", "action", "patient", "outcome", "detail"]
SHOWN = 1000  # rows on screen; the export has every matching row
EXPORT_MAX = 200_000


@dataclass(frozen=True)
class TrailFilter:
    """What the administrator asked for; empty means any."""

    actor: str = ""
    actions: tuple[str, ...] = ()
    patient_ref: str = ""
    outcomes: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None  # inclusive


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(query: Select, session: Session, f: TrailFilter) -> Select:
    if f.actor:
        query = query.where(AuditEvent.actor == f.actor)
    if f.actions:
        query = query.where(AuditEvent.action.in_(spellings(f.actions)))
    if f.outcomes:
        query = query.where(AuditEvent.outcome.in_(f.outcomes))
    if f.start:
        query = query.where(AuditEvent.at >= datetime.combine(f.start, time.min))
    if f.end:
        query = query.where(AuditEvent.at < datetime.combine(f.end + timedelta(days=1), time.min))
    if f.patient_ref:
        # Views carry the patient's id; refusals, exports and imports name the reference in the detail.
        ref = patient_refs.lookup(f.patient_ref)  # the one rule (dashboard.patient_ref): ＤＥＭＯ-001 is DEMO-001
        if ref is None:
            return query.where(false())  # no patient can have this reference
        patient_id = session.scalar(select(Patient.id).where(Patient.ref == ref))
        named = AuditEvent.detail.like(f'%"{_like_literal(ref)}"%', escape="\\")
        query = query.where(or_(AuditEvent.patient_id == patient_id, named) if patient_id else named)
    return query


def events_frame(session: Session, f: TrailFilter, *, limit: int = SHOWN) -> pd.DataFrame:
    """The newest matching events first, with the patient's reference (never the name)."""
    query = (
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, Patient.ref, AuditEvent.outcome, AuditEvent.detail)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    rows = session.execute(_where(query, session, f)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)


def count_events(session: Session, f: TrailFilter) -> int:
    return session.scalar(_where(select(func.count(AuditEvent.id)), session, f))


def action_choices(session: Session) -> list[str]:
    """Every action of the enumeration, and any other string found stored; a legacy spelling
    is offered under its new name, which finds both."""
    stored = set(session.scalars(select(AuditEvent.action).distinct()))
    return sorted({str(a) for a in AuditAction} | (stored - set(LEGACY)))


def outcome_choices(session: Session) -> list[str]:
    return list(session.scalars(select(AuditEvent.outcome).distinct().order_by(AuditEvent.outcome)))
