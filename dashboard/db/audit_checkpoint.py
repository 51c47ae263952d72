"""A signed note, outside the database, of how far the audit trail reached.

The hash chain shows that every row follows from the one before; it cannot show that rows
after the last one were deleted. The checkpoint can: it records the last row's id and hash
(HMAC-signed with the audit key) and ``audit verify`` refuses a trail that no longer reaches
it. It also records ``keyed_by``, a row by which the keyed (HMAC) chain had begun, so a trail
re-hashed without the key as if it were all older plain SHA-256 rows is refused too.

Written by ``python -m dashboard audit checkpoint``, after every successful ``audit verify``,
and by the application after the commit of every ``AUDIT_CHECKPOINT_EVERY``-th audit row (and
of the first row when no checkpoint exists yet). It only ever moves forward.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event, inspect
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from dashboard.config import AUDIT_CHECKPOINT_EVERY, audit_checkpoint_file
from dashboard.db import audit_key

log = logging.getLogger(__name__)
_DOMAIN = b"dashboard audit checkpoint v1\n"


class CheckpointError(RuntimeError):
    """The checkpoint file exists but is unreadable, malformed or not signed with the key."""


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    last_hash: str
    keyed_by: int | None  # the keyed chain had begun at or before this row (None: not yet)
    database: str  # backend, host and database name: a checkpoint of another database is not this one's
    written_at: str


def database_id(url: URL) -> str:
    """The database without the role: the operator may verify as another role than the app's."""
    return url.set(username=None, password=None, query={}).render_as_string(hide_password=True)


def _signature(key: bytes, checkpoint: Checkpoint) -> str:
    body = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, _DOMAIN + body, hashlib.sha256).hexdigest()


def read(key: bytes, path: Path | None = None) -> Checkpoint | None:
    """The checkpoint, or None if none was written yet."""
    path = path or audit_checkpoint_file()
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        signature = raw.pop("signature")
        checkpoint = Checkpoint(**raw)
    except FileNotFoundError:
        return None
    except (OSError, ValueError, TypeError, KeyError, AttributeError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc.__class__.__name__}") from None
    if not hmac.compare_digest(str(signature), _signature(key, checkpoint)):
        raise CheckpointError(f"checkpoint {path} is not signed with the audit key: edited, or another key")
    return checkpoint


def write(key: bytes, checkpoint: Checkpoint, path: Path | None = None) -> None:
    """Replace the file atomically, so a reader never sees half a checkpoint."""
    path = path or audit_checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {**asdict(checkpoint), "signature": _signature(key, checkpoint)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_text(json.dumps(body, indent=2) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def advance(key: bytes, *, last_id: int, last_hash: str, database: str) -> None:
    """Record a keyed row the application has just committed, unless the file already reaches further.

    A checkpoint that does not verify, or names another database, is left alone: it is evidence.
    Two processes advancing at once may leave the lower of their two rows; that only loses reach.
    """
    try:
        current = read(key)
    except CheckpointError:
        return
    if current is not None and (current.database != database or current.last_id >= last_id):
        return
    keyed_by = current.keyed_by if current is not None and current.keyed_by is not None else last_id
    write(key, Checkpoint(last_id, last_hash, keyed_by, database, timestamp()))


def timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def schedule_after_commit(session: Session, row, key: bytes) -> None:
    """Advance the checkpoint to ``row`` once its transaction commits (never for a rolled-back row).

    Only from a trail that still reaches the current checkpoint: if its row is gone or changed, the
    trail was cut or rewritten, and advancing would overwrite the evidence that ``audit verify``
    needs, so the checkpoint is left where it is (checked here, inside the transaction, because
    no SQL can run after the commit).
    """
    if row.id % AUDIT_CHECKPOINT_EVERY and audit_checkpoint_file().exists():
        return
    if not _still_reaches_checkpoint(session, key):
        log.warning("audit trail no longer reaches its checkpoint: the checkpoint is kept; run audit verify")
        return
    session.info["audit_checkpoint_row"] = (row, key)
    if not session.info.get("audit_checkpoint_hooked"):
        event.listen(session, "after_commit", _after_commit)
        event.listen(session, "after_rollback", _after_rollback)
        session.info["audit_checkpoint_hooked"] = True


def _still_reaches_checkpoint(session: Session, key: bytes) -> bool:
    from sqlalchemy import select

    from dashboard.db.models import AuditEvent

    try:
        current = read(key)
    except CheckpointError:
        return False  # a checkpoint that does not verify is evidence too
    if current is None or current.database != database_id(session.get_bind().url):
        return True
    return session.scalar(select(AuditEvent.hash).where(AuditEvent.id == current.last_id)) == current.last_hash


def _after_commit(session: Session) -> None:
    row, key = session.info.pop("audit_checkpoint_row", (None, None))
    if row is None or not inspect(row).persistent:  # a rolled-back savepoint expunges its rows
        return
    try:
        advance(key, last_id=row.id, last_hash=row.hash, database=database_id(session.get_bind().url))
    except OSError as exc:  # the page must not fail over the checkpoint; verify still checks the chain
        log.warning("could not write the audit checkpoint: %s", exc)


def _after_rollback(session: Session) -> None:
    session.info.pop("audit_checkpoint_row", None)
