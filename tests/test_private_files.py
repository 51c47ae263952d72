"""Files holding patients are owner-only, and the audit key is not kept beside the database
(issue 24, item 6), on SQLite and PostgreSQL.

The command line runs under a shell umask of 022 here (anyone may read what it creates) to show
that it is the dashboard, not the caller's shell, that makes its files 0600: in this process
(``main``, as tests/clirun.py runs it), and as real processes in the test of a new and a restored
database, where the process's own umask is the point.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from dashboard.config import chromium_path
from dashboard.db import audit, audit_key
from dashboard.db.session import get_engine, session_scope
from tests import clirun
from tests.conftest import require

REPO = Path(__file__).resolve().parents[1]
DIARY = "patient_id,date,pain,notes\nP-001,2026-03-01T21:30,6,slept badly\nP-001,2026-03-02,5,\n"


def cli(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The command in this process (tests/clirun.py), called with the shell's umask of 022."""
    previous = os.umask(0o022)
    try:
        return clirun.cli(url, *args, **env)
    finally:
        os.umask(previous)


def cli_process(url: str, *args: str, **env: str) -> subprocess.CompletedProcess:
    """The command as a real process started by a shell whose umask is 022."""
    return subprocess.run([sys.executable, "-m", "dashboard", *args], cwd=REPO,
                          env={**os.environ, "DASHBOARD_DATABASE_URL": url, **env}, capture_output=True, text=True,
                          timeout=180, preexec_fn=lambda: os.umask(0o022))


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


@pytest.fixture
def clinic(db_url, tmp_path) -> str:
    diary = tmp_path / "diary.csv"
    diary.write_text(DIARY, encoding="utf-8")
    done = cli(db_url, "import", str(diary))
    assert done.returncode == 0, done.stderr
    return db_url


@pytest.mark.parametrize(
    ("args", "written"),
    [
        (["export", "--patient", "P-001", "-o", "{out}/diary.csv"], "diary.csv"),
        (["export", "--patient", "P-001", "--format", "fhir", "-o", "{out}/bundle.json"], "bundle.json"),
        (["report", "P-001", "--as-of", "2026-03-02", "-o", "{out}/report.pdf"], "report.pdf"),
        (["backup", "-o", "{out}/clinic.backup"], "clinic.backup"),
    ],
    ids=["export csv", "export fhir", "report pdf", "backup"],
)
def test_what_the_command_line_writes_is_owner_only(clinic, tmp_path, args, written):
    if args[0] == "report":
        require(chromium_path() is not None, "Chromium not found (the report's chart is drawn by kaleido through it)")
    out = tmp_path / "out"
    out.mkdir()
    done = cli(clinic, *[a.format(out=out) for a in args])
    assert done.returncode == 0, done.stderr
    assert mode(out / written) == 0o600


def test_a_new_sqlite_database_and_a_restored_one_are_owner_only(tmp_path):
    """Real processes: the umask a real ``python -m dashboard`` sets, whatever its shell's."""
    created = tmp_path / "new" / "clinic.sqlite"
    diary = tmp_path / "diary.csv"
    diary.write_text(DIARY, encoding="utf-8")
    assert cli_process(f"sqlite:///{created}", "import", str(diary)).returncode == 0
    assert mode(created) == 0o600
    backup = tmp_path / "clinic.backup"
    assert cli_process(f"sqlite:///{created}", "backup", "-o", str(backup)).returncode == 0
    assert mode(backup) == 0o600
    restored = tmp_path / "elsewhere" / "restored.sqlite"
    done = cli_process(f"sqlite:///{restored}", "restore", str(backup),
               DASHBOARD_AUDIT_CHECKPOINT_FILE=str(tmp_path / "restored-checkpoint.json"))
    assert done.returncode == 0, done.stderr
    assert mode(restored) == 0o600
    assert [p.name for p in restored.parent.iterdir() if mode(p) != 0o600] == []


@pytest.mark.parametrize("journal", ["wal", "delete"])
def test_sqlites_journals_take_the_databases_mode_whatever_the_umask(tmp_path, journal):
    """The library path too (a server started without the command line): the engine creates the file."""
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    previous = os.umask(0o022)
    try:
        with get_engine(url).connect() as conn:
            conn.exec_driver_sql(f"PRAGMA journal_mode={journal}")
            conn.execute(text("CREATE TABLE t (x)"))
            conn.execute(text("INSERT INTO t VALUES (1)"))  # uncommitted: the journal is on disk now
            files = sorted(tmp_path.iterdir())
            modes = {p.name: mode(p) for p in files}
            conn.rollback()
    finally:
        os.umask(previous)
        get_engine(url).dispose()
    side = {"wal": "clinic.sqlite-wal", "delete": "clinic.sqlite-journal"}[journal]
    assert side in modes, modes
    assert set(modes.values()) == {0o600}, modes


# --- the audit key beside the database -------------------------------------------------------

def _key_beside(db_url: str, tmp_path: Path) -> Path:
    """A key file in the SQLite database's folder (for PostgreSQL: a folder of its own)."""
    folder = Path(db_url.removeprefix("sqlite:///")).parent if db_url.startswith("sqlite") else tmp_path
    return folder / "keys" / "audit.key"


@pytest.mark.parametrize(
    ("where", "beside_setting", "refused_on_sqlite"),
    [
        ("beside", None, True),
        ("beside", "0", True),
        ("beside", "1", False),
        ("elsewhere", None, False),
        ("environment", None, False),
    ],
    ids=["key in the database's folder", "setting 0", "setting 1 (the demo)", "key elsewhere",
         "key in the environment"],
)
def test_writers_refuse_a_key_file_inside_the_databases_folder(db_url, tmp_path, tmp_path_factory, monkeypatch,
                                                                where, beside_setting, refused_on_sqlite):
    key_file = _key_beside(db_url, tmp_path) if where == "beside" else tmp_path_factory.mktemp("k") / "audit.key"
    monkeypatch.setenv("DASHBOARD_AUDIT_KEY_FILE", str(key_file))
    if where != "environment":
        monkeypatch.delenv(audit_key.ENV)
    if beside_setting is None:
        monkeypatch.delenv(audit_key.BESIDE_ENV, raising=False)
    else:
        monkeypatch.setenv(audit_key.BESIDE_ENV, beside_setting)
    refused = refused_on_sqlite and db_url.startswith("sqlite")  # a server database has no folder to share
    problem = audit_key.placement_problem(db_url)
    assert (problem is not None) == refused
    diary = tmp_path / "diary.csv"
    diary.write_text(DIARY, encoding="utf-8")
    done = cli(db_url, "import", str(diary))
    if refused:
        assert done.returncode == 3
        assert done.stderr.strip().splitlines() == [f"import: {problem}; nothing was changed."]
        assert "DASHBOARD_AUDIT_KEY_BESIDE_DATABASE=1" in problem and str(key_file) in problem
        assert not key_file.exists()  # refused before a key was made
        with pytest.raises(audit_key.AuditKeyError):
            with session_scope(db_url) as session:
                audit.record(session, actor="test", action="login")
        with session_scope(db_url) as session:
            assert session.execute(text("SELECT count(*) FROM diary_entry")).scalar() == 0
    else:
        assert done.returncode == 0, done.stderr


def test_run_refuses_to_start_with_the_key_beside_the_database_unless_demo(sqlite_url, tmp_path, monkeypatch):
    key_file = _key_beside(sqlite_url, tmp_path)
    monkeypatch.delenv(audit_key.ENV)
    monkeypatch.delenv(audit_key.BESIDE_ENV, raising=False)
    done = cli(sqlite_url, "run", "--port", "1", DASHBOARD_AUDIT_KEY_FILE=str(key_file))
    assert done.returncode == 3
    assert done.stderr.startswith("run: not started: the audit key file") and done.stdout == ""
    # the demo says so itself (a clinic's database is refused by demo mode before anything is served)
    monkeypatch.setenv("DASHBOARD_AUDIT_KEY_FILE", str(key_file))
    assert cli(sqlite_url, "demo", "--today", "2026-11-30").returncode == 0
    assert key_file.exists()

