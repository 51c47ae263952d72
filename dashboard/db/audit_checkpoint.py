"""Signed notes, outside the database, of how far the audit trail reached: a history, not one note.

The hash chain shows that every row follows from the one before; it cannot show that rows
after the last one were deleted. The checkpoints can: each records a row's id and hash
(HMAC-signed with the audit key) and ``audit verify`` refuses a trail that no longer reaches
every one of them. Each also records ``keyed_by``, a row by which the keyed (HMAC) chain had
begun, so a trail re-hashed without the key as if it were all older plain SHA-256 rows is refused.

The live checkpoint file (``DASHBOARD_AUDIT_CHECKPOINT_FILE``) is an append-only history: one
signed JSON entry per line, never rewritten, mode 0600. An entry is appended by ``audit verify``
(only after the trail passed against every earlier entry), by ``audit checkpoint``, and by the
application after the commit of every ``AUDIT_CHECKPOINT_EVERY``-th audit row (and of the first
row when no history exists yet). Keeping every entry means a later entry can never erase the
evidence an earlier one holds: a deletion below any of them is found.

Each entry names its purpose inside the signed content: ``live`` (this history) or ``backup``
(the single checkpoint ``backup`` writes beside a backup file). A backup's checkpoint copied over
the live history is refused: it reaches only as far as the backup, so accepting it would hide
every row deleted since.

Compatibility: the version before this one wrote a single pretty-printed JSON object, signed
under ``_DOMAIN_V1`` without a purpose. Such an object is read as the first entry of the history
(and only there: one further down was not written by this code), and new entries are appended
after it, so an existing install keeps its evidence. It cannot be told from a backup's
checkpoint written by that older version; that is the same limit as a history replaced by an
older copy of itself (README, "What it does not detect").
"""

from __future__ import annotations

import fcntl
import hashlib
import hmac
import json
import logging
import os
import secrets
from dataclasses import asdict, dataclass, fields
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import event, inspect, select
from sqlalchemy.engine import URL
from sqlalchemy.orm import Session

from dashboard.config import AUDIT_CHECKPOINT_EVERY, audit_checkpoint_file
from dashboard.db.models import AuditEvent

log = logging.getLogger(__name__)
_DOMAIN_V1 = b"dashboard audit checkpoint v1\n"  # single-file checkpoints of the previous version
_DOMAIN = b"dashboard audit checkpoint v2\n"  # entries that name their purpose
LIVE, BACKUP = "live", "backup"
_MODE = 0o600  # the file names the database and the trail's reach; nobody else needs to read it


class CheckpointError(RuntimeError):
    """A checkpoint exists but is unreadable, malformed, not signed with the key, or not for this use."""


@dataclass(frozen=True)
class Checkpoint:
    last_id: int
    last_hash: str
    keyed_by: int | None  # the keyed chain had begun at or before this row (None: not yet)
    database: str  # backend, host and database name: a checkpoint of another database is not this one's
    written_at: str
    purpose: str = LIVE  # signed: "live" (the history) or "backup" (beside a backup file)


_V1_FIELDS = tuple(f.name for f in fields(Checkpoint) if f.name != "purpose")


def database_id(url: URL) -> str:
    """The database without the role: the operator may verify as another role than the app's."""
    return url.set(username=None, password=None, query={}).render_as_string(hide_password=True)


def _signature(key: bytes, checkpoint: Checkpoint) -> str:
    body = json.dumps(asdict(checkpoint), sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, _DOMAIN + body, hashlib.sha256).hexdigest()


def _signature_v1(key: bytes, checkpoint: Checkpoint) -> str:
    content = {name: getattr(checkpoint, name) for name in _V1_FIELDS}
    body = json.dumps(content, sort_keys=True, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, _DOMAIN_V1 + body, hashlib.sha256).hexdigest()


def _objects(text: str, path: Path) -> list[dict]:
    """The JSON objects of the file in order: a pretty-printed one of the older version, then one a line."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while True:
        while at < len(text) and text[at].isspace():
            at += 1
        if at == len(text):
            return found
        try:
            obj, at = decoder.raw_decode(text, at)
        except ValueError:
            raise CheckpointError(f"checkpoint {path} is unreadable: entry {len(found) + 1} is not JSON") from None
        if not isinstance(obj, dict):
            raise CheckpointError(f"checkpoint {path} is unreadable: entry {len(found) + 1} is not an object")
        found.append(obj)


def _entry(key: bytes, raw: dict, path: Path, number: int) -> tuple[Checkpoint, bool]:
    """One signed entry, and whether it is of the older, purpose-less format."""
    raw = dict(raw)
    try:
        signature = str(raw.pop("signature"))
        legacy = "purpose" not in raw
        checkpoint = Checkpoint(**raw)
    except (TypeError, KeyError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: entry {number}: {exc.__class__.__name__}") from None
    expected = _signature_v1(key, checkpoint) if legacy else _signature(key, checkpoint)
    if not hmac.compare_digest(signature, expected):
        raise CheckpointError(f"checkpoint {path} entry {number} is not signed with the audit key: "
                              "edited, or another key")
    return checkpoint, legacy


def _read_text(path: Path) -> str | None:
    try:
        with path.open("r", encoding="utf-8") as fh:
            fcntl.flock(fh.fileno(), fcntl.LOCK_SH)  # never half of an entry being appended
            return fh.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        raise CheckpointError(f"checkpoint {path} is unreadable: {exc.__class__.__name__}") from None


def read_history(key: bytes, path: Path | None = None) -> list[Checkpoint]:
    """Every live checkpoint, oldest first; empty if none was written yet.

    Refused (CheckpointError): an entry that does not verify; an entry whose purpose is not
    ``live`` (a backup's checkpoint copied over the live one); an older-format entry anywhere but
    first; entries naming two databases (two histories pasted together).
    """
    path = path or audit_checkpoint_file()
    text = _read_text(path)
    if text is None:
        return []
    history = []
    for number, raw in enumerate(_objects(text, path), start=1):
        checkpoint, legacy = _entry(key, raw, path, number)
        if legacy and number > 1:
            raise CheckpointError(f"checkpoint {path} entry {number} is in the older single-file format, "
                                  "which is only ever the first entry: the history was edited")
        if checkpoint.purpose != LIVE:
            raise CheckpointError(f"checkpoint {path} entry {number} is a {checkpoint.purpose}'s checkpoint "
                                  f"(row {checkpoint.last_id} of {checkpoint.written_at}), not the live "
                                  "history: it was copied over the live checkpoint, which hides rows deleted since")
        if history and checkpoint.database != history[0].database:
            raise CheckpointError(f"checkpoint {path} entry {number} names {checkpoint.database}, the entries "
                                  f"before it {history[0].database}: the history was edited")
        history.append(checkpoint)
    return history


def read(key: bytes, path: Path | None = None) -> Checkpoint | None:
    """The newest live checkpoint, or None if none was written yet."""
    history = read_history(key, path)
    return history[-1] if history else None


def read_backup(key: bytes, path: Path) -> Checkpoint:
    """The checkpoint beside a backup file: one entry, of purpose ``backup`` (or of the older format)."""
    text = _read_text(path)
    if text is None:
        raise CheckpointError(f"no checkpoint {path}")
    objects = _objects(text, path)
    if len(objects) != 1:
        raise CheckpointError(f"checkpoint {path} holds {len(objects)} entries; a backup's holds one")
    checkpoint, legacy = _entry(key, objects[0], path, 1)
    if not legacy and checkpoint.purpose != BACKUP:
        raise CheckpointError(f"checkpoint {path} is a {checkpoint.purpose} checkpoint, not a backup's")
    return checkpoint


def append(key: bytes, checkpoint: Checkpoint, path: Path | None = None) -> None:
    """Add one entry to the live history (mode 0600), in one write under a lock, so concurrent
    writers never interleave and a reader never sees half an entry."""
    if checkpoint.purpose != LIVE:
        raise ValueError(f"only live checkpoints go into the history, not {checkpoint.purpose!r}")
    path = path or audit_checkpoint_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = json.dumps({**asdict(checkpoint), "signature": _signature(key, checkpoint)},
                      separators=(",", ":")).encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, _MODE)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.fchmod(fd, _MODE)  # a history begun by the older version was 0644
        if os.fstat(fd).st_size:  # an older-format file may not end with a newline
            with open(path, "rb") as fh:
                fh.seek(-1, os.SEEK_END)
                if fh.read(1) != b"\n":
                    line = b"\n" + line
        os.write(fd, line + b"\n")
    finally:
        os.close(fd)


def write_backup(key: bytes, checkpoint: Checkpoint, path: Path) -> None:
    """The checkpoint beside a backup: one entry of purpose ``backup``, mode 0600, replaced atomically."""
    if checkpoint.purpose != BACKUP:
        raise ValueError(f"a backup's checkpoint has purpose 'backup', not {checkpoint.purpose!r}")
    body = {**asdict(checkpoint), "signature": _signature(key, checkpoint)}
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _MODE)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(body, indent=2) + "\n")
    os.replace(tmp, path)


def advance(key: bytes, *, last_id: int, last_hash: str, database: str) -> None:
    """Record a keyed row the application has just committed, unless the history already reaches further.

    A history that does not verify, or names another database, is left alone: it is evidence.
    Two processes advancing at once may append in either order; verify checks every entry.
    """
    try:
        current = read(key)
    except CheckpointError:
        return
    if current is not None and (current.database != database or current.last_id >= last_id):
        return
    keyed_by = current.keyed_by if current is not None and current.keyed_by is not None else last_id
    append(key, Checkpoint(last_id, last_hash, keyed_by, database, timestamp()))


def timestamp() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def schedule_after_commit(session: Session, row, key: bytes) -> None:
    """Advance the checkpoint to ``row`` once its transaction commits (never for a rolled-back row).

    Only from a trail that still reaches the newest checkpoint: if its row is gone or changed, the
    trail was cut or rewritten, and a new entry would sign the rewritten trail as if it were whole,
    so nothing is appended (checked here, inside the transaction, because no SQL can run after the
    commit; ``audit verify`` checks every entry of the history, not only the newest).
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
