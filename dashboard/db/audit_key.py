"""The audit trail's HMAC key, kept outside the database.

Whoever can write ``audit_event`` (a database owner who switches the append-only triggers off)
can recompute a plain SHA-256 chain, but not an HMAC chain without this key. The key comes
from ``DASHBOARD_AUDIT_KEY`` or from a file (``DASHBOARD_AUDIT_KEY_FILE``, default
``data/audit.key``), which the first audited event creates with mode 0600. Never commit it;
back it up with the same care as the database backups: without it the keyed rows cannot be
verified.

A key file inside the SQLite database's folder (the default, ``data/``) travels with every copy
of that folder: writers refuse it unless ``DASHBOARD_AUDIT_KEY_BESIDE_DATABASE=1`` says it is
meant (the demo sets it; a clinic keeps the key elsewhere).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from sqlalchemy.engine import make_url

from dashboard.config import audit_key_file

ENV = "DASHBOARD_AUDIT_KEY"
BESIDE_ENV = "DASHBOARD_AUDIT_KEY_BESIDE_DATABASE"
MIN_CHARS = 32  # 128 bits as hex; the file the application creates holds 256 bits


class AuditKeyError(RuntimeError):
    """The key is missing (and must not be created here) or too short to be a key."""


def load(*, create: bool) -> bytes:
    """The key's bytes. ``create`` is for writers only: a verifier must never invent a new key."""
    from_env = os.environ.get(ENV, "").strip()
    if from_env:
        return checked(from_env, ENV)
    path = audit_key_file()
    if not path.exists():
        if not create:
            raise AuditKeyError(f"no audit key: set {ENV} or provide the key file {path}")
        create_file(path)
    try:
        return checked(path.read_text(encoding="utf-8").strip(), str(path))
    except OSError as exc:
        raise AuditKeyError(f"cannot read the audit key file {path}: {exc.strerror}") from None


def for_writing(database) -> bytes:
    """The key for a writer of ``database`` (a URL), after :func:`placement_problem` allows it."""
    problem = placement_problem(database)
    if problem:
        raise AuditKeyError(problem)
    return load(create=True)


def placement_problem(database) -> str | None:
    """Why the key file may not be used beside this database (a URL), or None.

    Whoever copies the database's folder (a backup of the disk, a colleague's copy) would hold
    the key too, and with it could rewrite the trail so that it verifies. A key from the
    environment, a server database, or an explicit ``DASHBOARD_AUDIT_KEY_BESIDE_DATABASE=1`` pass.
    """

    if os.environ.get(ENV, "").strip():
        return None
    folder = beside_database(database, audit_key_file())
    if folder is None:
        return None
    return (f"the audit key file {audit_key_file().resolve()} is inside the database's folder {folder}, so every copy "
            f"of that folder carries the key that protects the audit trail: keep it elsewhere (DASHBOARD_AUDIT_KEY_FILE, "
            f"or DASHBOARD_AUDIT_KEY), or set {BESIDE_ENV}=1 where that is meant (a demo or a trial)")


def beside_database(database, key: Path) -> Path | None:
    """The SQLite database's folder when the key file ``key`` is inside it and that is not meant
    (``DASHBOARD_AUDIT_KEY_BESIDE_DATABASE``); None otherwise. The rule of every key file."""
    if os.environ.get(BESIDE_ENV, "").strip().lower() in {"1", "true", "yes"}:
        return None
    url = make_url(database)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return None
    folder = Path(url.database).resolve().parent
    return folder if key.resolve().is_relative_to(folder) else None


def checked(text: str, where: str) -> bytes:
    if len(text) < MIN_CHARS:
        raise AuditKeyError(f"the audit key in {where} is shorter than {MIN_CHARS} characters")
    return text.encode("utf-8")


def create_file(path: Path) -> None:
    """Write a fresh key atomically; if two processes race, both end up with the first one's key."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(secrets.token_hex(32) + "\n")
    try:
        os.link(tmp, path)  # unlike rename, link refuses to replace a key another process just wrote
    except FileExistsError:
        pass
    finally:
        os.unlink(tmp)
