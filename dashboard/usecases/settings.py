"""The clinic's thresholds: read by everyone, changed by administrators and the clinic's lead
clinician (the administrator's security settings by administrators alone): ``dashboard.access``
asks each threshold's record in ``config.THRESHOLDS``."""

from __future__ import annotations

from dataclasses import asdict

from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Actor, as_user, audit_name
from dashboard.audit_actions import AuditAction
from dashboard.config import THRESHOLD, Thresholds
from dashboard.db.settings_store import load_thresholds, save_thresholds
from dashboard.usecases.guard import guarded


def thresholds(session: Session, actor=None) -> Thresholds:
    """The clinic's thresholds (defaults overridden by what the clinic changed); no patient data."""
    return load_thresholds(session)


def changeable(session: Session, actor: Actor) -> tuple[str, ...]:
    """The thresholds ``actor`` may change (none: the settings page shows them read-only)."""
    return access.changeable_settings(as_user(actor))


def _refusal(keys: list[str]) -> str:
    """Why a change of these thresholds is refused, in words: who changes them, by their labels."""
    who = sorted({THRESHOLD[key].who for key in keys})
    labels = "; ".join(f"“{THRESHOLD[key].label}”" for key in keys)
    return (f"Only {' or '.join(who)} change {labels}. Your account reads the thresholds; nothing was saved. "
            "Ask an administrator or the clinic's lead clinician.")


def change_thresholds(session: Session, actor: Actor, changes: dict) -> list[str]:
    """A change of thresholds, allowed per key by ``dashboard.access`` and audited with the old
    and new values; the keys whose value changed.

    A key the actor may not change refuses the whole change with ``NotAllowed`` (its message says
    who changes it) after a committed "denied" row; an invalid value or an unknown key raises
    ValueError and nothing is saved.
    """
    user = as_user(actor)
    refused = [key for key in changes if key in THRESHOLD and not access.may_change_setting(user, key)]
    with guarded(session, actor, AuditAction.SETTINGS_CHANGE, not refused, denied_detail={"refused": refused},
                 message=_refusal(refused) if refused else "") as done:
        before = asdict(load_thresholds(session))
        changed = save_thresholds(session, changes, updated_by=audit_name(actor))
        after = asdict(load_thresholds(session))
        done.detail = {key: {"from": before[key], "to": after[key]} for key in changed}
        if not changed:
            done.skip()
    return changed
