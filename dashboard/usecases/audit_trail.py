"""The audit trail: viewing and exporting it (administrators), verifying it (the operator)."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd
from sqlalchemy.orm import Session

from dashboard import access
from dashboard.actors import User
from dashboard.audit_actions import AuditAction
from dashboard.db import audit, audit_trail
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
