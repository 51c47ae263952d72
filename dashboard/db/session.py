"""The one place that owns engines and sessions.

Functions elsewhere take a ``session`` argument and never open their own, so a whole
import or a whole page request is one unit of work (SQLAlchemy FAQ: keep the session's
lifecycle outside the functions that use it).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from dashboard.config import REPO_ROOT, database_url, pool_settings

_migrate_lock = threading.Lock()


def private_sqlite_file(url: str) -> None:
    """Create the SQLite file with mode 0600 before SQLite does: it holds every patient, and SQLite
    would create it with the process's umask (0644 by default, readable by anyone on the machine).
    SQLite gives its -journal, -wal and -shm files the mode of the database file, so they follow.
    An existing file keeps the mode its owner gave it; a missing folder is left for SQLite to report."""

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    try:
        os.close(os.open(database, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError:
        pass


@lru_cache(maxsize=8)
def get_engine(url: str | None = None) -> Engine:
    url = url or database_url()
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        # A generous busy timeout: two importers at once wait for each other instead of failing.
        engine = create_engine(url, connect_args={"timeout": 60}, hide_parameters=True)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # pragma: no cover - trivial
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA journal_mode=WAL")
            cur.close()

        return engine
    # executemany through psycopg's pipeline (one cached single-row statement) is several times
    # faster here than multi-row VALUES, which psycopg re-parses per batch (bench/benchmark.py).
    pool_size, max_overflow = pool_settings()
    return create_engine(url, pool_pre_ping=True, use_insertmanyvalues=False, hide_parameters=True,
                         pool_size=pool_size, max_overflow=max_overflow)


def damaged_database(exc: BaseException) -> bool:
    """A SQLite file that is not a database or is corrupt ("file is not a database", "database disk
    image is malformed"): sqlite3 raises a plain DatabaseError, which SQLAlchemy wraps as its own
    DatabaseError, not as the OperationalError of a file that cannot be opened. Told apart from a
    bad statement or a refused value by SQLite's own result code, never by the message."""

    orig = getattr(exc, "orig", exc)
    return isinstance(orig, sqlite3.DatabaseError) and \
        getattr(orig, "sqlite_errorcode", None) in (sqlite3.SQLITE_NOTADB, sqlite3.SQLITE_CORRUPT)


@lru_cache(maxsize=8)
def _sessionmaker(url: str) -> sessionmaker[Session]:
    return sessionmaker(get_engine(url), expire_on_commit=False)


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: committed if the block succeeds, rolled back otherwise."""
    session = _sessionmaker(url or database_url())()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def alembic_config(url: str | None = None):
    from alembic.config import Config  # start-up: alembic ~0.6 s (python -X importtime), only when migrating

    cfg = Config()
    cfg.set_main_option("script_location", str(REPO_ROOT / "migrations"))
    cfg.set_main_option("sqlalchemy.url", (url or database_url()).replace("%", "%%"))
    return cfg


def migrate(url: str | None = None) -> None:
    """Bring the database to the newest schema (alembic upgrade head)."""
    from alembic import command  # start-up: alembic ~0.6 s (python -X importtime), only when migrating

    url = url or database_url()
    if url.startswith("sqlite:///"):


        try:
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a folder that cannot be made is a database that cannot be opened
            raise OperationalError("create the SQLite file's folder", {}, exc) from exc
        private_sqlite_file(url)  # alembic opens its own engine, not get_engine's
    with _migrate_lock:
        command.upgrade(alembic_config(url), "head")
