"""Changing the clinic's thresholds (and the administrator's security settings)."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.config import Thresholds
from dashboard.db.settings_store import load_thresholds, save_thresholds
from dashboard.usecases.guard import guarded


def thresholds(session: Session, actor=None) -> Thresholds:
    """The clinic's thresholds (defaults overridden by what the clinic changed); no patient data."""
    return load_thresholds(session)


def change_thresholds(session: Session, actor: User, changes: dict) -> list[str]:
    """A user's change of thresholds, allowed per key by ``dashboard.access`` and audited with the
    old and new values; the keys whose value changed.

    A key the user may not change refuses the whole change with ``NotAllowed`` after a committed
    "denied" row; an invalid value raises ValueError and nothing is saved.
    """
    refused = sorted(key for key in changes if not access.may_change_setting(actor, key))
    with guarded(session, actor, AuditAction.SETTINGS_CHANGE, not refused, denied_detail={"refused": refused},
                 message=f"your role cannot change: {', '.join(refused)}") as done:
        before = asdict(load_thresholds(session))
        changed = save_thresholds(session, changes, updated_by=actor.username)
        done.detail = {key: {"from": before[key], "to": changes[key]} for key in changed}
        if not changed:
            done.skip()
    return changed
