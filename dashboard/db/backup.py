"""Backups that restore: the whole clinic in one file, taken while the app runs, and a restore
into an empty database that proves the audit trail came back whole.

SQLite: the online backup API (``sqlite3.Connection.backup``) copies a consistent snapshot while
the app keeps writing. PostgreSQL: ``pg_dump --format=custom`` (one consistent snapshot) and
``pg_restore --single-transaction`` (all or nothing).

The audit key is never inside a backup: whoever holds a backup must not be able to rewrite its
trail, so the key is backed up apart. Beside the backup, ``FILE.checkpoint.json`` records the
trail's row written just before the copy began (the backup's own ``backup`` row), HMAC-signed with
the key, mode 0600, with ``"purpose": "backup"`` inside the signed content: copied over the live
checkpoint history it is refused (it would hide every row deleted since the backup). A restore
recomputes the restored trail and requires it to reach that row, so a backup whose trail was cut
or rewritten afterwards is found out.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy import inspect as sa_inspect
from sqlalchemy.engine import make_url

from dashboard.audit_actions import AuditAction
from dashboard.config import audit_checkpoint_file
from dashboard.db import audit, audit_checkpoint, audit_key
from dashboard.db.audit_checkpoint import Checkpoint
from dashboard.db.session import get_engine, migrate, session_scope

SQLITE_MAGIC = b"SQLite format 3\x00"
PGDUMP_MAGIC = b"PGDMP"


class BackupError(RuntimeError):
    """A backup or restore that was refused or failed; the message says what and where."""


class ToolMissing(BackupError):
    """pg_dump or pg_restore is not installed: the machine is misconfigured, the file is not at fault."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    checkpoint_path: Path
    backend: str
    size_bytes: int
    sha256: str
    trail_reaches: int  # the backup holds the audit trail at least up to this row
    trail_ok: bool  # the source's trail verified when the backup was taken
    trail_problem: str | None


@dataclass(frozen=True)
class RestoreResult:
    backend: str
    audit_rows: int
    last_row: int
    reached_backup_checkpoint: bool | None  # None: no checkpoint beside the backup
    checkpoint_written: bool
    notes: tuple[str, ...]


def backend_of(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in ("sqlite", "postgresql"):
        raise BackupError(f"backups are made for SQLite and PostgreSQL, not {name}")
    return name


def checkpoint_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".checkpoint.json")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------------------------- backup

def take_backup(url: str, target: Path, *, actor: str) -> BackupResult:
    """Write ``target`` (mode 0600: it holds every patient) and its signed checkpoint.

    The ``backup`` audit row is committed first, so the backup holds the record of itself. The
    source trail is verified too: a broken trail is still backed up (the data matter more), but
    the result says so and the command exits 1.
    """
    backend = backend_of(url)
    key = audit_key.for_writing(url)
    target = target.resolve()
    if not target.parent.is_dir():
        raise BackupError(f"cannot write the backup {target}: the folder {target.parent} does not exist")
    with session_scope(url) as session:
        row = audit.record(session, actor=actor, action=AuditAction.BACKUP, outcome="started",
                           detail={"file": target.name, "backend": backend})
        session.flush()
        reaches = Checkpoint(row.id, row.hash, None, audit_checkpoint.database_id(session.get_bind().url),
                             audit_checkpoint.timestamp(), purpose=audit_checkpoint.BACKUP)
    with session_scope(url) as session:
        verified = audit.verify(session, key=key, history=_history_or_none(key))
    reaches = replace(reaches, keyed_by=verified.keyed_from)
    tmp = target.with_name(f".{target.name}.partial")
    tmp.unlink(missing_ok=True)
    try:
        if backend == "sqlite":
            _sqlite_copy(_sqlite_path(url), tmp)
        else:
            _pg_dump(url, tmp)
        os.chmod(tmp, 0o600)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    side = checkpoint_path_for(target)
    audit_checkpoint.write_backup(key, reaches, side)
    return BackupResult(target, side, backend, target.stat().st_size, sha256_of(target), reaches.last_id,
                        verified.ok, verified.problem)


def _history_or_none(key: bytes) -> list[Checkpoint]:
    try:
        return audit_checkpoint.read_history(key)
    except audit_checkpoint.CheckpointError:
        return []  # audit verify reports it; a backup is not the place to stop over it


def _sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise BackupError(f"the SQLite URL {url} names no database file")
    return Path(database)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Page-by-page copy of a consistent snapshot; writers elsewhere are not blocked for long."""
    if not source.exists():
        raise BackupError(f"the SQLite database {source} does not exist")
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True, timeout=60)
    dst = sqlite3.connect(target)
    try:
        with dst:
            src.backup(dst, pages=1024)
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
    finally:
        dst.close()
        src.close()


def _libpq(url: str) -> tuple[str, dict]:
    """The database as a libpq URI without the password (which goes in PGPASSWORD, not argv)."""
    parsed = make_url(url)
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = parsed.password
    plain = parsed.set(drivername="postgresql", password=None, query={})
    return plain.render_as_string(hide_password=False), env


def _tool(name: str) -> str:
    found = shutil.which(name)
    if not found:
        raise ToolMissing(f"{name} is not installed: on Debian, apt-get install postgresql-client "
                          "(the same major version as the server)")
    return found


def _run(cmd: list[str], env: dict, what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if done.returncode != 0:
        first = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{what} failed (exit {done.returncode}): {first[0] if first else 'no message'}")


def _pg_dump(url: str, target: Path) -> None:
    uri, env = _libpq(url)
    _run([_tool("pg_dump"), "--format=custom", "--no-owner", "--no-acl", f"--file={target}", f"--dbname={uri}"],
         env, "pg_dump")


# ------------------------------------------------------------------------------------ restore

def restore_backup(source: Path, url: str, *, actor: str) -> RestoreResult:
    """Restore ``source`` into the empty database at ``url``, migrate it, and verify its trail.

    Refuses (writing nothing) a file of the other backend, a file that is no backup, a database
    that is not empty, and a missing audit key. The restored trail must verify, and reach the
    row of the checkpoint beside the backup when there is one; a trail that does not is kept for
    inspection but reported as broken.
    """
    backend = backend_of(url)
    source = source.resolve()
    if not source.is_file():
        raise BackupError(f"no backup file {source}")
    head = source.open("rb").read(16)
    kind = "sqlite" if head.startswith(SQLITE_MAGIC) else "postgresql" if head.startswith(PGDUMP_MAGIC) else None
    if kind is None:
        raise BackupError(f"{source} is neither a SQLite database nor a pg_dump custom-format file")
    if kind != backend:
        raise BackupError(f"{source} is a {kind} backup; the database {_safe(url)} is {backend}")
    try:  # without the key the restored trail cannot be verified
        key = audit_key.load(create=False)
    except audit_key.AuditKeyError as exc:
        raise audit_key.AuditKeyError(f"{exc} (the key the backup's trail was written with)") from None
    side = checkpoint_path_for(source)
    expected = audit_checkpoint.read_backup(key, side) if side.exists() else None  # a bad signature raises
    if backend == "sqlite":
        _sqlite_path(url).parent.mkdir(parents=True, exist_ok=True)
    tables = sa_inspect(get_engine(url)).get_table_names()
    if tables:
        raise BackupError(f"the database {_safe(url)} is not empty ({len(tables)} tables): "
                          "restore only into a new, empty database")
    get_engine(url).dispose()
    if backend == "sqlite":
        _sqlite_restore(source, _sqlite_path(url))
    else:
        uri, env = _libpq(url)
        _run([_tool("pg_restore"), "--no-owner", "--no-acl", "--exit-on-error", "--single-transaction",
              f"--dbname={uri}", str(source)], env, "pg_restore")
    get_engine(url).dispose()
    migrate(url)  # a backup from an older version comes up to this version's schema
    return _after_restore(url, key, expected, source, actor)


def _sqlite_restore(source: Path, target: Path) -> None:
    src = sqlite3.connect(f"file:{source}?mode=ro", uri=True)
    try:
        problem = src.execute("PRAGMA integrity_check").fetchone()[0]
        if problem != "ok":
            raise BackupError(f"{source} is damaged: SQLite integrity check says {problem!r}")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target)
        try:
            with dst:
                src.backup(dst)
        finally:
            dst.close()
    finally:
        src.close()


def _after_restore(url: str, key: bytes, expected: Checkpoint | None, source: Path, actor: str) -> RestoreResult:
    """Verify the restored trail; then the checkpoint file, audited.

    The configured checkpoint history may already name this database (restored under the same
    name after a loss): the whole history is moved aside, kept as evidence, and the rows it reached
    beyond the backup are said to be lost; a new history begins. A checkpoint of another database
    is never touched.
    """
    notes: list[str] = []
    with session_scope(url) as session:
        here = audit_checkpoint.database_id(session.get_bind().url)
        against = replace(expected, database=here) if expected is not None else None
        result = audit.verify(session, key=key, checkpoint=against)
    if not result.ok:
        raise BackupError(f"restored into {_safe(url)}, but its audit trail is BROKEN: {result.problem}")
    if expected is None:
        notes.append("no checkpoint beside the backup: the trail's chain verified, but whether rows "
                     "were cut from its end cannot be told")
    path, write_checkpoint = audit_checkpoint_file(), True
    try:
        current = audit_checkpoint.read(key)
    except audit_checkpoint.CheckpointError:
        current = None
        if path.exists():
            notes.append(f"the checkpoint {path} does not verify; it is kept as {_aside(path).name}")
    if current is not None and current.database != here:
        write_checkpoint = False
        notes.append(f"the checkpoint {path} belongs to {current.database}: left alone; set "
                     "DASHBOARD_AUDIT_CHECKPOINT_FILE for this database and run audit verify")
    elif current is not None:
        if current.last_id > result.last_id:
            notes.append(f"audit rows {result.last_id + 1} to {current.last_id}, written after the backup, "
                         "are not in it")
        notes.append(f"the previous checkpoint is kept as {_aside(path).name}")
    with session_scope(url) as session:
        audit.record(session, actor=actor, action=AuditAction.RESTORE, outcome="ok",
                     detail={"file": source.name, "sha256": sha256_of(source), "audit_rows": result.rows,
                             "notes": notes})
    if write_checkpoint:
        with session_scope(url) as session:
            final = audit.verify(session, key=key)
            if not final.ok:
                raise BackupError(f"restored, but the audit trail broke while recording the restore: {final.problem}")
            audit_checkpoint.append(key, audit.checkpoint_after(session, final, key, None))
    return RestoreResult(make_url(url).get_backend_name(), result.rows, result.last_id,
                         None if expected is None else True, write_checkpoint, tuple(notes))


def _aside(path: Path) -> Path:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    moved = path.with_name(f"{path.stem}.before-restore-{stamp}{path.suffix}")
    os.replace(path, moved)
    return moved


def _safe(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)

