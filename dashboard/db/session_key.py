"""The key that signs the login-session cookie, kept outside the database and the repository.

Like the audit key (``dashboard.db.audit_key``, same rules): ``DASHBOARD_SESSION_KEY`` (at least
32 characters), or a file, ``DASHBOARD_SESSION_KEY_FILE``, by default ``session.key`` in the audit
key file's folder (``data/`` unless ``DASHBOARD_AUDIT_KEY_FILE`` says otherwise), created with mode
0600 on the first login. A key file inside a SQLite database's folder is refused unless
``DASHBOARD_AUDIT_KEY_BESIDE_DATABASE=1`` says it is meant: logins then last one page load, as
before. Several servers behind one proxy share the key (the variable, or the same file).

Replacing the key ends every session kept by a cookie (their signatures no longer verify).
"""

from __future__ import annotations

import os
from pathlib import Path

from dashboard.config import audit_key_file
from dashboard.db.audit_key import AuditKeyError, beside_database, checked, create_file

ENV = "DASHBOARD_SESSION_KEY"
FILE_ENV = "DASHBOARD_SESSION_KEY_FILE"


def key_file() -> Path:
    return Path(os.environ.get(FILE_ENV) or audit_key_file().parent / "session.key")


def placement_problem(database) -> str | None:
    """Why the key file may not be used beside this database (a URL), or None."""
    if os.environ.get(ENV, "").strip():
        return None
    folder = beside_database(database, key_file())
    if folder is None:
        return None
    return (f"the session key file {key_file().resolve()} is inside the database's folder {folder}: keep it "
            f"elsewhere ({FILE_ENV} or {ENV}); until then a login does not survive a page reload")


def load(database) -> bytes:
    """The key's bytes for ``database`` (created on first use); AuditKeyError when it may not be used."""
    problem = placement_problem(database)
    if problem:
        raise AuditKeyError(problem)
    from_env = os.environ.get(ENV, "").strip()
    if from_env:
        return checked(from_env, ENV)
    path = key_file()
    if not path.exists():
        create_file(path)
    try:
        return checked(path.read_text(encoding="utf-8").strip(), str(path))
    except OSError as exc:
        raise AuditKeyError(f"cannot read the session key file {path}: {exc.strerror}") from None
