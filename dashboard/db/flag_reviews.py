"""Acknowledged review flags: a clinician's note that a flag was seen.

review-metrics.md, "Flags": an acknowledged flag stays visible, marked with who acknowledged
it and when, and no longer counts as open; a later run of the same rule is a new flag. So a
flag is identified by its patient, its rule and the true start of its run (not the start
clipped to the review period), and ``flag_end`` only records what the clinician saw. The
rules are those of ``dashboard.analysis.flag_rules.RULES``; checking an acknowledgement, asking
``dashboard.access`` and auditing it are ``dashboard.usecases.records``.
"""

from __future__ import annotations

from datetime import date, datetime, timezone

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard.db import revisions
from dashboard.db.models import Clinician, FlagAcknowledgement
from dashboard.db.queries import _frame

ACKNOWLEDGEMENT_COLUMNS = ["rule", "flag_start", "flag_end", "note", "acknowledged_by", "acknowledged_at"]


def add_acknowledgement(session: Session, *, patient_id: int, rule: str, flag_start: date, flag_end: date,
                        note: str, acknowledged_by: str) -> FlagAcknowledgement:
    """Store an acknowledgement (checked by the caller) and mark the patient's data as changed;
    ``IntegrityError`` when a concurrent one won (the unique constraint decides)."""
    row = FlagAcknowledgement(patient_id=patient_id, rule=rule, flag_start=flag_start, flag_end=flag_end, note=note,
                              acknowledged_by=acknowledged_by,
                              acknowledged_at=datetime.now(timezone.utc).replace(tzinfo=None))
    session.add(row)
    session.flush()
    revisions.bump(session, [patient_id])
    return row


def acknowledgements_frame(session: Session, patient_id: int) -> pd.DataFrame:
    """A patient's acknowledged flags, by start date; who acknowledged each by display name."""
    who = func.coalesce(func.nullif(Clinician.display_name, ""), FlagAcknowledgement.acknowledged_by)
    rows = session.execute(
        select(FlagAcknowledgement.rule, FlagAcknowledgement.flag_start, FlagAcknowledgement.flag_end,
               FlagAcknowledgement.note, who, FlagAcknowledgement.acknowledged_at)
        .outerjoin(Clinician, Clinician.username == FlagAcknowledgement.acknowledged_by)
        .where(FlagAcknowledgement.patient_id == patient_id)
        .order_by(FlagAcknowledgement.flag_start, FlagAcknowledgement.rule)
    ).all()
    return _frame(rows, ACKNOWLEDGEMENT_COLUMNS, dates=("flag_start", "flag_end", "acknowledged_at"))


def acknowledgement(session: Session, patient_id: int, rule: str, start: date) -> FlagAcknowledgement | None:
    return session.scalar(select(FlagAcknowledgement).where(
        FlagAcknowledgement.patient_id == patient_id, FlagAcknowledgement.rule == rule,
        FlagAcknowledgement.flag_start == start))


def display_name(session: Session, username: str) -> str:
    name = session.scalar(select(Clinician.display_name).where(Clinician.username == username))
    return name or username
