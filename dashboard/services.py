"""Units of work for the pages: each opens one transaction, asks ``dashboard.access`` where a
decision is needed, calls the ``db`` layer, and returns plain values. Pages hold no SQL and
open no sessions; cached reads go through ``dashboard.loaders`` instead.
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from dashboard import access
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import User
from dashboard.db import audit
from dashboard.db.session import session_scope


class NotAllowed(PermissionError):
    """The user's role may not do this; the refusal is already in the audit trail."""


def _require(user: User, allowed: bool, action: AuditAction) -> None:
    if not allowed:
        with session_scope() as session:
            audit.record(session, actor=user.username, action=action, outcome="denied")
        raise NotAllowed(action)


# --- logging in -----------------------------------------------------------------------------

def log_in(username: str, password: str) -> tuple[User | None, str]:
    """A password login in its own transaction, so the attempt's audit row and any lockout land."""
    from dashboard.auth.accounts import authenticate

    with session_scope() as session:
        return authenticate(session, username.strip(), password)


# --- settings -------------------------------------------------------------------------------

def change_thresholds(user: User, changes: dict) -> list[str]:
    """Raises ValueError (nothing saved) for an invalid value, PermissionError for a key not the user's."""
    from dashboard.db.settings_store import change_thresholds as change

    with session_scope() as session:
        return change(session, changes, user=user)


# --- accounts and shares --------------------------------------------------------------------

def accounts_overview(user: User) -> tuple[pd.DataFrame, list[str]]:
    """The accounts table and every patient reference (administrators only)."""
    from dashboard.db import admin_queries

    _require(user, access.may_manage_accounts(user), AuditAction.ADMIN_PAGE)
    with session_scope() as session:
        return admin_queries.accounts_frame(session), admin_queries.patient_refs(session)


def shared_refs(user: User, username: str) -> list[str]:
    from dashboard.db import admin_queries

    _require(user, access.may_manage_accounts(user), AuditAction.ADMIN_PAGE)
    with session_scope() as session:
        return admin_queries.shared_refs(session, username)


def change_account(user: User, action: AuditAction, detail: dict, change) -> None:
    """Apply ``change(session)`` and its audit row together (administrators only).
    Raises AccountError or IntegrityError when the change is refused."""
    from dashboard.db import admin_queries

    _require(user, access.may_manage_accounts(user), action)
    with session_scope() as session:
        change(session)
        patient_id = admin_queries.patient_id_of(session, detail["patient"]) if "patient" in detail else None
        audit.record(session, actor=user.username, action=action, patient_id=patient_id, detail=detail)


# --- the audit trail ------------------------------------------------------------------------

def trail_choices(user: User) -> tuple[list[str], list[str]]:
    """The actions and outcomes the filter offers."""
    from dashboard.db import audit_trail

    _require(user, access.may_see_audit_trail(user), AuditAction.VIEW_AUDIT)
    with session_scope() as session:
        return audit_trail.action_choices(session), audit_trail.outcome_choices(session)


def trail(user: User, f, *, limit: int | None = None) -> tuple[int, pd.DataFrame]:
    """How many events match, and the newest ``limit`` of them."""
    from dashboard.db import audit_trail

    _require(user, access.may_see_audit_trail(user), AuditAction.VIEW_AUDIT)
    with session_scope() as session:
        return audit_trail.count_events(session, f), audit_trail.events_frame(session, f, limit=limit or audit_trail.SHOWN)


def trail_export(user: User, f) -> tuple[bytes, int]:
    """The CSV of every matching event (up to ``EXPORT_MAX``) and its row count; not yet audited."""
    from dashboard.db import audit_trail
    from dashboard.ingest.export import trail_csv

    _require(user, access.may_see_audit_trail(user), AuditAction.VIEW_AUDIT)
    with session_scope() as session:
        everything = audit_trail.events_frame(session, f, limit=audit_trail.EXPORT_MAX)
    return trail_csv(everything), len(everything)


def record_trail_export(user: User, f, rows: int) -> None:
    with session_scope() as session:
        audit.record(session, actor=user.username, action=AuditAction.EXPORT,
                     detail={"what": "audit trail", "rows": rows, "filter": asdict(f)})


# --- kept import files ----------------------------------------------------------------------

def import_history(user: User) -> pd.DataFrame:
    """The newest imports this user may see (``access.may_see_import``), newest first: who, when,
    file, format, outcome and counts. Listing is not a view of patient data (no values are shown)."""
    from dashboard.db import import_history

    _require(user, access.may_import(user), AuditAction.DOWNLOAD_IMPORT)
    with session_scope() as session:
        shared = access.shared_refs(session, user)
        rows = import_history.recent_imports(session, lambda patients, by: access.may_see_import(
            user, patients=patients, imported_by=by, shared=shared))
    return import_history.frame(rows)


def kept_import_file(user: User, import_id: int) -> tuple[str, bytes]:
    """A kept file's name and bytes, for downloading it again; the download itself is audited by
    :func:`record_import_download`. ``NotAllowed`` (audited) when the user may not see it."""
    from dashboard.db import import_history

    with session_scope() as session:
        found = import_history.kept_file(session, import_id)
        if found is None or not access.may_see_import(user, patients=found[2], imported_by=found[3],
                                                      shared=access.shared_refs(session, user)):
            audit.record(session, actor=user.username, action=AuditAction.DOWNLOAD_IMPORT, outcome="denied",
                         detail={"import_id": import_id})
            found = None
    if found is None:
        raise NotAllowed(AuditAction.DOWNLOAD_IMPORT)
    return found[0], found[1]


def record_import_download(user: User, import_id: int, file_name: str, size: int) -> None:
    with session_scope() as session:
        audit.record(session, actor=user.username, action=AuditAction.DOWNLOAD_IMPORT,
                     detail={"import_id": import_id, "file": file_name, "bytes": size})


# --- mapping profiles -----------------------------------------------------------------------

def mapping_profiles() -> list[str]:
    from dashboard.ingest import profiles

    with session_scope() as session:
        return profiles.list_profiles(session)


def mapping_profile(name: str) -> dict:
    """The saved profile; LookupError if there is none of that name."""
    from dashboard.ingest import profiles

    with session_scope() as session:
        return profiles.load_profile(session, name)


def save_mapping_profile(user: User, name: str, profile: dict, *, replace: bool) -> None:
    """Raises ``profiles.ProfileError`` when refused; saving is for those who import."""
    from dashboard.ingest import profiles

    _require(user, access.may_import(user), AuditAction.SAVE_MAPPING_PROFILE)
    with session_scope() as session:
        profiles.save_profile(session, name, profile, created_by=user.username, replace=replace)


# --- the pre-visit report -------------------------------------------------------------------

def pre_visit_report(user: User, patient, review, *, visits: pd.DataFrame, imports: pd.DataFrame) -> bytes:
    """The review as a PDF, when the user clicks for it: the patient must still be shared with the
    user (a refusal is audited), and the report is audited like a view of the patient.

    Runs in Streamlit's download thread (no script context), so it takes what the page already
    holds and opens its own transactions; the PDF is drawn between them, not inside one.
    """
    from dashboard.report import report_pdf

    with session_scope() as session:
        allowed = access.can_open_patient(session, user, patient.id)
        if not allowed:
            audit.record(session, actor=user.username, action=AuditAction.REPORT, outcome="denied",
                         detail={"ref": patient.ref})
    if not allowed:
        raise PermissionError("This patient is not available to you.")
    pdf = report_pdf(review, visits=visits, imports=imports)
    with session_scope() as session:
        audit.record(session, actor=user.username, action=AuditAction.REPORT, patient_id=patient.id,
                     detail={"ref": patient.ref, "as_of": f"{review.as_of:%Y-%m-%d}"})
    return pdf


# --- a patient's record for another system ---------------------------------------------------

def patient_fhir(user: User, patient_ref: str) -> bytes:
    """The patient as a FHIR R4 Bundle (UTF-8 JSON), audited as an export with its format.

    Only for a patient shared with the user (``dashboard.access``): otherwise PermissionError,
    after a "denied" audit row that is committed so the refusal stays in the trail.
    """
    from dashboard.db.queries import patient_by_ref
    from dashboard.ingest.fhir_export import export_patient_fhir

    with session_scope() as session:
        patient = patient_by_ref(session, patient_ref)
        if patient is None or not access.can_open_patient(session, user, patient.id):
            audit.record(session, actor=user.username, action=AuditAction.EXPORT, outcome="denied",
                         patient_id=patient.id if patient else None, detail={"patient": patient_ref, "format": "fhir"})
            session.commit()
            raise PermissionError("This patient is not available to you.")
        text = export_patient_fhir(session, patient_ref, user=user)
        audit.record(session, actor=user.username, action=AuditAction.EXPORT, patient_id=patient.id,
                     detail={"patient": patient_ref, "format": "fhir"})
    return text.encode("utf-8")


# --- a patient's titration steps and visits (the review page's record forms) ----------------

def record_permissions(user: User, patient_id: int) -> tuple[bool, bool]:
    """(may change steps, may record visits) for the review page to offer the forms it may."""
    with session_scope() as session:
        return access.may_change_steps(session, user, patient_id), access.may_record_visits(session, user, patient_id)


def _readable(session, user: User, patient_id: int) -> None:
    if not access.can_open_patient(session, user, patient_id):
        raise PermissionError("This patient is not available to you.")


def check_step(user: User, patient_id: int, form, *, step_id: int | None = None):
    """(the form in canonical words, the problems, the preview if none): nothing is written."""
    from dashboard.db import clinic_records

    with session_scope() as session:
        _readable(session, user, patient_id)
        clean, problems = clinic_records.check_step(session, patient_id, form, step_id=step_id)
        preview = None if problems else clinic_records.preview_step(session, patient_id, clean, step_id=step_id)
    return clean, problems, preview


def save_step(user: User, patient_id: int, form, *, step_id: int | None = None) -> int:
    """Add, change, end or accept (a proposed) step in one transaction with its audit row.
    Raises RecordRefused (nothing written), RecordError or PermissionError (refusal audited)."""
    from dashboard.db import clinic_records

    with session_scope() as session:
        return clinic_records.save_step(session, user=user, patient_id=patient_id, form=form, step_id=step_id).id


def check_visit(user: User, patient_id: int, form):
    """(the form in canonical words, the problems, the infusion step's preview if any): nothing is written."""
    from dashboard.db import clinic_records

    with session_scope() as session:
        _readable(session, user, patient_id)
        clean, problems = clinic_records.check_visit(session, patient_id, form)
        preview = None
        if not problems and clean.kind == "infusion":
            preview = clinic_records.preview_step(session, patient_id, clinic_records.infusion_step(clean))
    return clean, problems, preview


def save_visit(user: User, patient_id: int, form) -> int:
    """Book a visit or record one that took place, with its audit row (see ``save_step``)."""
    from dashboard.db import clinic_records

    with session_scope() as session:
        return clinic_records.save_visit(session, user=user, patient_id=patient_id, form=form).id


# --- a patient's diary as a file ------------------------------------------------------------

def diary_csv(user: User, patient_ref: str) -> bytes:
    """The patient's diary as the command line's ``export`` writes it (spreadsheet-safe: a cell
    that starts like a formula gets a leading quote), with a UTF-8 byte order mark so that a
    spreadsheet reads it as UTF-8 (the importer reads it either way). Audited as an export; a
    refusal is audited and raises PermissionError."""
    from dashboard.db.queries import patient_by_ref
    from dashboard.ingest.export import export_patient_csv

    with session_scope() as session:
        patient = patient_by_ref(session, patient_ref)
        if patient is None or not access.can_open_patient(session, user, patient.id):
            audit.record(session, actor=user.username, action=AuditAction.EXPORT, outcome="denied",
                         detail={"patient": patient_ref, "format": "csv", "what": "diary"})
            session.commit()
            raise PermissionError("This patient is not available to you.")
        text = export_patient_csv(session, patient_ref, user=user)
        audit.record(session, actor=user.username, action=AuditAction.EXPORT, patient_id=patient.id,
                     detail={"patient": patient_ref, "format": "csv", "what": "diary", "rows": _csv_rows(text),
                             "via": "page"})
    return text.encode("utf-8-sig")


def _csv_rows(text: str) -> int:
    """Diary rows in the file (a note may hold a line break inside its quotes)."""
    import csv
    import io

    return sum(1 for _ in csv.reader(io.StringIO(text))) - 1
