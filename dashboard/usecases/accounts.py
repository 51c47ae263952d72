"""Logging in, and the administrator's accounts and shares."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pandas as pd
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.auth import login_sessions
from dashboard.auth.accounts import authenticate
from dashboard.config import database_url
from dashboard.db import admin_queries, audit, session_key
from dashboard.usecases.guard import guarded


def log_in(session: Session, username: str, password: str) -> tuple[User | None, str]:
    """A password login (no actor yet: it reads accounts only); the attempt's audit row and any
    lockout are written by ``auth.accounts.authenticate`` in this unit of work."""
    return authenticate(session, username.strip(), password)


def keep_login(session: Session, actor: User) -> tuple[int, str] | None:
    """After a password login: a kept login (row id, the page's one-minute hand-over code), or None
    when the session key may not be used here (the login then lasts one page load, as before)."""
    if session_key.placement_problem(database_url()):
        return None
    return login_sessions.begin(session, actor)


def redeem_handoff(session: Session, handoff: str) -> tuple[str, int] | None:
    """The server's cookie route: the signed cookie value and its lifetime (seconds) for a valid
    hand-over code, used once; None otherwise. No actor: the code stands for the login just made."""
    return login_sessions.redeem(session, session_key.load(database_url()), handoff)


def resume_login(session: Session, cookie: str, idle: timedelta) -> tuple[User | None, int | None, str]:
    """A reload: the account of a kept login's cookie, checked and audited like a login."""
    return login_sessions.resume(session, session_key.load(database_url()), cookie, idle)


def kept_login_ended(session: Session, actor: User, row_id: int, idle: timedelta) -> str | None:
    """Every run of a kept login: why it has ended (logout elsewhere, 12 hours, account changed), or None."""
    return login_sessions.check(session, row_id, idle)


def log_out(session: Session, actor: User, reason: str, kept_row_id: int | None) -> None:
    """Logout (by the user, after the idle limit, or because the account changed): the audit row,
    and the kept login ended with it."""
    audit.record(session, actor=actor.username, action=AuditAction.LOGOUT, detail={"reason": reason})
    if kept_row_id is not None:
        login_sessions.end(session, kept_row_id, reason)


def forget_cookie(session: Session, cookie: str) -> None:
    """The browser dropping its cookie (the server's route, after a logout): the kept login it names ends."""
    login_sessions.end_by_cookie(session, session_key.load(database_url()), cookie, "logout")


def accounts_overview(session: Session, actor: User) -> tuple[pd.DataFrame, list[str]]:
    """The accounts table and every patient reference (administrators only)."""
    with guarded(session, actor, AuditAction.ADMIN_PAGE, access.may_manage_accounts(actor), audit_success=False):
        return admin_queries.accounts_frame(session), admin_queries.patient_refs(session)


def shared_refs(session: Session, actor: User, username: str) -> list[str]:
    with guarded(session, actor, AuditAction.ADMIN_PAGE, access.may_manage_accounts(actor), audit_success=False):
        return admin_queries.shared_refs(session, username)


def change_account(session: Session, actor: User, action: AuditAction, detail: dict,
                   change: Callable[[Session], None]) -> None:
    """Apply ``change(session)`` and its audit row together (administrators only).
    Raises AccountError or IntegrityError when the change is refused."""
    with guarded(session, actor, action, access.may_manage_accounts(actor), detail=detail) as done:
        change(session)
        if "patient" in detail:
            done.patient_id = admin_queries.patient_id_of(session, detail["patient"])
