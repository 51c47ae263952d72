"""Who may do what: the one policy the use cases (``dashboard.usecases``) ask.

HIPAA Security Rule 45 CFR 164.312(a)(1) (access control) and 164.502(b) (minimum necessary).
Access is decided here, where data is read or written, never by hiding a page.

- Open a patient (review, summary, export, acknowledge a flag): only a patient shared with the
  user, whatever the role.
- Titration steps (add, change, end, accept or reject a proposed one): clinicians, for patients
  shared with them. A step is a prescribing decision; staff and administrators do not make it.
- Visits (book one, record one that took place, an infusion with its dose): clinicians for
  patients shared with them; staff for every patient of the clinic, since booking is the front
  desk's work. An infusion's dose is recorded as an IV/IM step, so recording an infusion is a
  clinician's.
- The clinic's visit list (booked and overdue visits: who, when, kind, diary days; no clinical
  figure): staff, over the whole clinic, to book and record visits from it. Opening a patient's
  review from it stays the rule above (shared with them).
- Import: staff and administrators for the whole clinic; a clinician only for patients shared
  with them. A clinician's file naming any other reference is refused with one message whether
  or not the reference exists, so an import never tells a clinician which references the clinic
  has (new patients come in through staff, who see the whole clinic anyway). The scope is
  derived from the acting account inside the import service, never passed in by a caller.
- Stored values in an import's report (a conflict's stored side): only for patients the acting
  user may open (shared with them, whatever the role); the server's operator (command line
  without ``--as``) sees them. Anyone else sees that a conflict exists, never what is stored.
- Kept import files (the list of past imports and downloading a file again): staff and
  administrators see every file; a clinician sees a file only when every patient it names is
  shared with them. A file that names no patient (refused before any row could be read, or
  nothing to import) may hold anyone's data: a clinician sees it only if they brought it.
- Share links (a patient's upload link, issue 22): made, listed and revoked by those who import
  for the patient: staff and administrators for every patient of the clinic, a clinician for the
  patients shared with them; the server's operator (command line without ``--as``) too. A link
  only adds files to the clinic's inbox; it reads nothing.
- Settings: everyone logged in reads the clinic's thresholds. Who changes each is its record in
  ``config.THRESHOLDS`` (``changed_by``): the clinic-wide thresholds administrators and a
  clinician an administrator marked as the clinic's lead; security settings (automatic logoff)
  administrators alone. The server's operator (command line without ``--as``) changes any.
- The audit trail and accounts/shares: administrators only.
- Cohort view (figures aggregated over many patients): a clinician over the patients shared
  with them; staff and administrators over the whole clinic, who import and manage its
  records anyway. Figures only: opening one of the patients behind them is still the rule above.
- The EHR launch (SMART on FHIR, docs/smart-launch.md): clinicians only. The launched patient's
  EHR data come in as an import for a patient shared with them, or for a patient new to the
  dashboard, who is then shared with them; a stored patient not shared with them is refused.
- ``--as NAME`` on the command line: NAME must be an existing, enabled account.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.actors import User
from dashboard.auth.accounts import resolve_user
from dashboard.config import CLINIC_LEAD, THRESHOLD, THRESHOLDS
from dashboard.db.models import Patient, PatientShare

IMPORT_ROLES = ("clinician", "staff", "admin")
CLINIC_WIDE_IMPORT_ROLES = ("staff", "admin")


# --- patients -----------------------------------------------------------------------------

def visible_patient_ids(session: Session, user: User) -> list[int]:
    """The patients whose data a user may open: only those shared with them."""
    rows = session.scalars(select(PatientShare.patient_id).where(PatientShare.clinician_id == user.id))
    return sorted(rows)


def can_open_patient(session: Session, user: User, patient_id: int) -> bool:
    return session.get(PatientShare, {"clinician_id": user.id, "patient_id": patient_id}) is not None


# --- the cohort view -------------------------------------------------------------------------

CLINIC_WIDE_COHORT_ROLES = ("staff", "admin")


def cohort_patient_ids(session: Session, user: User | None) -> list[int]:
    """The patients whose figures a user's cohort view aggregates (see the module docstring).
    ``None`` is the server's operator (the command line without ``--as``): the clinic."""
    if user is None or user.role in CLINIC_WIDE_COHORT_ROLES:
        return sorted(session.scalars(select(Patient.id)))
    return visible_patient_ids(session, user)


def cohort_scope(user: User | None) -> str:
    """What the cohort covers, in words for the page and the audit row."""
    return "the clinic" if user is None or user.role in CLINIC_WIDE_COHORT_ROLES else "patients shared with you"
STEP_ROLES = ("clinician",)
VISIT_ROLES = ("clinician",)  # for the patients shared with them
CLINIC_WIDE_VISIT_ROLES = ("staff",)  # for every patient of the clinic: the front desk


def may_change_steps(session: Session, user: User, patient_id: int) -> bool:
    """Whether ``user`` may add, change, end, accept or reject a titration step of the patient."""
    return user.role in STEP_ROLES and can_open_patient(session, user, patient_id)


def may_record_visits(session: Session, user: User, patient_id: int, *, infusion: bool = False) -> bool:
    """Whether ``user`` may book or record a visit of the patient (an infusion also writes a step)."""
    if infusion:
        return may_change_steps(session, user, patient_id)
    if user.role in CLINIC_WIDE_VISIT_ROLES:
        return session.get(Patient, patient_id) is not None
    return user.role in VISIT_ROLES and can_open_patient(session, user, patient_id)


def visit_patient_ids(session: Session, user: User) -> list[int]:
    """The patients whose visits ``user`` may book and record (``may_record_visits``, no infusion)."""
    if user.role in CLINIC_WIDE_VISIT_ROLES:
        return sorted(session.scalars(select(Patient.id)))
    return visible_patient_ids(session, user) if user.role in VISIT_ROLES else []


def sees_clinic_visits(user: User) -> bool:
    """Whether the user's worklist is the clinic's visit list (booked and overdue visits of every
    patient, no clinical figure) rather than the review worklist of the patients shared with them."""
    return user.role in CLINIC_WIDE_VISIT_ROLES


# --- imports ------------------------------------------------------------------------------

def may_import(user: User) -> bool:
    """Whether the user's role imports at all (the patients are decided by ``ImportScope``)."""
    return user.role in IMPORT_ROLES


@dataclass(frozen=True)
class ImportScope:
    """For whom an import may write. ``clinician_id`` None: the whole clinic."""

    clinician_id: int | None

    def refused_refs(self, session: Session, refs: list[str]) -> list[str]:
        """The references the file names that are outside this scope: for a clinician every
        reference not shared with them, existing or not (the answer must not tell which exist)."""
        if self.clinician_id is None:
            return []
        shared = set(session.scalars(select(Patient.ref).join(PatientShare, PatientShare.patient_id == Patient.id)
                                     .where(PatientShare.clinician_id == self.clinician_id)))
        return sorted(ref for ref in set(refs) if ref not in shared)


OPERATOR_SCOPE = ImportScope(clinician_id=None)


def import_scope(session: Session, username: str | None) -> ImportScope | None:
    """The scope of an import by ``username`` (None: the server's operator, clinic-wide).

    Re-read from the stored account, so a disabled account or a changed role counts at once.
    None when the account does not exist, is disabled, or its role does not import.
    """
    if username is None:
        return OPERATOR_SCOPE
    user = resolve_user(session, username)
    if user is None or not may_import(user):
        return None
    return OPERATOR_SCOPE if user.role in CLINIC_WIDE_IMPORT_ROLES else ImportScope(clinician_id=user.id)




def stored_values_visible(session: Session, username: str | None, refs: list[str]) -> set[str]:
    """Which of ``refs`` an import report may show stored values of to ``username`` (None: the
    server's operator, who can read the database directly). Re-read from the stored account."""
    if username is None:
        return set(refs)
    user = resolve_user(session, username)
    return set() if user is None else set(refs) & shared_refs(session, user)


@dataclass(frozen=True)
class AccountImportPolicy:
    """An account's import (a page's logged-in user, ``--as``), as ``ingest.service.import_file``
    asks it: ``import_scope`` and ``stored_values_visible``, re-read from the stored account."""

    username: str

    def scope(self, session: Session) -> ImportScope | None:
        return import_scope(session, self.username)

    def visible(self, session: Session, refs: list[str]) -> set[str]:
        return stored_values_visible(session, self.username, refs)


# --- the EHR launch (SMART on FHIR) ----------------------------------------------------------

LAUNCH_ROLES = ("clinician",)


def may_launch_from_ehr(user: User) -> bool:
    """Opening a patient from the EHR's chart is a clinician's review; staff and administrators
    import files instead."""
    return user.role in LAUNCH_ROLES


@dataclass(frozen=True)
class EhrLaunchScope:
    """For whom an EHR launch may write: the patients shared with the clinician, and the launched
    patient when the dashboard has no patient of that reference yet (created and shared with
    them in the import's transaction). A stored patient not shared with them is refused."""

    clinician_id: int

    def refused_refs(self, session: Session, refs: list[str]) -> list[str]:
        wanted = sorted(set(refs))
        stored = set(session.scalars(select(Patient.ref).where(Patient.ref.in_(wanted))))
        shared = set(session.scalars(select(Patient.ref).join(PatientShare, PatientShare.patient_id == Patient.id)
                                     .where(PatientShare.clinician_id == self.clinician_id, Patient.ref.in_(wanted))))
        return [ref for ref in wanted if ref in stored and ref not in shared]


@dataclass(frozen=True)
class EhrLaunchImportPolicy:
    """An EHR launch's import, as ``ingest.service.import_file`` asks it (re-read from the stored
    account: a disabled account or a changed role counts at once)."""

    username: str

    def scope(self, session: Session) -> EhrLaunchScope | None:
        user = resolve_user(session, self.username)
        return EhrLaunchScope(user.id) if user is not None and may_launch_from_ehr(user) else None

    def visible(self, session: Session, refs: list[str]) -> set[str]:
        return stored_values_visible(session, self.username, refs)


# --- share links ----------------------------------------------------------------------------

def may_share_link(session: Session, user: User | None, patient_id: int) -> bool:
    """Whether ``user`` may make, list or revoke the patient's upload links (None: the operator)."""
    if session.get(Patient, patient_id) is None:
        return False
    if user is None or user.role in CLINIC_WIDE_IMPORT_ROLES:
        return True
    return user.role in IMPORT_ROLES and can_open_patient(session, user, patient_id)


# --- kept import files ----------------------------------------------------------------------

def shared_refs(session: Session, user: User) -> set[str]:
    """The references of the patients shared with the user."""
    return set(session.scalars(select(Patient.ref).join(PatientShare, PatientShare.patient_id == Patient.id)
                               .where(PatientShare.clinician_id == user.id)))


def may_see_import(user: User, *, patients: list[str], imported_by: str | None, shared: set[str]) -> bool:
    """Whether ``user`` may see a kept import (its line in the list, its file): see the module's rules.
    ``shared`` is :func:`shared_refs` of the user (read once for a whole list)."""
    if user.role in CLINIC_WIDE_IMPORT_ROLES:
        return True
    if user.role not in IMPORT_ROLES:
        return False
    if not patients:
        return imported_by == user.username
    return set(patients) <= shared


# --- settings, audit trail, accounts --------------------------------------------------------

def standing(user: User) -> set[str]:
    """What the user is, in the words of ``config.Threshold.changed_by``: their role, and
    ``clinic lead`` for a clinician an administrator marked so (``User.clinic_lead``)."""
    return {user.role} | ({CLINIC_LEAD} if user.clinic_lead and user.role == "clinician" else set())


def may_change_setting(user: User | None, key: str) -> bool:
    """Whether ``user`` may change the threshold ``key`` (its record's ``changed_by``); None is the
    server's operator, who can write the database directly anyway. No one changes an unknown key."""
    threshold = THRESHOLD.get(key)
    if threshold is None:
        return False
    return user is None or bool(standing(user) & set(threshold.changed_by))


def changeable_settings(user: User | None) -> tuple[str, ...]:
    """The thresholds ``user`` may change, in the table's order (none: they read them)."""
    return tuple(t.key for t in THRESHOLDS if may_change_setting(user, t.key))


def may_see_audit_trail(user: User) -> bool:
    return user.role == "admin"


def may_manage_accounts(user: User) -> bool:
    return user.role == "admin"


# --- the command line ----------------------------------------------------------------------

def acting_user(session: Session, username: str) -> User | None:
    """The account ``--as USERNAME`` names, if it exists and is enabled."""
    return resolve_user(session, username)


def require_patient(session: Session, user: User | None, patient_id: int) -> None:
    """``PermissionError`` unless ``user`` may open the patient; ``None`` is the server's operator
    (a command without ``--as``), who can read the database directly anyway."""
    if user is not None and not can_open_patient(session, user, patient_id):
        raise PermissionError("this patient is not available to you")
