"""Test databases: every test that takes ``db_url`` runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``DASHBOARD_TEST_POSTGRES_URL`` (``.ci/run`` sets it). Each test gets a
fresh database cloned from a migrated template, and drops it afterwards, because CI finds
the server as the last session left it. Without a server the PostgreSQL half skips with
the reason, except under ``CI=true``, where a skip is a failure.
"""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from dashboard.db.session import get_engine, migrate
from tests import hypothesis_profiles  # noqa: F401 - registers and loads the Hypothesis profiles (ci, explore)

IN_CI = os.environ.get("CI", "").lower() == "true"
# The audit trail's key and checkpoint never come from the repository or the developer's
# environment: a key per test run, and (below) a checkpoint file per test. Subprocesses inherit both.
os.environ["DASHBOARD_AUDIT_KEY"] = secrets.token_hex(32)
os.environ.pop("DASHBOARD_AUDIT_KEY_FILE", None)
os.environ["DASHBOARD_AUDIT_CHECKPOINT_FILE"] = str(Path(tempfile.mkdtemp(prefix="audit-")) / "audit-checkpoint.json")
PG_URL = os.environ.get("DASHBOARD_TEST_POSTGRES_URL", "")
SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # a clone beside shared/, as CI lays it out
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"


def require(condition: bool, reason: str) -> None:
    """Skip locally with a clear reason; under CI=true the same condition fails the test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this test cannot run: {reason}")
    pytest.skip(reason)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true forbids skips: {report.longrepr}"


def _admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True)


def _pg_available() -> str | None:
    if not PG_URL:
        return "DASHBOARD_TEST_POSTGRES_URL is not set (no PostgreSQL server for the tests)"
    try:
        with _admin_engine().connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} is not reachable: {exc.__class__.__name__}"
    return None


def _pg_create(name: str, template: str | None = None) -> str:
    with _admin_engine().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


def _pg_drop(name: str, url: str) -> None:
    get_engine(url).dispose()
    with _admin_engine().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(autouse=True)
def _audit_checkpoint_per_test(tmp_path, monkeypatch):
    """Each test's databases are new, so each test starts without a checkpoint."""
    monkeypatch.setenv("DASHBOARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "audit-checkpoint.json"))


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """A migrated empty database per backend, cloned for each test."""
    sqlite_path = tmp_path_factory.mktemp("tmpl") / "template.sqlite"
    migrate(f"sqlite:///{sqlite_path}")
    get_engine(f"sqlite:///{sqlite_path}").dispose()
    templates = {"sqlite": sqlite_path, "postgresql": None}
    pg_name = None
    if _pg_available() is None:
        pg_name = f"dash_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        url = _pg_create(pg_name)
        migrate(url)
        get_engine(url).dispose()
        templates["postgresql"] = pg_name
    yield templates
    if pg_name:
        with _admin_engine().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)'))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, _templates, tmp_path):
    """A fresh, migrated, empty database on each backend."""
    if request.param == "sqlite":
        path = tmp_path / "test.sqlite"
        shutil.copy(_templates["sqlite"], path)
        url = f"sqlite:///{path}"
        yield url
        get_engine(url).dispose()
        return
    reason = _pg_available()
    require(reason is None, reason or "")
    name = f"dash_t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    url = _pg_create(name, template=_templates["postgresql"])
    yield url
    _pg_drop(name, url)


@pytest.fixture
def sqlite_url(_templates, tmp_path):
    """A fresh SQLite database, for tests that are about something other than the backend."""
    path = tmp_path / "test.sqlite"
    shutil.copy(_templates["sqlite"], path)
    url = f"sqlite:///{path}"
    yield url
    get_engine(url).dispose()


@pytest.fixture
def shared_dir() -> Path:
    require(SHARED.exists(), f"shared/ folder not found beside the repository ({SHARED})")
    return SHARED


@pytest.fixture(scope="session")
def demo_url(_templates, tmp_path_factory) -> str:
    """The demo clinic, built once per test session by the same code as ``python -m dashboard demo``.

    Read-only for tests: a test that writes takes ``db_url`` and builds what it needs.
    """
    from dashboard.db.session import session_scope
    from dashboard.demo import build_demo

    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    shutil.copy(_templates["sqlite"], path)
    url = f"sqlite:///{path}"
    with session_scope(url) as session:
        build_demo(session, seed=7)
    return url
