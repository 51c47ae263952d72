"""A local account's login that survives a page reload: a signed, HTTP-only cookie holding a
random session id, and a ``login_session`` row holding only the id's SHA-256.

How the cookie is set (``dashboard.server``, docs/security.md): the login creates the row with a
one-minute, single-use hand-over code; the page posts that code to the server's own route, which
answers with the cookie (HTTP-only, SameSite=Strict, Secure behind HTTPS). The id itself never
appears in the page. A reload opens a new Streamlit session, which finds the cookie among the
websocket's request cookies (``st.context.cookies``) and resumes here, after checking the row
(not ended, at most 12 hours old, not idle longer than the clinic's limit) and the account (active,
same role, same credential version, still a password account). Every run of a resumed or new
session checks its row again (``check``), so a logout in another tab ends this one too.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import as_user
from dashboard.db import audit
from dashboard.db.models import Clinician, LoginSession

COOKIE = "dashboard_session"
LIFETIME = timedelta(hours=12)  # absolute: a kept login ends 12 hours after the password was typed
HANDOFF = timedelta(seconds=60)
TOUCH_EVERY = timedelta(seconds=30)  # how stale ``last_seen_at`` may be (the idle check's resolution)
METHOD = "resumed session"


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def short(token_hash: str) -> str:
    """What the audit trail names a session by: a prefix of the id's hash, never the id."""
    return token_hash[:12]


def sign(key: bytes, session_id: str) -> str:
    return f"{session_id}.{hmac.new(key, session_id.encode('ascii'), hashlib.sha256).hexdigest()}"


def unsigned(key: bytes, value: str) -> str | None:
    """The session id of a cookie whose signature is ours, else None."""
    session_id, _, signature = value.rpartition(".")
    if not session_id or len(value) > 200 or not session_id.isascii():
        return None
    expected = hmac.new(key, session_id.encode("ascii"), hashlib.sha256).hexdigest()
    return session_id if hmac.compare_digest(expected, signature) else None


def begin(session: Session, user: User) -> tuple[int, str]:
    """A new kept login for ``user`` (just authenticated): (its row id, the hand-over code)."""
    now = _now()
    handoff = secrets.token_urlsafe(32)
    row = LoginSession(clinician_id=user.id, handoff_hash=_hash(handoff), handoff_until=now + HANDOFF,
                       role=user.role, credential_version=user.credential_version, created_at=now,
                       last_seen_at=now, expires_at=now + LIFETIME)
    session.add(row)
    session.flush()
    return row.id, handoff


def redeem(session: Session, key: bytes, handoff: str) -> tuple[str, int] | None:
    """The signed cookie value and its lifetime in seconds for a valid hand-over code (used once), or None."""
    now = _now()
    row = session.scalar(select(LoginSession).where(LoginSession.handoff_hash == _hash(handoff)))
    if row is None or row.ended_at is not None or row.token_hash is not None or row.handoff_until < now:
        return None
    session_id = secrets.token_urlsafe(32)
    row.token_hash, row.handoff_hash, row.handoff_until = _hash(session_id), None, None
    return sign(key, session_id), max(1, int((row.expires_at - now).total_seconds()))


def resume(session: Session, key: bytes, cookie: str, idle: timedelta) -> tuple[User | None, int | None, str]:
    """The account of a kept login, audited like a login: (user, row id, '') or (None, None, why)."""
    session_id = unsigned(key, cookie)
    if session_id is None:
        return _refused(session, "?", None, "the session cookie's signature is not valid")
    token_hash = _hash(session_id)
    row = session.scalar(select(LoginSession).where(LoginSession.token_hash == token_hash))
    if row is None:
        return _refused(session, "?", None, "unknown session", token_hash)
    account = session.get(Clinician, row.clinician_id)
    why = _ended(row, account, idle)
    if why:
        return _refused(session, account.username, row, why, token_hash)
    row.last_seen_at = _now()
    audit.record(session, actor=account.username, action=AuditAction.LOGIN, outcome="ok",
                 detail={"method": METHOD, "session": short(token_hash)})
    return as_user(account), row.id, ""


def check(session: Session, row_id: int, idle: timedelta) -> str | None:
    """Why the open session's kept login has ended (it is ended now), or None; run on every run."""
    row = session.get(LoginSession, row_id)
    if row is None:
        return "session unknown"
    why = _ended(row, session.get(Clinician, row.clinician_id), idle)
    if why:
        end(session, row_id, why)
        return why
    now = _now()
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return None


def end(session: Session, row_id: int, reason: str) -> None:
    row = session.get(LoginSession, row_id)
    if row is not None and row.ended_at is None:
        row.ended_at, row.ended_reason = _now(), reason[:100]
        row.handoff_hash = row.handoff_until = None


def end_by_cookie(session: Session, key: bytes, cookie: str, reason: str) -> None:
    """End the kept login a cookie names, if its signature is ours (the browser's logout)."""
    session_id = unsigned(key, cookie)
    if session_id is not None:
        row = session.scalar(select(LoginSession).where(LoginSession.token_hash == _hash(session_id)))
        if row is not None:
            end(session, row.id, reason)


def _ended(row: LoginSession, account: Clinician | None, idle: timedelta) -> str | None:
    now = _now()
    if row.ended_at is not None:
        return f"session ended ({row.ended_reason})"
    if now >= row.expires_at:
        return "session expired"
    if now - row.last_seen_at > idle + TOUCH_EVERY:
        return "idle"
    if account is None or not account.active or account.password_hash is None:
        return "account disabled or changed"
    if account.role != row.role:
        return "account disabled or changed"
    if (account.credential_version or 0) != row.credential_version:
        return "password changed"
    return None


def _refused(session: Session, actor: str, row: LoginSession | None, why: str,
             token_hash: str | None = None) -> tuple[None, None, str]:
    if row is not None:
        end(session, row.id, why)
    detail = {"method": METHOD, "reason": why}
    if token_hash:
        detail["session"] = short(token_hash)
    audit.record(session, actor=actor, action=AuditAction.LOGIN, outcome="failed", detail=detail)
    return None, None, why
