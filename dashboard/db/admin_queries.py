"""What the Accounts page reads: accounts and patient references (never names or data).

HIPAA 45 CFR 164.502(b), minimum necessary: sharing needs no more than the reference.
"""

from __future__ import annotations

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard import patient_ref as ref_rule
from dashboard.db.models import Clinician, Patient, PatientShare


def accounts_frame(session: Session) -> pd.DataFrame:
    rows = session.execute(
        select(Clinician.username, Clinician.display_name, Clinician.role, Clinician.clinic_lead, Clinician.active,
               Clinician.oidc_subject.is_not(None), Clinician.locked_until).order_by(Clinician.username)
    ).all()
    return pd.DataFrame(
        [(u, name, role, "yes" if lead and role == "clinician" else "", "active" if active else "disabled",
          "identity provider" if oidc else "password", locked)
         for u, name, role, lead, active, oidc, locked in rows],
        columns=["user name", "name", "role", "clinic lead", "status", "login", "locked until (UTC)"],
    )


def shared_refs(session: Session, username: str) -> list[str]:
    return list(session.scalars(
        select(Patient.ref).join(PatientShare, PatientShare.patient_id == Patient.id)
        .join(Clinician, Clinician.id == PatientShare.clinician_id)
        .where(Clinician.username == username).order_by(Patient.ref)
    ))


def patient_refs(session: Session) -> list[str]:
    return list(session.scalars(select(Patient.ref).order_by(Patient.ref)))


def patient_id_of(session: Session, ref: str) -> int | None:
    key = ref_rule.lookup(ref)  # one rule for every look-up: dashboard.patient_ref
    return session.scalar(select(Patient.id).where(Patient.ref == key)) if key is not None else None
