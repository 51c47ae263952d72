"""Acknowledged review flags: a clinician's note that a flag was seen.

review-metrics.md, "Flags": an acknowledged flag stays visible, marked with who acknowledged
it and when, and no longer counts as open; a later run of the same rule is a new flag. So a
flag is identified by its patient, its rule and the true start of its run (not the start
clipped to the review period), and ``flag_end`` only records what the clinician saw. The
rules are those of ``dashboard.analysis.flags.RULES``.
"""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from dashboard.access import can_open_patient
from dashboard.analysis.flags import RULES
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import User
from dashboard.db import audit, revisions
from dashboard.db.models import Clinician, FlagAcknowledgement
from dashboard.db.queries import _frame

NOTE_MAX_CHARS = 2000
ACTION = AuditAction.ACKNOWLEDGE_FLAG
ACKNOWLEDGEMENT_COLUMNS = ["rule", "flag_start", "flag_end", "note", "acknowledged_by", "acknowledged_at"]


class AcknowledgementError(ValueError):
    """An acknowledgement refused for what it says; the message is written for the clinician."""


def acknowledge_flag(
    session: Session, *, user: User, patient_id: int, rule: str, flag_start: date, flag_end: date, note: str
) -> FlagAcknowledgement:
    """Record that ``user`` acknowledged a flag, with one audit row in the same transaction.

    ``flag_start`` and ``flag_end`` may be dates or the midnight timestamps of a flags table.
    Raises ``AcknowledgementError`` (nothing written) for an unknown rule, an empty or too long
    note, dates out of order, or a flag acknowledged already (the message says by whom and when).

    Someone who may not see the patient gets ``PermissionError`` after a "denied" audit row.
    That row is committed with ``session.commit()`` before the raise, so it stays in the trail
    although ``session_scope`` rolls back on the exception; call this at the start of its own
    unit of work, since whatever the caller wrote before it is committed along with the denial.
    """
    if not can_open_patient(session, user, patient_id):
        audit.record(session, actor=user.username, action=ACTION, patient_id=patient_id, outcome="denied",
                     detail={"rule": rule, "flag_start": flag_start})
        session.commit()
        raise PermissionError("This patient is not shared with you; the flag was not acknowledged.")
    start, end, note = _checked(rule, flag_start, flag_end, note)
    earlier = _acknowledgement(session, patient_id, rule, start)
    if earlier is not None:
        raise AcknowledgementError(
            f"The {RULES[rule].name} flag from {start:%d %b %Y} was already acknowledged by "
            f"{_display_name(session, earlier.acknowledged_by)} on {earlier.acknowledged_at:%d %b %Y at %H:%M} UTC."
        )
    row = FlagAcknowledgement(patient_id=patient_id, rule=rule, flag_start=start, flag_end=end, note=note,
                              acknowledged_by=user.username,
                              acknowledged_at=datetime.now(timezone.utc).replace(tzinfo=None))
    session.add(row)
    try:
        session.flush()
    except IntegrityError as exc:  # acknowledged in another transaction since the check above
        raise AcknowledgementError(
            f"The {RULES[rule].name} flag from {start:%d %b %Y} was acknowledged by someone else a moment ago; "
            "reload the review to see their note."
        ) from exc
    revisions.bump(session, [patient_id])
    audit.record(session, actor=user.username, action=ACTION, patient_id=patient_id,
                 detail={"rule": rule, "flag_start": start.isoformat(), "flag_end": end.isoformat(), "note": note})
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


def _checked(rule: str, flag_start, flag_end, note) -> tuple[date, date, str]:
    if rule not in RULES:
        raise AcknowledgementError(f"{rule!r} is not a flag rule; the rules are {', '.join(RULES)}.")
    start, end = _calendar_date(flag_start, "start"), _calendar_date(flag_end, "end")
    if start > end:
        raise AcknowledgementError(f"The flag's start ({start:%d %b %Y}) is after its end ({end:%d %b %Y}).")
    note = note.strip() if isinstance(note, str) else ""
    if not note:
        raise AcknowledgementError("Write a note to acknowledge the flag: what you saw and what you did.")
    if len(note) > NOTE_MAX_CHARS:
        raise AcknowledgementError(f"The note has {len(note)} characters; keep it to {NOTE_MAX_CHARS}.")
    return start, end, note


def _calendar_date(value, which: str) -> date:
    # A flags table holds midnight timestamps (pd.Timestamp is a datetime, and a datetime a date).
    if isinstance(value, datetime):
        if pd.isna(value) or value.time() != time(0):
            raise AcknowledgementError(f"The flag's {which} must be a calendar day, not {value!r}.")
        return value.date()
    if isinstance(value, date):
        return value
    raise AcknowledgementError(f"The flag's {which} must be a calendar day, not {value!r}.")


def _acknowledgement(session: Session, patient_id: int, rule: str, start: date) -> FlagAcknowledgement | None:
    return session.scalar(select(FlagAcknowledgement).where(
        FlagAcknowledgement.patient_id == patient_id, FlagAcknowledgement.rule == rule,
        FlagAcknowledgement.flag_start == start))


def _display_name(session: Session, username: str) -> str:
    name = session.scalar(select(Clinician.display_name).where(Clinician.username == username))
    return name or username
