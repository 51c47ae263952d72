"""The append-only audit trail, hash-chained so an edited or deleted row is detected.

HIPAA Security Rule 45 CFR 164.312(b) (audit controls) and (c)(1) (integrity): each row's
hash covers its content and the previous row's hash; ``verify`` recomputes the chain.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dashboard.db.models import AuditEvent

GENESIS = "0" * 64


def _digest(prev_hash: str, at: datetime, actor: str, action: str, patient_id: int | None, outcome: str, detail: str) -> str:
    body = json.dumps(
        [prev_hash, at.isoformat(timespec="microseconds"), actor, action, patient_id, outcome, detail],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(body.encode("utf-8")).hexdigest()


def record(
    session: Session,
    *,
    actor: str,
    action: str,
    outcome: str = "ok",
    patient_id: int | None = None,
    detail: dict | str = "",
) -> AuditEvent:
    """Append one event in the caller's transaction, so the event and the change land together."""
    if session.get_bind().dialect.name == "postgresql":
        # Serialise appends: two transactions must not chain to the same previous row.
        session.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    detail_text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    last = session.execute(select(AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).scalar()
    prev = last or GENESIS
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    event = AuditEvent(
        at=at,
        actor=actor,
        action=action,
        patient_id=patient_id,
        outcome=outcome,
        detail=detail_text,
        prev_hash=prev,
        hash=_digest(prev, at, actor, action, patient_id, outcome, detail_text),
    )
    session.add(event)
    session.flush()
    return event


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    problem: str = ""
    row_id: int | None = None


def verify(session: Session) -> VerifyResult:
    """Recompute the chain: an edited row breaks its own hash, a deleted row breaks the link."""
    prev = GENESIS
    count = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        count += 1
        if ev.prev_hash != prev:
            return VerifyResult(False, count, f"row {ev.id}: the previous row was deleted or changed", ev.id)
        expected = _digest(ev.prev_hash, ev.at, ev.actor, ev.action, ev.patient_id, ev.outcome, ev.detail)
        if ev.hash != expected:
            return VerifyResult(False, count, f"row {ev.id}: its content was edited", ev.id)
        prev = ev.hash
    return VerifyResult(True, count)
