"""``damaged_database`` tells a corrupt SQLite file from every other database error (issue 24 item 4):
a refused value or a bad statement on either backend must stay the page's "database error", and the
command line's traceback for the logs, never be called a damaged file."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from dashboard.db.session import damaged_database, get_engine, session_scope


def _error(url: str, statement: str) -> SQLAlchemyError:
    with pytest.raises(SQLAlchemyError) as caught:
        with session_scope(url) as session:
            session.execute(text(statement))
    return caught.value


@pytest.mark.parametrize(
    "statement",
    ["INSERT INTO clinician (id, username, display_name, role, active, failed_logins, created_at) "
     "VALUES (1, 'a', 'a', 'clinician', true, 0, CURRENT_TIMESTAMP), (1, 'b', 'b', 'clinician', true, 0, CURRENT_TIMESTAMP)",
     "SELECT * FROM no_such_table",
     "SELEC nonsense"],
    ids=["duplicate key", "unknown table", "syntax error"],
)
def test_other_database_errors_are_not_a_damaged_file(db_url, statement):
    assert damaged_database(_error(db_url, statement)) is False


@pytest.mark.parametrize("damage", [lambda p: p.write_bytes(b"\x00" * 4096 + b"not sqlite" * 100),
                                    lambda p: p.write_bytes(Path(__file__).read_bytes())],
                         ids=["zeros and text", "a python file"])
def test_a_file_that_is_not_a_database_is_damaged(sqlite_url, damage):
    get_engine(sqlite_url).dispose()
    damage(Path(sqlite_url.removeprefix("sqlite:///")))
    assert damaged_database(_error(sqlite_url, "SELECT count(*) FROM clinician")) is True
