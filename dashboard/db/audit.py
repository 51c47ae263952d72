"""The append-only audit trail, chained with a keyed hash so an edited, deleted or forged row is detected.

HIPAA Security Rule 45 CFR 164.312(b) (audit controls) and (c)(1) (integrity): each row's hash
is an HMAC-SHA256, under a key kept outside the database (``dashboard.db.audit_key``), of its
id, content and the previous row's hash; ``verify`` recomputes the chain. A database owner can
recompute a plain SHA-256 chain but not this one. A signed checkpoint outside the database
(``dashboard.db.audit_checkpoint``, a history of signed entries) catches the newest rows being deleted.

Rows written before the key existed carry a plain SHA-256 hash. They are accepted only as the
trail's beginning: once a keyed row appears, every later row must be keyed, and the checkpoint
records a row by which the keyed chain had begun, so re-hashing the trail without the key shows.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone

from sqlalchemy import inspect as sa_inspect
from sqlalchemy import select, text
from sqlalchemy.orm import Session

from dashboard.db import audit_checkpoint, audit_key
from dashboard.db.audit_checkpoint import Checkpoint
from dashboard.db.models import AuditEvent
from dashboard.text_rules import escaped

GENESIS = "0" * 64
_KEYED = "audit-row-v2"  # in the HMAC'd body, so a row hash can never be replayed as anything else


def _body(*fields) -> bytes:
    return json.dumps(list(fields), ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _legacy_digest(prev_hash: str, at: datetime, actor: str, action: str, patient_id: int | None, outcome: str, detail: str) -> str:
    """The plain SHA-256 of rows written before the keyed chain; kept only to verify those rows."""
    return hashlib.sha256(_body(prev_hash, at.isoformat(timespec="microseconds"), actor, action, patient_id, outcome, detail)).hexdigest()


def _keyed_digest(key: bytes, row_id: int, prev_hash: str, at: datetime, actor: str, action: str,
                  patient_id: int | None, outcome: str, detail: str) -> str:
    # The id is inside the HMAC: a row moved to another position, or a renumbered trail, fails.
    body = _body(_KEYED, row_id, prev_hash, at.isoformat(timespec="microseconds"), actor, action, patient_id, outcome, detail)
    return hmac.new(key, body, hashlib.sha256).hexdigest()


def _serialise_appends(session: Session) -> None:
    """Two transactions must never chain to the same previous row; the second one waits instead.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: take the database's write lock
    (BEGIN IMMEDIATE, waiting up to the engine's busy timeout) before reading the last row;
    a deferred transaction would read a row another writer is about to follow, and fail.
    A transaction that has already written holds that lock.
    """
    conn = session.connection()
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(727274)"))
    elif conn.dialect.name == "sqlite" and not conn.connection.driver_connection.in_transaction:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


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
    key = audit_key.for_writing(session.get_bind().url)
    action, outcome = str(action), str(outcome)  # an enumeration member is stored as its plain value
    detail_text = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False, sort_keys=True, default=str)
    # A name from the command line can hold what no database stores (an undecodable byte of a file
    # name arrives as a lone surrogate): written as its escape, so the event is kept, never a crash.
    actor, detail_text = escaped(actor), escaped(detail_text)
    _serialise_appends(session)
    last = session.execute(select(AuditEvent.id, AuditEvent.hash).order_by(AuditEvent.id.desc()).limit(1)).first()
    prev, row_id = (last.hash, last.id + 1) if last else (GENESIS, 1)
    at = datetime.now(timezone.utc).replace(tzinfo=None)
    # Ids are given here, contiguous under the lock above, so a missing id is a deleted row.
    event = AuditEvent(
        id=row_id,
        at=at,
        actor=actor,
        action=action,
        patient_id=patient_id,
        outcome=outcome,
        detail=detail_text,
        prev_hash=prev,
        hash=_keyed_digest(key, row_id, prev, at, actor, action, patient_id, outcome, detail_text),
    )
    session.add(event)
    session.flush()
    audit_checkpoint.schedule_after_commit(session, event, key)
    return event


@dataclass
class VerifyResult:
    ok: bool
    rows: int
    problem: str = ""
    row_id: int | None = None
    last_id: int = 0
    last_hash: str = GENESIS
    keyed_from: int | None = None  # the first keyed row (None: the trail has only plain SHA-256 rows)
    checkpoints: int = 0  # how many checkpoints the trail was checked against
    database: str = ""  # the database read, as checkpoints name it
    other_database: str | None = None  # the checkpoints given belong to this database, not the one read


def _kind(key: bytes, ev: AuditEvent) -> str | None:
    content = (ev.prev_hash, ev.at, ev.actor, ev.action, ev.patient_id, ev.outcome, ev.detail)
    if hmac.compare_digest(ev.hash, _keyed_digest(key, ev.id, *content)):
        return "keyed"
    if hmac.compare_digest(ev.hash, _legacy_digest(*content)):
        return "sha256"
    return None


def table_problem(session: Session) -> str | None:
    """Why the trail cannot be read although the database answers: its table or columns are gone.

    That is a broken trail (someone dropped it), not an outage: the caller says BROKEN.
    """
    inspector = sa_inspect(session.connection())
    if not inspector.has_table(AuditEvent.__tablename__):
        if not inspector.get_table_names():
            return ("the database has no tables at all, not even audit_event: "
                    "everything was dropped, or this is not the clinic's database")
        return "the audit_event table is missing: the whole trail was dropped"
    present = {column["name"] for column in inspector.get_columns(AuditEvent.__tablename__)}
    missing = [column.name for column in AuditEvent.__table__.columns if column.name not in present]
    if missing:
        return f"the audit_event table has lost its column(s) {', '.join(missing)}: the trail was altered"
    return None


def verify(session: Session, *, key: bytes | None = None, checkpoint: Checkpoint | None = None,
           history: Sequence[Checkpoint] = ()) -> VerifyResult:
    """Recompute the chain, and check that it still reaches every checkpoint given.

    An edited row breaks its own hash; a deleted, inserted or reordered row breaks the link or the
    id sequence; a row hashed without the key (or with another key) fails the HMAC; rows deleted
    from the end show only against a checkpoint. ``history`` is the live checkpoint history
    (every entry is checked: a row of any of them that is gone or changed is a cut);
    ``checkpoint`` one more, e.g. a backup's. Checkpoints of another database are not used:
    the chain is verified on its own and ``other_database`` names theirs.
    """
    key = key or audit_key.load(create=False)
    result = VerifyResult(True, 0)

    def broken(problem: str, row_id: int | None) -> VerifyResult:
        result.ok, result.problem, result.row_id = False, problem, row_id
        return result

    dropped = table_problem(session)
    if dropped:
        return broken(dropped, None)
    checkpoints = [*history, *([checkpoint] if checkpoint is not None else [])]
    here = result.database = audit_checkpoint.database_id(session.get_bind().url)
    others = [c for c in checkpoints if c.database != here]
    if others:
        result.other_database = others[0].database
        checkpoints = [c for c in checkpoints if c.database == here]
    result.checkpoints = len(checkpoints)
    # One pass over the trail with the checkpoints in row order: a pointer, not a search per row.
    pending = sorted((c for c in checkpoints if c.last_id > 0), key=lambda c: c.last_id)  # 0: an empty trail
    at = 0
    for ev in session.scalars(select(AuditEvent).order_by(AuditEvent.id)).yield_per(1000):
        result.rows += 1
        if ev.prev_hash != result.last_hash:
            return broken(f"row {ev.id}: the row before it was deleted, changed or reordered "
                          f"(its link does not match row {result.last_id})", ev.id)
        kind = _kind(key, ev)
        if kind is None:
            return broken(f"row {ev.id}: its content was edited, or it was hashed without the audit key", ev.id)
        if kind == "sha256" and result.keyed_from is not None:
            return broken(f"row {ev.id}: hashed without the audit key after the keyed chain began at row "
                          f"{result.keyed_from}: the trail was rewritten", ev.id)
        if kind == "keyed":
            result.keyed_from = result.keyed_from or ev.id
            if ev.id != result.last_id + 1:
                return broken(f"row {ev.id}: rows {result.last_id + 1} to {ev.id - 1} were deleted "
                              "(or the row was inserted out of sequence)", ev.id)
        while at < len(pending) and pending[at].last_id <= ev.id:
            c = pending[at]
            if c.last_id < ev.id:  # its row is missing between two rows (possible among plain SHA-256 rows)
                return broken(f"row {c.last_id}: in the checkpoint of {c.written_at} but gone from the trail",
                              c.last_id)
            if ev.hash != c.last_hash:
                return broken(f"row {ev.id}: differs from the checkpoint of {c.written_at} "
                              "(the trail after it was deleted and rewritten)", ev.id)
            at += 1
        result.last_id, result.last_hash = ev.id, ev.hash
    if at < len(pending):
        furthest = pending[-1]
        return broken(f"the trail ends at row {result.last_id} but the checkpoint of {furthest.written_at} "
                      f"reaches row {furthest.last_id}: the newest rows were deleted", result.last_id + 1)
    keyed_by = [c.keyed_by for c in checkpoints if c.keyed_by is not None]
    if keyed_by and (result.keyed_from is None or result.keyed_from > min(keyed_by)):
        return broken(f"row {min(keyed_by)}: the checkpoint shows the keyed chain had begun by this row, "
                      "but it is hashed without the audit key: the trail was rewritten", min(keyed_by))
    return result


def checkpoint_after(session: Session, result: VerifyResult, key: bytes,
                     previous: Checkpoint | Sequence[Checkpoint] | None) -> Checkpoint:
    """The live checkpoint for a trail that ``verify`` has just passed (``previous``: the newest
    checkpoint, or the whole history)."""
    earlier = [previous] if isinstance(previous, Checkpoint) else list(previous or ())
    claims = [c.keyed_by for c in earlier if c.keyed_by is not None]
    keyed_by = min(claims) if claims else result.keyed_from
    return Checkpoint(result.last_id, result.last_hash, keyed_by,
                      audit_checkpoint.database_id(session.get_bind().url), audit_checkpoint.timestamp())
