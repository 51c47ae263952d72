"""What every command shares: exit codes, who is acting, the database's address for messages."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, InterfaceError, NoSuchModuleError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard import patient_ref
from dashboard.actors import Actor, Operator
from dashboard.config import database_url
from dashboard.db.session import damaged_database, migrate, session_scope
from dashboard.text_rules import escaped
from dashboard.usecases import NotAllowed
from dashboard.usecases.acting import acting

EXIT_OK, EXIT_REFUSED, EXIT_USAGE, EXIT_UNCHECKED = 0, 1, 2, 3
EXIT_OTHER_DATABASE = 4  # audit verify only: the checkpoint history is another database's


def operator() -> Operator:
    """The operating-system user running the command, for the audit trail: the login name
    (``getpass``: LOGNAME, USER, LNAME, USERNAME, else the password database), else the uid, so
    a cron job or a container without USER is still somebody."""
    try:
        name = getpass.getuser()
    except (KeyError, OSError):  # no such variable and no password-database entry for this uid
        name = ""
    return Operator(f"cli:{name}" if name else f"cli:uid:{os.getuid()}")


def as_actor(session, args, action: str, detail: dict) -> Actor:
    """The operator, or the account ``--as USER`` names (``usecases.acting``): ``NotAllowed``,
    audited under the operator, when it is not an enabled account."""
    return acting(session, operator(), args.actor, action, detail)


def run_as(args, action: str, detail: dict, use_case: Callable, *params, **options):
    """Migrate, then ``use_case(session, actor, ...)`` in one unit of work as ``--as`` or the
    operator; a refusal (already audited) is printed on standard error and answers None."""
    migrate()
    try:
        with session_scope() as session:
            actor = as_actor(session, args, action, detail)
            return use_case(session, actor, *params, **options)
    except NotAllowed as exc:
        print(str(exc), file=sys.stderr)
        return None


def looked_up(ref: str) -> str:
    """A patient reference to look up (summary, export, report, user share) as ``dashboard.patient_ref``
    reads it: ＤＥＭＯ-001 is DEMO-001. One that cannot be a reference finds no patient; it is kept,
    escaped where the store cannot hold it (a byte that is not UTF-8 arrives as a lone surrogate),
    for the message and the audit trail. ``import --patient`` is the importer's to refuse."""
    return patient_ref.lookup(ref) or escaped(ref)


def safe_url() -> str:
    return make_url(database_url()).render_as_string(hide_password=True)


def database_failure(exc: BaseException) -> str | None:
    """One line for a database that cannot be reached or used (no traceback, no password), else None.

    Any command can meet it: a server that is down, a wrong URL or driver, a file that cannot be
    opened or is not a SQLite database (corrupt, truncated, overwritten). The full error stays out of the terminal, as it may quote SQL parameters.
    """
    if isinstance(exc, (OperationalError, InterfaceError, PoolTimeout)):
        why = "cannot be reached"
    elif damaged_database(exc):
        why = "cannot be read: the file is damaged or is not a database (restore it from a backup)"
    elif isinstance(exc, (ArgumentError, NoSuchModuleError)):
        why = "is misconfigured (check DASHBOARD_DATABASE_URL)"
    else:
        return None
    try:
        where = safe_url()
    except Exception:  # noqa: BLE001 - an unparseable URL is itself the misconfiguration
        where = "DASHBOARD_DATABASE_URL"
    return f"dashboard: the database {where} {why} ({exc.__class__.__name__}); nothing was changed."
