"""Storage of share links and of the files patients send through them (the clinic's inbox).

Storage only: who may make, revoke or decide is asked in ``dashboard.usecases`` (issue 22). A
link's token exists only in the link handed to the patient; the store keeps its SHA-256, so a
copy of the database cannot upload for anyone.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime

from sqlalchemy import func, select, text, update
from sqlalchemy.orm import Session

from dashboard.db.models import ImportRecord, Patient, ShareLink

TOKEN_BYTES = 32  # 256 bits from the operating system's generator: not guessable, not enumerable
RECEIVED, ACCEPTED, REJECTED = "received", "accepted", "rejected"
INBOX_FORMAT = "received"  # the kept record's format until someone imports it (the import reads it again)


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create(session: Session, patient_id: int, *, created_by: str, now: datetime, expires_at: datetime,
           max_uses: int | None) -> tuple[ShareLink, str]:
    """A new link and its token (to be shown once, never stored)."""
    token = new_token()
    link = ShareLink(patient_id=patient_id, token_sha256=token_hash(token), created_by=created_by[:200],
                     created_at=now, expires_at=expires_at, max_uses=max_uses, uses=0)
    session.add(link)
    session.flush()
    return link, token


def by_token(session: Session, token: str) -> ShareLink | None:
    if not token or len(token) > 200:
        return None
    return session.scalars(select(ShareLink).where(ShareLink.token_sha256 == token_hash(token))).first()


def by_id(session: Session, link_id: int) -> ShareLink | None:
    return session.get(ShareLink, link_id)


def for_patient(session: Session, patient_id: int) -> list[ShareLink]:
    """A patient's links, newest first."""
    return list(session.scalars(select(ShareLink).where(ShareLink.patient_id == patient_id)
                                .order_by(ShareLink.id.desc())))


def revoke(session: Session, link: ShareLink, *, by: str, now: datetime) -> None:
    if link.revoked_at is None:
        link.revoked_at, link.revoked_by = now, by[:200]
        session.flush()


def count_use(session: Session, link: ShareLink) -> bool:
    """One use of the link, counted in the database (``uses + 1`` where still below the limit), so
    two uploads at once cannot both take a link's last use. False when it was already used up."""
    statement = update(ShareLink).where(ShareLink.id == link.id)
    if link.max_uses is not None:
        statement = statement.where(ShareLink.uses < ShareLink.max_uses)
    done = session.execute(statement.values(uses=ShareLink.uses + 1)).rowcount == 1
    session.refresh(link)
    return done


LIVE, EXPIRED, USED_UP, REVOKED = "live", "expired", "used up", "revoked"
UPLOAD_LOCK = 220022  # PostgreSQL advisory lock key: one upload's limit check and write at a time


def state(link: ShareLink, now: datetime) -> str:
    """What a link is at ``now``: live, or why not (revoked first, then expired, then used up)."""
    if link.revoked_at is not None:
        return REVOKED
    if link.expires_at <= now:
        return EXPIRED
    if link.max_uses is not None and link.uses >= link.max_uses:
        return USED_UP
    return LIVE


def lock_uploads(session: Session, link: ShareLink) -> None:
    """Hold the uploads' lock until the transaction ends, so that two submissions at once (from
    any server process) cannot both pass the hourly limits: PostgreSQL's transaction-scoped
    advisory lock; on SQLite a write to the link (its uses, unchanged) takes the database's one
    write lock, and the reads after it see every upload committed before."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": UPLOAD_LOCK})
    else:
        session.execute(update(ShareLink).where(ShareLink.id == link.id).values(uses=ShareLink.uses))


def keep_received(session: Session, link: ShareLink, patient_ref: str, *, file_name: str, raw: bytes,
                  now: datetime, message: str | None = None) -> ImportRecord:
    """A file sent through ``link``, kept for the link's patient and written into nothing."""
    record = ImportRecord(
        file_name=file_name[:500], sha256=hashlib.sha256(raw).hexdigest(), format=INBOX_FORMAT,
        scope=f"share-link={link.id}", imported_by=f"share link {link.id}", imported_at=now, status=RECEIVED,
        patients=[patient_ref], patients_created=[], entries_added=0, entries_unchanged=0, records_added={},
        records_unchanged={}, conflicts=[], refused_rows=[], ignored={}, original=raw, message=message,
        share_link_id=link.id,
    )
    session.add(record)
    session.flush()
    return record


def uploads_since(session: Session, since: datetime, *, link_id: int | None = None) -> tuple[int, int]:
    """(files, bytes) received since ``since``, through one link or through every link: what the
    upload limits per hour count."""
    r = ImportRecord
    statement = select(func.count(r.id), func.coalesce(func.sum(func.length(r.original)), 0)).where(
        r.share_link_id.is_not(None), r.imported_at >= since)
    if link_id is not None:
        statement = statement.where(r.share_link_id == link_id)
    files, size = session.execute(statement).one()
    return int(files), int(size)


def waiting(session: Session, patient_ids: list[int] | None = None) -> list[tuple[ImportRecord, Patient]]:
    """Received files not yet decided, oldest first, with their patient (through their link)."""
    statement = (select(ImportRecord, Patient).join(ShareLink, ImportRecord.share_link_id == ShareLink.id)
                 .join(Patient, Patient.id == ShareLink.patient_id)
                 .where(ImportRecord.status == RECEIVED).order_by(ImportRecord.id))
    if patient_ids is not None:
        statement = statement.where(Patient.id.in_(patient_ids))
    return [(record, patient) for record, patient in session.execute(statement).all()]


def waiting_counts(session: Session) -> dict[int, int]:
    """Files waiting in the inbox per patient id (the worklist's "files waiting")."""
    rows = session.execute(select(ShareLink.patient_id, func.count(ImportRecord.id))
                           .join(ImportRecord, ImportRecord.share_link_id == ShareLink.id)
                           .where(ImportRecord.status == RECEIVED).group_by(ShareLink.patient_id)).all()
    return {pid: int(n) for pid, n in rows}


def decide(session: Session, record: ImportRecord, *, status: str, by: str, now: datetime, decision: str | None,
           result_import_id: int | None = None) -> bool:
    """Mark a received file accepted or rejected, once: False when someone else decided first
    (the update only matches a record still ``received``)."""
    assert status in (ACCEPTED, REJECTED)
    done = session.execute(update(ImportRecord).where(ImportRecord.id == record.id,
                                                      ImportRecord.status == RECEIVED)
                           .values(status=status, decided_by=by[:200], decided_at=now, decision=decision,
                                   result_import_id=result_import_id)).rowcount == 1
    session.refresh(record)
    return done
