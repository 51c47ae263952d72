"""What the patient's upload page does with a share link (issue 22): whether it works, and the
files sent through it, checked at once and kept in the clinic's inbox.

No account acts here: whoever holds the link's token does, and the audit trail names the link
("share link 12"). The page tells the sender what was received or why a file was not, in plain
words, and nothing about the patient's record: a file is read by the dashboard's own parsers
without a patient (``ingest.service.parse``; a format that names no patient is read for a
placeholder), never compared with the stored patient, whose name, references and figures the
page never sees. The clinic's inbox makes that comparison (``usecases.inbox``).

A readable file is kept (``db.share_links.keep_received``, status ``received``): all of one
submission's in one transaction with the link's use. An unreadable file is refused and not kept:
it gives the clinic nothing to import, and bytes from an anonymous link that no parser reads
(an archive, a web page, a program) are better not stored for staff to download; the refusal is
audited with the file's name, size and the reason, and the sender is told at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from dashboard.audit_actions import AuditAction
from dashboard.config import SHARE_LIMITS, ShareLimits
from dashboard.db import audit, share_links as store
from dashboard.db.models import Patient
from dashboard.ingest import detect
from dashboard.ingest.profiles import list_profiles, load_profile, parse_with_profile
from dashboard.ingest.records import FileRefused, ParsedFile
from dashboard.ingest.service import UnknownFormat, parse
from dashboard.usecases.guard import refuse
from dashboard.usecases.share_links import now_utc

GONE = "This link no longer works. Ask your clinic for a new one."
BUSY = "Too many files have been sent in the last hour. Please try again later."
CLINIC_BUSY = "The clinic is receiving many files right now. Please try again in an hour."
PLACEHOLDER = "SHARED-FILE"  # the patient a format without one is read for, here only: never a stored patient
NOT_READ = ("is not a diary file this clinic's dashboard reads (a diary CSV, a FHIR file, a Bearable or a "
            "Privacy Friendly Pain Diary export): export it again from your diary app")
CLINIC_FORMATS = {"titration": "a prescription list", "visits": "a visit list"}
ARCHIVES = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b", b"7z\xbc\xaf", b"Rar!")


@dataclass(frozen=True)
class Upload:
    """One file as the page received it."""

    name: str
    raw: bytes


@dataclass(frozen=True)
class FileAnswer:
    """What the page says about one file: received, or why not (plain words, text only)."""

    name: str
    received: bool
    message: str


@dataclass
class UploadAnswer:
    """The page's answer to a submission; ``record_ids``: the received files kept (for the inbox)."""

    files: list[FileAnswer] = field(default_factory=list)
    busy: str | None = None
    record_ids: list[int] = field(default_factory=list)


def clean_name(name: str | None) -> str:
    """The file's name without any folder, control character or lone surrogate, at most 200 characters."""
    base = (name or "").replace("\\", "/").rsplit("/", 1)[-1]
    base = "".join(ch for ch in base if ch.isprintable() and not "\ud800" <= ch <= "\udfff").strip()
    return base[:200] or "unnamed file"


def _link_actor(link) -> str:
    return f"share link {link.id}" if link is not None else "share link"


def link_works(session: Session, token: str, *, now: datetime | None = None) -> bool:
    """Whether the page may offer its form: the link exists and is live. Nothing is counted or
    audited (the form shows nothing of the patient); an unknown, expired, revoked or used-up link
    gets the same answer."""
    link = store.by_token(session, token)
    return link is not None and store.state(link, now or now_utc()) == store.LIVE


def _for_anyone(read, upload: Upload) -> ParsedFile:
    """``read(patient_ref)`` for the patient the file names, else (a format naming none) for the placeholder."""
    try:
        return read(None)
    except FileRefused as exc:
        if exc.refused.column not in ("patient", "patient_id"):
            raise
        return read(PLACEHOLDER)


def _read(session: Session, upload: Upload) -> ParsedFile:
    """The file as the dashboard reads it, for no stored patient; FileRefused in plain words."""
    if upload.raw.startswith(ARCHIVES):
        raise FileRefused(upload.name, "is a compressed file (.zip, .gz, ...), which is not read: send the files "
                                       "inside it")
    try:
        return _for_anyone(lambda ref: parse(upload.raw, upload.name, patient_ref=ref), upload)
    except UnknownFormat:
        if detect.lacks_dates(upload.raw, upload.name):
            raise FileRefused(upload.name, "has no dates: export it again with dates") from None
        for name in list_profiles(session):  # a layout the clinic saved for another diary app
            profile = load_profile(session, name)
            try:
                parsed = _for_anyone(lambda ref: parse_with_profile(upload.raw, upload.name, profile, patient_ref=ref),
                                     upload)
            except (FileRefused, LookupError, ValueError):
                continue
            if parsed.diary:
                return parsed
        raise FileRefused(upload.name, NOT_READ) from None


def check_file(session: Session, upload: Upload, limits: ShareLimits = SHARE_LIMITS) -> tuple[str | None, str]:
    """(None, what was received) or (why not, the same in the page's words) for one file."""
    if len(upload.raw) > limits.file_bytes:
        why = f"is larger than {limits.file_bytes // (1024 * 1024)} MB: send a shorter period, or split it"
        return why, f"{upload.name} {why}."
    if not upload.raw:
        return "is empty", f"{upload.name} is empty."
    try:
        parsed = _read(session, upload)
    except FileRefused as exc:
        reason = exc.refused.reason
        return reason, f"{upload.name} {reason}." if reason.startswith(("is ", "has ")) else \
            f"{upload.name} could not be read ({reason})."
    if parsed.format in CLINIC_FORMATS:
        why = f"is {CLINIC_FORMATS[parsed.format]}, which the clinic keeps itself: it is not taken here"
        return why, f"{upload.name} {why}."
    days = len({r.recorded_at.date() for r in parsed.diary})
    other = len(parsed.measures) + len(parsed.comedications)
    if parsed.holds_nothing() or (not days and not other):
        return "holds no diary entries", f"{upload.name} holds no diary entries: export it again with your entries."
    said = [f"{days} day{'s' if days != 1 else ''} of diary"] if days else []
    said += [f"{other} other reading{'s' if other != 1 else ''}"] if other else []
    skipped = f" ({len(parsed.refused)} rows could not be read; the clinic will see which)" if parsed.refused else ""
    return None, f"{upload.name}: {' and '.join(said)} received{skipped}."


def _refuse_file(session: Session, link, upload: Upload, why: str) -> None:
    audit.record(session, actor=_link_actor(link), action=AuditAction.SHARE_LINK_UPLOAD, outcome="refused",
                 patient_id=link.patient_id,
                 detail={"link": link.id, "file": upload.name, "bytes": len(upload.raw), "reason": why})


def receive_upload(session: Session, token: str, uploads: list[Upload], *, now: datetime | None = None,
                   limits: ShareLimits = SHARE_LIMITS) -> UploadAnswer:
    """Check each file and keep the readable ones in the inbox, with one use of the link.

    ``NotAllowed`` (audited, committed) when the link is unknown, expired, revoked or used up:
    one message for all. Over the hourly limits (of the link, of every link) nothing is kept and
    the answer says so (``busy``); each file's refusal is audited. The caller hands
    ``record_ids`` to the inbox after the transaction commits."""
    now = now or now_utc()
    link = store.by_token(session, token)
    state = "unknown" if link is None else store.state(link, now)
    if state != store.LIVE:
        refuse(session, _link_actor(link), AuditAction.SHARE_LINK_UPLOAD, message=GONE,
               patient_id=None if link is None else link.patient_id,
               detail={"link": None if link is None else link.id, "reason": state, "files": len(uploads)})
    answer = UploadAnswer()
    if len(uploads) > limits.files_per_submission:
        answer.busy = f"Please send at most {limits.files_per_submission} files at once."
        for upload in uploads:
            _refuse_file(session, link, upload, "too many files in one submission")
        return answer
    readable: list[tuple[Upload, str]] = []
    for upload in uploads:
        why, said = check_file(session, upload, limits)
        answer.files.append(FileAnswer(upload.name, why is None, said))
        if why is None:
            readable.append((upload, said))
        else:
            _refuse_file(session, link, upload, why)
    if not readable:
        return answer
    store.lock_uploads(session, link)  # until commit: the limits below hold for a burst
    busy = _over_limits(session, link, [u for u, _ in readable], now, limits)
    if busy is None and not store.count_use(session, link):
        busy = GONE  # its last use was taken by a submission a moment ago
    if busy is not None:
        for upload, _ in readable:
            _refuse_file(session, link, upload, "hourly limit" if busy != GONE else "used up")
        return UploadAnswer(files=[f if not f.received else FileAnswer(f.name, False, f"{f.name} was not kept.")
                                   for f in answer.files], busy=busy)
    patient_ref = session.get(Patient, link.patient_id).ref  # the inbox's; never shown on the page
    for upload, said in readable:
        record = store.keep_received(session, link, patient_ref, file_name=upload.name, raw=upload.raw, now=now)
        answer.record_ids.append(record.id)
        audit.record(session, actor=_link_actor(link), action=AuditAction.SHARE_LINK_UPLOAD, patient_id=link.patient_id,
                     detail={"link": link.id, "file": upload.name, "bytes": len(upload.raw), "record": record.id,
                             "received": said})
    return answer


def _over_limits(session: Session, link, files: list[Upload], now: datetime, limits: ShareLimits) -> str | None:
    since = now - timedelta(hours=1)
    count, size = len(files), sum(len(u.raw) for u in files)
    link_files, link_bytes = store.uploads_since(session, since, link_id=link.id)
    if link_files + count > limits.link_files_per_hour or link_bytes + size > limits.link_bytes_per_hour:
        return BUSY
    all_files, all_bytes = store.uploads_since(session, since)
    if all_files + count > limits.all_files_per_hour or all_bytes + size > limits.all_bytes_per_hour:
        return CLINIC_BUSY
    return None
