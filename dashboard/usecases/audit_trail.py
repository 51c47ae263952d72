"""The audit trail: viewing and exporting it (administrators), verifying it (the operator)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import Operator, User
from dashboard.audit_actions import AuditAction
from dashboard.db import audit, audit_checkpoint, audit_key, audit_trail
from dashboard.ingest.export import trail_csv
from dashboard.usecases.guard import guarded


def _viewing(session: Session, actor: User):
    return guarded(session, actor, AuditAction.VIEW_AUDIT, access.may_see_audit_trail(actor), audit_success=False)


def trail_choices(session: Session, actor: User) -> tuple[list[str], list[str]]:
    """The actions and outcomes the filter offers."""
    with _viewing(session, actor):
        return audit_trail.action_choices(session), audit_trail.outcome_choices(session)


def trail(session: Session, actor: User, f, *, limit: int | None = None) -> tuple[int, pd.DataFrame]:
    """How many events match, and the newest ``limit`` of them."""
    with _viewing(session, actor):
        return audit_trail.count_events(session, f), audit_trail.events_frame(session, f,
                                                                              limit=limit or audit_trail.SHOWN)


def trail_export(session: Session, actor: User, f) -> tuple[bytes, int]:
    """The CSV of every matching event (up to ``EXPORT_MAX``) and its row count; not yet audited
    (the page audits it with ``record_trail_export`` when the file is downloaded)."""
    with _viewing(session, actor):
        everything = audit_trail.events_frame(session, f, limit=audit_trail.EXPORT_MAX)
    return trail_csv(everything), len(everything)


def record_trail_export(session: Session, actor: User, f, rows: int) -> None:
    """The download of ``trail_export``'s file, audited."""
    audit.record(session, actor=actor.username, action=AuditAction.EXPORT,
                 detail={"what": "audit trail", "rows": rows, "filter": asdict(f)})


@dataclass(frozen=True)
class TrailCheck:
    """What verifying the trail found: the verification, the checkpoint history it was checked
    against (read before this run), and whether this run appended a checkpoint."""

    result: audit.VerifyResult
    history: list
    appended: bool


def verify_trail(session: Session, actor: Operator) -> TrailCheck:
    """Verify the trail against every checkpoint of the history; if it is intact and the history is
    this database's, append its last row (nothing when unchanged). Nothing is appended after a
    failure, so the evidence stays. The operator's (``audit verify``): it reads the key beside the
    server, which only the operator holds; it shows no patient data.

    Raises ``audit_key.AuditKeyError`` (no key), ``audit_checkpoint.CheckpointError`` (the history
    was tampered with) and the database's errors, for the command to word.
    """
    key = audit_key.load(create=False)
    history = audit_checkpoint.read_history(key)
    result = audit.verify(session, key=key, history=history)
    appended = False
    if result.ok and result.other_database is None:
        new = audit.checkpoint_after(session, result, key, history)
        newest = history[-1] if history else None
        if newest is None or (newest.last_id, newest.last_hash, newest.keyed_by) != (
                new.last_id, new.last_hash, new.keyed_by):
            audit_checkpoint.append(key, new)
            appended = True
    return TrailCheck(result=result, history=history, appended=appended)
