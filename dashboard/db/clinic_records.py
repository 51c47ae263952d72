"""Changes a clinician makes to a patient's clinic records, each audited in the same transaction."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.access import can_open_patient
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import User
from dashboard.db import audit
from dashboard.db.models import TitrationStep


class RecordError(ValueError):
    pass


def decide_proposed_step(session: Session, *, user: User, patient_id: int, step_id: int, accept: bool) -> TitrationStep:
    """Accept a step read from an imported prescription (it then counts) or reject it (kept, ignored).

    A proposed step never counts on its own: a FHIR MedicationRequest says what was ordered,
    not that the clinic's titration followed it. Only someone who may open the patient
    decides (``dashboard.access``); anyone else gets ``PermissionError`` after a "denied" audit
    row, committed before the raise so that it stays in the trail.
    """
    if not can_open_patient(session, user, patient_id):
        audit.record(session, actor=user.username, action=AuditAction.RECORD_CHANGE, patient_id=patient_id,
                     outcome="denied", detail={"titration_step": step_id})
        session.commit()
        raise PermissionError("This patient is no longer shared with you; nothing was changed.")
    actor = user.username
    step = session.get(TitrationStep, step_id)
    if step is None or step.patient_id != patient_id or step.status != "proposed":
        raise RecordError("this proposed step no longer exists or was already decided")
    if accept:
        clash = session.scalar(select(TitrationStep.id).where(
            TitrationStep.patient_id == patient_id, TitrationStep.start_date == step.start_date,
            TitrationStep.route == step.route, TitrationStep.status == "active"))
        if clash is not None:
            raise RecordError(f"a {step.route} step starting {step.start_date} is already recorded; "
                              "change the clinic records instead")
    step.status = "active" if accept else "rejected"
    audit.record(session, actor=actor, action=AuditAction.RECORD_CHANGE, patient_id=patient_id,
                 detail={"titration_step": step_id, "decision": step.status, "start": step.start_date,
                         "dose_mg": step.dose_mg})
    session.flush()
    return step
