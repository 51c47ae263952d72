"""The clinic's inbox (issue 22): files a patient sent through a share link, waiting for a person.

A received file is written into nothing until someone who may import for the link's patient
(``access.may_decide_received``) imports it, through THE import service with the patient fixed
to the link's patient and the same identity rule and audit, or rejects it with a reason. A file
that names another patient is never written into that patient: it is read for the link's
patient only, so its rows naming another reference are refused and a FHIR patient of another
name or birth date is an identity disagreement the reviewer sees. The clinic's setting
``inbox_auto_import`` lets files that pass every check import without a person.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, Operator, as_user, audit_name
from dashboard.audit_actions import AuditAction
from dashboard.db import audit, share_links
from dashboard.db.models import ImportRecord, Patient
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.identity import identity_words
from dashboard.ingest.writer import ImportReport
from dashboard.usecases import imports
from dashboard.usecases.guard import guarded
from dashboard.usecases.share_links import now_utc

NOT_IN_INBOX = "This file is not in your inbox."  # one wording, whether the file exists or not
AUTOMATIC = Operator("automatic import")  # who the audit trail names for the clinic's automatic import
DONE = ("imported", "already-imported", "nothing-to-import")  # outcomes that decide a waiting file
RECORD_WORDS = {"titration_steps": "titration step(s)", "visits": "visit(s)", "co_medications": "co-medication(s)"}


class AlreadyDecided(ValueError):
    """The file was imported or rejected already (a second click, or someone else first)."""


@dataclass(frozen=True)
class ReceivedFile:
    """A file sent through a share link, as the inbox names it: which record, link, patient and file."""

    record_id: int
    link_id: int
    patient_ref: str
    patient_name: str | None
    received_at: datetime
    file_name: str


@dataclass(frozen=True)
class InboxItem(ReceivedFile):
    """A waiting file and what its dry run says (``check``: the import service's report, nothing written)."""

    size: int
    check: ImportReport

    @property
    def would_add(self) -> str:
        return _would_add(self.check)

    @property
    def identity(self) -> list[str]:
        """The identity check in words, one line per patient of the file (patient text: plain text only)."""
        return [identity_words(c) for c in self.check.identities]

    @property
    def identity_summary(self) -> str:
        """The identity check in a few words, for the inbox's table (the lines above say it whole)."""
        if self.needs_same_person:
            return "DIFFERS: same-person reason needed"
        said = [c for c in self.check.identities
                if c["file"]["name"] or c["file"]["birth_date"] or c["file"]["identifiers"]]
        return "agrees with the stored patient" if said else "the file does not say who (read as the link's patient)"

    @property
    def check_summary(self) -> str:
        """Whether one click would import it, or what stands in the way."""
        report = self.check
        problems = [f"{len(report.refused_rows)} refused row(s)"] if report.refused_rows else []
        problems += [f"{len(report.conflicts)} conflict(s)"] if report.conflicts else []
        problems += ["prescriptions to confirm"] if self.needs_prescription else []
        problems += ["identity differs"] if self.needs_same_person else []
        if problems:
            return "; ".join(problems)
        return {"would-import": "ready to import", "already-imported": "already stored",
                "nothing-to-import": "nothing the dashboard reads"}.get(report.status, report.status)

    @property
    def needs_same_person(self) -> bool:
        return any(c["needs_confirmation"] for c in self.check.identities)

    @property
    def needs_prescription(self) -> bool:
        return bool(self.check.prescription.get("needs_confirmation"))

    @property
    def passes_every_check(self) -> bool:
        return _passes_every_check(self.check)


@dataclass(frozen=True)
class DecidedItem(ReceivedFile):
    """A received file someone (or the automatic import) decided."""

    status: str  # accepted | rejected
    decided_by: str | None
    decided_at: datetime | None
    decision: str | None
    result_import_id: int | None


@dataclass(frozen=True)
class Inbox:
    waiting: list[InboxItem]
    decided: list[DecidedItem]


def _would_add(report: ImportReport) -> str:
    """What a dry run would write, in words ("nothing new" when nothing)."""
    parts = [f"{report.entries_added} diary entr{'y' if report.entries_added == 1 else 'ies'}"] \
        if report.entries_added else []
    parts += [f"{n} {RECORD_WORDS.get(kind, kind)}" for kind, n in report.records_added.items()
              if n and kind != "measures"]
    if report.measures_added:
        parts.append(f"{report.measures_added} measure(s)")
    return ", ".join(parts) or "nothing new"


def _passes_every_check(report: ImportReport) -> bool:
    """Whether a dry run may become an import without a person: something to import or already
    stored, no refused row, no conflict, no identity question, no prescription to confirm."""
    return (report.status in ("would-import", "already-imported") and not report.refused_rows
            and not report.conflicts and not any(c["needs_confirmation"] for c in report.identities)
            and not report.prescription.get("needs_confirmation"))


def _url(session: Session) -> str:
    """The caller's database, for the import service (which opens its own units of work)."""
    return session.get_bind().url.render_as_string(hide_password=False)


def _decided_item(record: ImportRecord, patient: Patient) -> DecidedItem:
    return DecidedItem(record_id=record.id, link_id=record.share_link_id, patient_ref=patient.ref,
                       patient_name=patient.name, received_at=record.imported_at, file_name=record.file_name,
                       status=record.status, decided_by=record.decided_by, decided_at=record.decided_at,
                       decision=record.decision, result_import_id=record.result_import_id)


def inbox(session: Session, actor: Actor, *, audit_view: bool = True, decided_limit: int = 20) -> Inbox:
    """The waiting files of the patients ``actor`` may import for (``access.inbox_patient_ids``),
    oldest first, each with a dry run of its import for the link's patient, and the files decided
    most recently. Audited as one view naming the patients shown (``audit_view``: the page's
    reruns do not repeat it); the dry runs are audited by the import service as any dry run."""
    user = as_user(actor)
    ids = access.inbox_patient_ids(session, user)
    waiting = [(r.id, r.share_link_id, p.ref, p.name, r.imported_at, r.file_name, bytes(r.original))
               for r, p in share_links.waiting(session, ids)]
    decided = [_decided_item(r, p) for r, p in share_links.decided(session, ids, limit=decided_limit)]
    url = _url(session)
    # Nothing written yet: end this read, so the dry runs (own units of work, perhaps an audit row)
    # and this session's view row do not hold SQLite's one writer against each other.
    session.commit()
    items = [InboxItem(record_id=rid, link_id=lid, patient_ref=ref, patient_name=name, received_at=at,
                       file_name=file_name, size=len(raw),
                       check=imports.import_file(actor, raw, file_name, url=url, dry_run=True, patient_ref=ref))
             for rid, lid, ref, name, at, file_name, raw in waiting]
    shown = sorted({i.patient_ref for i in items} | {d.patient_ref for d in decided})
    with guarded(session, actor, AuditAction.VIEW_INBOX, True, audit_success=audit_view and bool(shown),
                 detail={"patients": shown, "waiting": [i.record_id for i in items],
                         "decided": [d.record_id for d in decided]}):
        return Inbox(waiting=items, decided=decided)


def _waiting_file(session: Session, actor: Actor, record_id: int, action: str) -> tuple[ImportRecord, Patient]:
    """The received file and its patient, or ``NotAllowed`` (audited) when it is not in the
    actor's inbox, in one wording whether it exists or not; ``AlreadyDecided`` when decided."""
    found = share_links.received_with_patient(session, record_id)
    allowed = found is not None and access.may_decide_received(session, as_user(actor), found[1].id)
    with guarded(session, actor, action, allowed, detail={"record": record_id}, message=NOT_IN_INBOX,
                 denied_patient_id=None if found is None else found[1].id, audit_success=False):
        record, patient = found
    if record.status != share_links.RECEIVED:
        when = f" on {record.decided_at:%d %b %Y %H:%M}" if record.decided_at else ""
        raise AlreadyDecided(f"This file was already {record.status} by {record.decided_by}{when}.")
    return record, patient


def _accepted(url: str | None, actor: Actor, record_id: int, report: ImportReport, *, automatic: bool) -> None:
    """Mark the received file accepted as ``report``'s import, once, with its audit row."""
    with session_scope(url) as session:
        record, patient = share_links.received_with_patient(session, record_id)
        if not share_links.decide(session, record, status=share_links.ACCEPTED, by=audit_name(actor), now=now_utc(),
                                  decision=report.same_person, result_import_id=report.import_id):
            raise AlreadyDecided(f"This file was already {record.status} by {record.decided_by}.")
        detail = {"record": record_id, "link": record.share_link_id, "file": record.file_name,
                  "import_id": report.import_id, "outcome": report.status, "automatic": automatic}
        audit.record(session, actor=audit_name(actor), action=AuditAction.INBOX_ACCEPT, patient_id=patient.id,
                     detail=detail)


def accept_received(actor: Actor, record_id: int, *, same_person: str | None = None,
                    confirm_prescription: str | None = None, url: str | None = None) -> ImportReport:
    """Import a waiting file through the import service for its link's patient (the same identity
    rule: a disagreement is refused unless ``same_person`` gives the reason; the same audit),
    then mark it accepted with the import it became. A refused import leaves it waiting and
    the report says why. ``NotAllowed`` (audited) outside the actor's inbox; ``AlreadyDecided``
    after someone decided it (a second click, or a concurrent accept)."""
    with session_scope(url) as session:
        record, patient = _waiting_file(session, actor, record_id, AuditAction.INBOX_ACCEPT)
        raw, file_name, ref = bytes(record.original), record.file_name, patient.ref
    report = imports.import_file(actor, raw, file_name, url=url, patient_ref=ref, same_person=same_person or None,
                                 confirm_prescription=confirm_prescription or None)
    if report.status in DONE:
        _accepted(url, actor, record_id, report, automatic=False)
    return report


def reject_received(session: Session, actor: Actor, record_id: int, reason: str) -> None:
    """Reject a waiting file with a reason (required), audited; its bytes stay kept.
    ``NotAllowed`` (audited) outside the actor's inbox; ``AlreadyDecided`` after a decision."""
    record, patient = _waiting_file(session, actor, record_id, AuditAction.INBOX_REJECT)
    reason = (reason or "").strip()
    if not reason:
        raise ValueError("Give the reason for rejecting this file: it is kept in the audit trail.")
    if not share_links.decide(session, record, status=share_links.REJECTED, by=audit_name(actor), now=now_utc(),
                              decision=reason[:2000]):
        raise AlreadyDecided(f"This file was already {record.status} by {record.decided_by}.")
    audit.record(session, actor=audit_name(actor), action=AuditAction.INBOX_REJECT, patient_id=patient.id,
                 detail={"record": record_id, "link": record.share_link_id, "file": record.file_name,
                         "reason": reason[:2000]})


def auto_import_received(url: str | None, record_ids: list[int]) -> dict[int, str]:
    """The clinic's automatic import of files just received (called after the upload commits):
    with ``inbox_auto_import`` on, each file whose dry run passes every check
    (``_passes_every_check``) is imported as ``AUTOMATIC`` and marked accepted; any other stays
    waiting. Each record id's outcome: "imported", "already-imported" or "waiting"."""
    with session_scope(url) as session:
        on = load_thresholds(session).inbox_auto_import == "on"
        files = {}
        for record_id in record_ids:
            found = share_links.received_with_patient(session, record_id)
            if on and found is not None and found[0].status == share_links.RECEIVED:
                files[record_id] = (bytes(found[0].original), found[0].file_name, found[1].ref)
    outcome = {record_id: "waiting" for record_id in record_ids}
    for record_id, (raw, file_name, ref) in files.items():
        check = imports.import_file(AUTOMATIC, raw, file_name, url=url, dry_run=True, patient_ref=ref)
        if not _passes_every_check(check):
            continue
        report = imports.import_file(AUTOMATIC, raw, file_name, url=url, patient_ref=ref)
        if report.status in ("imported", "already-imported") and not report.refused_rows:
            try:
                _accepted(url, AUTOMATIC, record_id, report, automatic=True)
            except AlreadyDecided:
                continue  # a person decided it meanwhile: theirs stands
            outcome[record_id] = report.status
    return outcome
