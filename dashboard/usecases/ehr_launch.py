"""Opening a patient from the EHR's chart (SMART App Launch 2.0, EHR launch; docs/smart-launch.md).

Two use cases around the browser's trip to the EHR: ``start_launch`` (a trusted ``iss``, its
SMART settings, the authorize address with a fresh ``state`` and S256 PKCE) and ``finish_launch``
(the same ``state`` back, the code for a token, the patient's records read into one FHIR Bundle
and imported by the one import service). Every launch, refusal and failure is an ``ehr_launch``
audit row (who, the EHR, the patient, when). The token lives only inside ``finish_launch``: it
is not kept, shown, logged or stored.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import NoReturn

import httpx
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.config import SmartSettings, smart_settings
from dashboard.db import audit
from dashboard.db.queries import patient_by_ref
from dashboard.ingest import smart
from dashboard.ingest.writer import ImportReport
from dashboard.usecases import imports
from dashboard.usecases.guard import guarded, refuse

PENDING_SECONDS = 600  # a launch not back from the EHR within ten minutes is started again
CLINICIANS_ONLY = ("Opening a patient from the EHR is for clinicians' accounts. Nothing was read. "
                   "Log in with a clinician's account, or import the patient's records on the Import page.")
NOT_SET_UP = ("The EHR launch is not set up on this dashboard (DASHBOARD_SMART_ISS, DASHBOARD_SMART_CLIENT_ID and "
              "DASHBOARD_SMART_REDIRECT_URI). Nothing was read. Tell the clinic's administrator.")
WRONG_STATE = ("This return from the EHR does not belong to a launch started here in this browser (its state does "
               "not match, or it is more than ten minutes old). Nothing was read. " + smart.AGAIN)
NOT_YOURS = ("The EHR's patient is a patient of this dashboard who is not shared with you. Nothing was imported. "
             "Ask the clinic's administrator to share the patient with you.")


class LaunchFailed(Exception):
    """The launch stopped (the EHR down or refusing, consent denied); already audited.
    ``str()`` says what happened and what to do."""


@dataclass(frozen=True)
class PendingLaunch:
    """What the return from the EHR needs, kept in the server's memory (never the page or the database)."""

    username: str
    config: smart.SmartConfig
    state: str
    verifier: str
    client_id: str
    redirect_uri: str
    started: float


@dataclass(frozen=True)
class LaunchResult:
    patient_ref: str
    ehr: str
    read_at: datetime
    report: ImportReport


def _untrusted(iss: str) -> str:
    return (f"The EHR address {smart.said(iss, 200)!r} is not one this dashboard trusts, so it was not contacted and "
            "nothing was read. If it is the clinic's EHR, ask the clinic's administrator to add it to "
            "DASHBOARD_SMART_ISS.")


def check_ehr(session: Session, actor: User | str, iss: str, *, settings: SmartSettings | None = None) -> None:
    """``NotAllowed`` (audited) for an ``iss`` the clinic does not trust, before anyone logs in:
    the address is never contacted."""
    settings = settings or smart_settings()
    if not settings.configured:
        refuse(session, actor, AuditAction.EHR_LAUNCH, detail={"ehr": iss[:300], "reason": "not set up"},
               message=NOT_SET_UP)
    if iss.rstrip("/") not in settings.issuers:
        refuse(session, actor, AuditAction.EHR_LAUNCH, detail={"ehr": iss[:300], "reason": "untrusted EHR"},
               message=_untrusted(iss))


def start_launch(session: Session, actor: User, iss: str, launch: str, *,
                 settings: SmartSettings | None = None) -> tuple[str, PendingLaunch]:
    """The EHR's authorize address for this launch, and what its return needs. Asks the trusted
    ``iss`` for its SMART settings; writes an audit row only when refused or failed."""
    settings = settings or smart_settings()
    check_ehr(session, actor, iss, settings=settings)
    iss = iss.rstrip("/")
    with guarded(session, actor, AuditAction.EHR_LAUNCH, access.may_launch_from_ehr(actor), audit_success=False,
                 detail={"ehr": iss, "reason": "not a clinician"}, message=CLINICIANS_ONLY):
        pass
    try:
        with httpx.Client(timeout=smart.TIMEOUT) as client:
            config = smart.discover(client, iss)
    except smart.SmartError as exc:
        _failed(session, actor, iss, exc)
    verifier, challenge = smart.pkce_pair()
    state = secrets.token_urlsafe(32)
    url = smart.authorize_url(config, client_id=settings.client_id, redirect_uri=settings.redirect_uri,
                              launch=launch, state=state, challenge=challenge)
    return url, PendingLaunch(actor.username, config, state, verifier, settings.client_id, settings.redirect_uri,
                              time.time())


def finish_launch(session: Session, actor: User, pending: PendingLaunch | None, *, state: str,
                  code: str | None = None, error: str | None = None,
                  error_description: str | None = None) -> LaunchResult:
    """The return from the EHR: the state checked, the code exchanged with the verifier, the
    launched patient's records read and imported, the launch audited with the patient.
    ``error`` and ``error_description`` are the EHR's OAuth error (RFC 6749 4.1.2.1), if any."""
    iss = pending.config.iss if pending else None
    fresh = pending is not None and time.time() - pending.started <= PENDING_SECONDS
    if not (fresh and secrets.compare_digest(pending.state, state) and pending.username == actor.username):
        refuse(session, actor, AuditAction.EHR_LAUNCH, detail={"ehr": iss, "reason": "state does not match"},
               message=WRONG_STATE)
    if error or not code:
        _failed(session, actor, iss, smart.SmartError(_refused_at_authorize(error, error_description), "authorize"))
    try:
        with httpx.Client(timeout=smart.TIMEOUT) as client:
            token = smart.exchange(client, pending.config, code=code, verifier=pending.verifier,
                                   client_id=pending.client_id, redirect_uri=pending.redirect_uri)
            read_at = datetime.now(timezone.utc).replace(microsecond=0)
            raw = smart.read_patient(client, iss, token)
    except smart.SmartError as exc:
        _failed(session, actor, iss, exc)
    name = f"EHR {iss} Patient {token.patient} read {read_at:%Y-%m-%dT%H:%M:%SZ}.json"
    report = imports.import_ehr_record(actor, raw, name, url=session.get_bind().url.render_as_string(False))
    detail = {"ehr": iss, "ehr_patient": token.patient, "patients": report.patients, "import_id": report.import_id,
              "import_status": report.status, "read_at": read_at.isoformat()}
    if report.status == "refused" and "not among your patients" in (report.message or ""):
        refuse(session, actor, AuditAction.EHR_LAUNCH, detail={**detail, "reason": "patient not shared"},
               message=NOT_YOURS)
    if report.status == "refused" or len(report.patients) != 1:
        _failed(session, actor, iss, smart.SmartError(
            f"The EHR's record of this patient could not be imported: {report.message or 'it names no one patient'} "
            "Nothing was imported; the EHR's record is kept in the import history for the clinic's staff.", "import"),
            detail)
    ref = report.patients[0]
    patient = patient_by_ref(session, ref)
    with guarded(session, actor, AuditAction.EHR_LAUNCH, access.can_open_patient(session, actor, patient.id),
                 detail={**detail, "patient": ref}, patient_id=patient.id, denied_patient_id=patient.id,
                 message=NOT_YOURS):
        return LaunchResult(ref, iss, read_at, report)


def _refused_at_authorize(error: str | None, description: str | None) -> str:
    """The EHR's OAuth error in words: declined (``access_denied``), the EHR's own trouble, or a
    request it would not take (``invalid_scope``, ``invalid_client``, ``invalid_request``...: the
    app's registration and the dashboard's settings disagree). The EHR's ``error_description``
    is quoted, cut and reduced to plain characters, as the reference launcher explains its
    refusals there (docs/smart-launch.md)."""
    said = smart.said(error or "no code") + (f": {smart.said(description, 200)}" if description else "")
    if not error or error == "access_denied":
        return (f"The EHR did not give the dashboard access ({said}): access was declined or the launch was "
                f"cancelled at the EHR. Nothing was read. {smart.AGAIN}")
    if error in ("server_error", "temporarily_unavailable"):
        return (f"The EHR could not answer the dashboard's request ({said}). Nothing was read. Try again in a "
                "minute; if it goes on, tell the clinic's administrator.")
    return (f"The EHR refused the dashboard's request ({said}). Nothing was read. The app's registration at the "
            "EHR (client id, redirect URI, scopes) and this dashboard's settings may not match: tell the clinic's "
            "administrator.")


def _failed(session: Session, actor: User, iss: str | None, exc: smart.SmartError,
            detail: dict | None = None) -> NoReturn:
    """A failed step's audit row (committed, the caller's work rolls back), then ``LaunchFailed``."""
    audit.record(session, actor=actor.username, action=AuditAction.EHR_LAUNCH, outcome="failed",
                 detail={**(detail or {}), "ehr": iss, "step": exc.step, "why": str(exc)})
    session.commit()
    raise LaunchFailed(str(exc))
