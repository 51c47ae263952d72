"""Importing files (and dry runs), the history of imports and their kept files, mapping profiles."""

from __future__ import annotations

import pandas as pd
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, Operator, User, audit_name
from dashboard.audit_actions import AuditAction
from dashboard.auth import accounts as stored_accounts
from dashboard.db import audit, import_history as history
from dashboard.db.queries import patient_by_ref
from dashboard.ingest import profiles
from dashboard.ingest.service import OPERATOR, import_file as _import_file
from dashboard.ingest.writer import ImportReport
from dashboard.usecases.guard import guarded, refuse


def import_file(actor: Actor, raw: bytes, file_name: str, *, url: str | None = None, **options) -> ImportReport:
    """Import one file, or with ``dry_run=True`` report what would be imported and write nothing.

    The one use case without a caller's session: the import opens its own units of work (one per
    attempt when a concurrent import wins the race, and one that keeps a refused file), see
    ``ingest.service.import_file``. Who may write for which patients is decided there from the
    stored account (``access.import_scope``), so a ``User`` imports as that account and the
    ``Operator`` clinic-wide; the import's audit row is written there with its outcome.
    """
    return _import_file(raw, file_name, url=url, actor=audit_name(actor),
                        policy=OPERATOR if isinstance(actor, Operator) else access.AccountImportPolicy(audit_name(actor)),
                        **options)


def import_ehr_record(actor: User, raw: bytes, file_name: str, *, url: str | None = None) -> ImportReport:
    """The EHR's record of a launched patient (a FHIR Bundle, ``ehr_launch``), imported like any
    file (identity check, proposed steps, one kept record, nothing twice) for a patient shared
    with the clinician or new to the dashboard: a new patient is shared with them in the same
    transaction (``access.EhrLaunchImportPolicy``); a stored patient not shared with them is
    refused in the report, like any clinician's file."""

    def share_created(session: Session, report: ImportReport) -> None:
        for ref in report.patients_created:
            stored_accounts.share(session, username=actor.username, patient_ref=ref)
            audit.record(session, actor=actor.username, action=AuditAction.SHARE,
                         patient_id=patient_by_ref(session, ref).id,
                         detail={"user": actor.username, "patient": ref, "why": "new patient opened from the EHR",
                                 "import_id": report.import_id})

    return _import_file(raw, file_name, url=url, actor=audit_name(actor),
                        policy=access.EhrLaunchImportPolicy(actor.username), then=share_created)


def import_history(session: Session, actor: User) -> pd.DataFrame:
    """The newest imports this user may see (``access.may_see_import``), newest first: who, when,
    file, format, outcome and counts. Listing is not a view of patient data (no values are shown)."""
    with guarded(session, actor, AuditAction.DOWNLOAD_IMPORT, access.may_import(actor), audit_success=False):
        shared = access.shared_refs(session, actor)
        rows = history.recent_imports(session, lambda patients, by: access.may_see_import(
            actor, patients=patients, imported_by=by, shared=shared))
    return history.frame(rows)


def kept_import_file(session: Session, actor: User, import_id: int) -> tuple[str, bytes]:
    """A kept file's name and bytes, for downloading it again; the download itself is audited by
    :func:`record_import_download`. ``NotAllowed`` (audited) when the user may not see it."""
    found = history.kept_file(session, import_id)
    if found is None or not access.may_see_import(actor, patients=found[2], imported_by=found[3],
                                                  shared=access.shared_refs(session, actor)):
        refuse(session, actor, AuditAction.DOWNLOAD_IMPORT, detail={"import_id": import_id})
    return found[0], found[1]


def record_import_download(session: Session, actor: User, import_id: int, file_name: str, size: int) -> None:
    """The download of a kept file that ``kept_import_file`` allowed, audited."""
    audit.record(session, actor=actor.username, action=AuditAction.DOWNLOAD_IMPORT,
                 detail={"import_id": import_id, "file": file_name, "bytes": size})


def mapping_profiles(session: Session, actor: Actor | None) -> list[str]:
    """The saved profiles' names (layouts, no patient data)."""
    return profiles.list_profiles(session)


def mapping_profile(session: Session, actor: Actor | None, name: str) -> dict:
    """The saved profile; LookupError if there is none of that name."""
    return profiles.load_profile(session, name)


def _may_map(actor: Actor) -> bool:
    return isinstance(actor, Operator) or access.may_import(actor)


def suggest_mapping(session: Session, actor: Actor, raw: bytes, file_name: str, *,
                    header_row: int | None = None, header: bool | None = None) -> profiles.Suggestion:
    """A profile read from an uploaded file (it saves as it is) with its open questions; for those
    who import. The file is not stored, so success writes no audit row; a refusal does.
    ``FileRefused`` when the file cannot be read at all."""
    with guarded(session, actor, AuditAction.IMPORT, _may_map(actor), audit_success=False,
                 detail={"file": file_name, "mapping": "suggest"}):
        return profiles.suggest_mapping(raw, file_name, header_row=header_row, header=header)


def preview_mapping(session: Session, actor: Actor, raw: bytes, file_name: str, profile: dict, *,
                    patient_ref: str | None = None) -> profiles.MappingPreview:
    """What an uploaded file becomes with a profile being edited: the first entries as they would be
    stored, refusals, ignored counts and why it cannot be imported yet. Writes nothing (as above)."""
    with guarded(session, actor, AuditAction.IMPORT, _may_map(actor), audit_success=False,
                 detail={"file": file_name, "mapping": "preview"}):
        return profiles.preview_mapping(raw, file_name, profile, patient_ref=patient_ref)


def save_mapping_profile(session: Session, actor: Actor, name: str, profile: dict, *, replace: bool) -> None:
    """Raises ``profiles.ProfileError`` when refused; saving is for those who import (the operator
    always may). The save is audited by ``profiles.save_profile``."""
    with guarded(session, actor, AuditAction.SAVE_MAPPING_PROFILE, _may_map(actor), audit_success=False):
        profiles.save_profile(session, name, profile, created_by=audit_name(actor), replace=replace)
