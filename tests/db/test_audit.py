"""The audit trail is append-only in the database, and the hash chain catches what a database
owner does after switching that off (on SQLite and PostgreSQL alike)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from alembic import command
from sqlalchemy import delete, func, select, text, update
from sqlalchemy.exc import DBAPIError

from dashboard.db import audit
from dashboard.db.models import AuditEvent
from dashboard.db.session import alembic_config, get_engine, migrate, session_scope
from tests.clirun import cli

TRIGGERS = {
    "sqlite": {"audit_event_no_update", "audit_event_no_delete"},
    "postgresql": {"audit_event_no_update_delete", "audit_event_no_truncate"},
}


@contextmanager
def audit_unlocked(url: str) -> Iterator[None]:
    """A database owner switching the append-only triggers off, as someone tampering would."""
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER USER"))
        try:
            yield
        finally:
            with engine.begin() as conn:
                conn.execute(text("ALTER TABLE audit_event ENABLE TRIGGER USER"))
        return
    with engine.begin() as conn:
        saved = conn.execute(
            text("SELECT name, sql FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'")).all()
        for name, _sql in saved:
            conn.execute(text(f"DROP TRIGGER {name}"))
    try:
        yield
    finally:
        with engine.begin() as conn:
            for _name, sql in saved:
                conn.execute(text(sql))


def triggers(url: str) -> set[str]:
    engine = get_engine(url)
    if engine.dialect.name == "postgresql":
        query = "SELECT tgname FROM pg_trigger WHERE tgrelid = 'audit_event'::regclass AND NOT tgisinternal"
    else:
        query = "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'audit_event'"
    with engine.connect() as conn:
        return set(conn.scalars(text(query)))


def _trail(url: str, events: int = 3) -> None:
    with session_scope(url) as session:
        for i in range(events):
            audit.record(session, actor=f"user{i}", action="login", detail={"n": i})


def _verify(url: str) -> audit.VerifyResult:
    with session_scope(url) as session:
        return audit.verify(session)


def _cli_verify(url: str) -> subprocess.CompletedProcess:
    return cli(url, "audit", "verify")  # the command's main, in this process (tests/clirun.py)


def test_the_triggers_exist_after_migrating(db_url):
    backend = get_engine(db_url).dialect.name
    assert triggers(db_url) == TRIGGERS[backend]


@pytest.mark.parametrize(
    "statement",
    [
        update(AuditEvent).where(AuditEvent.id == 2).values(outcome="ok-edited"),
        update(AuditEvent).values(detail=""),
        delete(AuditEvent).where(AuditEvent.id == 3),
        delete(AuditEvent),
    ],
    ids=["edit one row", "edit every row", "delete one row", "delete every row"],
)
def test_the_database_refuses_to_change_or_delete_an_audit_row(db_url, statement):
    _trail(db_url)
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(db_url) as session:
            session.execute(statement)
    with session_scope(db_url) as session:
        assert session.scalar(select(func.count(AuditEvent.id))) == 3
    assert _verify(db_url).ok


def test_emptying_the_table_is_refused(db_url):
    _trail(db_url)
    # PostgreSQL's TRUNCATE fires no row trigger, hence its own statement trigger; SQLite has only DELETE.
    empty = "TRUNCATE audit_event" if get_engine(db_url).dialect.name == "postgresql" else "DELETE FROM audit_event"
    with pytest.raises(DBAPIError, match="append-only"):
        with session_scope(db_url) as session:
            session.execute(text(empty))
    assert _verify(db_url).rows == 3


def test_appending_still_works_and_verifies(db_url):
    _trail(db_url, events=5)
    result = _verify(db_url)
    assert (result.ok, result.rows) == (True, 5)


@pytest.mark.parametrize(
    ("tamper", "row", "problem"),
    [
        (update(AuditEvent).where(AuditEvent.id == 2).values(outcome="denied"), 2, "edited"),
        (update(AuditEvent).where(AuditEvent.id == 1).values(actor="someone-else"), 1, "edited"),
        (update(AuditEvent).where(AuditEvent.id == 3).values(detail='{"n": 99}'), 3, "edited"),
        (delete(AuditEvent).where(AuditEvent.id == 2), 3, "deleted"),
        (delete(AuditEvent).where(AuditEvent.id == 1), 2, "deleted"),
    ],
    ids=["outcome edited", "actor edited", "detail edited", "middle row deleted", "first row deleted"],
)
def test_a_tampered_trail_fails_verify(db_url, tamper, row, problem):
    _trail(db_url, events=4)
    with audit_unlocked(db_url):
        with session_scope(db_url) as session:
            session.execute(tamper)
    result = _verify(db_url)
    assert not result.ok
    assert result.row_id == row and problem in result.problem
    assert triggers(db_url) == TRIGGERS[get_engine(db_url).dialect.name]  # switched back on


def test_audit_verify_command_exits_1_on_a_tampered_trail(db_url):
    _trail(db_url)
    assert _cli_verify(db_url).returncode == 0
    with audit_unlocked(db_url):
        with session_scope(db_url) as session:
            session.execute(update(AuditEvent).where(AuditEvent.id == 2).values(action="logout"))
    result = _cli_verify(db_url)
    assert result.returncode == 1
    assert "row 2" in result.stderr and "edited" in result.stderr


def test_downgrade_removes_the_triggers_and_upgrade_restores_them(db_url):
    command.downgrade(alembic_config(db_url), "0001")
    assert triggers(db_url) == set()
    migrate(db_url)
    assert triggers(db_url) == TRIGGERS[get_engine(db_url).dialect.name]
