"""Logging in, and the administrator's accounts and shares."""

from __future__ import annotations

from collections.abc import Callable

import pandas as pd
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.auth.accounts import authenticate
from dashboard.db import admin_queries
from dashboard.usecases.guard import guarded


def log_in(session: Session, username: str, password: str) -> tuple[User | None, str]:
    """A password login (no actor yet: it reads accounts only); the attempt's audit row and any
    lockout are written by ``auth.accounts.authenticate`` in this unit of work."""
    return authenticate(session, username.strip(), password)


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
