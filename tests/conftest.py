"""Test databases: every test that takes ``db_url`` runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from ``DASHBOARD_TEST_POSTGRES_URL`` (``.ci/run`` sets it). Each test gets a
fresh database cloned from a migrated template (``CREATE DATABASE … TEMPLATE``; on SQLite a
copy of the file), and drops it afterwards, because CI finds the server as the last session
left it. Without a server the PostgreSQL half skips with the reason, except under ``CI=true``,
where a skip is a failure.

The suite runs in parallel (pytest-xdist, ``-n auto``): every session-scoped resource here is
built once per worker, and every PostgreSQL database is named after its worker and process,
so workers never share one. Markers, set here so that no test is forgotten:

- ``postgres``: the test runs on PostgreSQL (the ``postgresql`` half of ``db_url`` or
  ``demo_db``, or a fixture that makes a PostgreSQL database of its own);
- ``e2e``: the test drives a real server in Chromium (everything under ``tests/e2e``).

``-m "not e2e and not postgres"`` runs the rest: no server, no browser, no database server.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import secrets
import shutil
import tempfile
import uuid
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import date
from pathlib import Path

import pytest
from argon2 import PasswordHasher, profiles
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from streamlit.components.v2 import manifest_scanner

from dashboard.auth import passwords
from dashboard.db.session import get_engine, migrate
from tests import hypothesis_profiles  # noqa: F401 - registers and loads the Hypothesis profiles (ci, explore)

IN_CI = os.environ.get("CI", "").lower() == "true"
# The audit trail's key and checkpoint never come from the repository or the developer's
# environment: a key per test run, and (below) a checkpoint file per test. Subprocesses inherit both.
os.environ["DASHBOARD_AUDIT_KEY"] = secrets.token_hex(32)
os.environ.pop("DASHBOARD_AUDIT_KEY_FILE", None)
os.environ["DASHBOARD_SESSION_KEY"] = secrets.token_hex(32)  # the login cookie's key, one per run too
os.environ.pop("DASHBOARD_SESSION_KEY_FILE", None)
os.environ["DASHBOARD_AUDIT_CHECKPOINT_FILE"] = str(Path(tempfile.mkdtemp(prefix="audit-")) / "audit-checkpoint.json")
PG_URL = os.environ.get("DASHBOARD_TEST_POSTGRES_URL", "")
# Every new AppTest scans all installed packages for Streamlit components (streamlit 1.67,
# ``AppTest._run`` → ``discover_and_register_components``): 1.2–1.6 s of wall per AppTest on a
# loaded machine (0.1 s of CPU; it reads package metadata), for an answer that cannot change while the tests run. Scanned once per worker.
_scan_once = functools.cache(manifest_scanner.scan_component_manifests)
manifest_scanner.scan_component_manifests = lambda max_workers=None: list(_scan_once())
# argon2 at the production cost (passwords.PARAMETERS: 64 MiB, 3 passes) takes about 0.2 s of CPU
# per hash or check, and the demo clinic, the logins and the account tests make hundreds. In the
# test processes passwords are hashed at argon2's cheapest cost (the same argon2id and checks);
# a hash carries its parameters, so checking one needs no setting. A real process (a server, a
# real command line) keeps the production cost, and tests/test_passwords.py proves what it is.
CHEAP_PASSWORDS = dataclasses.replace(profiles.CHEAPEST, hash_len=32, salt_len=16)  # 8 KiB, 1 pass
passwords._hasher = PasswordHasher.from_parameters(CHEAP_PASSWORDS)
SHARED = Path(__file__).resolve().parents[2] / "shared"
if not SHARED.exists():  # a clone beside shared/, as CI lays it out
    SHARED = Path(__file__).resolve().parents[1].parent / "shared"
TESTS = Path(__file__).resolve().parent
# Fixtures that make a PostgreSQL database of their own, outside db_url and demo_db.
POSTGRES_FIXTURES = {"clinic_pg"}
# This process's part of every PostgreSQL database name: the xdist worker ("gw0", …; "main"
# without xdist) and the process id, so parallel workers and parallel runs never collide.
WORKER = f"{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{os.getpid()}"


def require(condition: bool, reason: str) -> None:
    """Skip locally with a clear reason; under CI=true the same condition fails the test."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"CI=true and this test cannot run: {reason}")
    pytest.skip(reason)


def _runs_on_postgres(item) -> bool:
    callspec = getattr(item, "callspec", None)
    if callspec is not None and "postgresql" in (callspec.params.get("db_url"), callspec.params.get("demo_db")):
        return True
    return bool(POSTGRES_FIXTURES & set(getattr(item, "fixturenames", ())))


# The longest single tests (each 20–90 s, mostly waiting: an idle limit, servers, Chromium), started
# first so that they overlap the short tests instead of ending the run alone on one worker.
LONGEST_FIRST = (
    "tests/e2e/test_security.py::test_an_unattended_screen_logs_off_by_itself",
    "tests/test_bench.py::test_simulated_clinicians",
    "tests/e2e/test_two_servers.py",
)


def _start_order(item) -> tuple[int, int]:
    longest = next((i for i, prefix in enumerate(LONGEST_FIRST) if item.nodeid.startswith(prefix)), len(LONGEST_FIRST))
    return longest, item.get_closest_marker("e2e") is None


def pytest_collection_modifyitems(config, items):
    e2e = TESTS / "e2e"
    for item in items:
        if e2e in Path(str(item.fspath)).parents:
            item.add_marker(pytest.mark.e2e)
        if _runs_on_postgres(item):
            item.add_marker(pytest.mark.postgres)
    # pytest-xdist hands the tests out in this order (every worker collects the same): the longest
    # first, then the browser tests (they wait on servers and Chromium), then the rest as written.
    items.sort(key=_start_order)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    # Runs in each xdist worker before its report is sent to the controller, so the
    # changed outcome is what the controller counts.
    outcome = yield
    report = outcome.get_result()
    if IN_CI and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"CI=true forbids skips: {report.longrepr}"


@functools.cache
def _admin_engine():
    return create_engine(PG_URL, isolation_level="AUTOCOMMIT", pool_pre_ping=True, pool_size=_Dropper.THREADS + 2)


def _pg_available() -> str | None:
    if not PG_URL:
        return "DASHBOARD_TEST_POSTGRES_URL is not set (no PostgreSQL server for the tests)"
    try:
        with _admin_engine().connect() as conn:
            conn.execute(text("select 1"))
    except Exception as exc:  # noqa: BLE001 - any failure means the server is not usable
        return f"PostgreSQL at {make_url(PG_URL).render_as_string(hide_password=True)} is not reachable: {exc.__class__.__name__}"
    return None


def _pg_name(prefix: str) -> str:
    """A database name of this worker's own."""
    return f"{prefix}_{WORKER}_{uuid.uuid4().hex[:8]}"


def _pg_create(name: str, template: str | None = None) -> str:
    with _admin_engine().connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
    return make_url(PG_URL).set(database=name).render_as_string(hide_password=False)


class _Dropper:
    """Drops a test's PostgreSQL database behind the tests' back. Each DROP DATABASE waits for a
    server checkpoint (0.2–3 s, more on a busy server); the next test need not wait for it, and
    drops running at the same time share one checkpoint (eight in a row: 22 s; at once: 0.7 s).
    ``wait`` (at the end of the session) returns once every database handed over is gone, and
    raises what a drop raised."""

    THREADS = 8

    def __init__(self):
        self.pool: ThreadPoolExecutor | None = None
        self.pending: list[Future] = []

    def drop(self, name: str) -> None:
        if self.pool is None:
            self.pool = ThreadPoolExecutor(self.THREADS, thread_name_prefix="pg-drop")
        self.pending = [f for f in self.pending if not f.done() or f.exception() is not None]
        self.pending.append(self.pool.submit(self._drop, name))

    @staticmethod
    def _drop(name: str) -> None:
        with _admin_engine().connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def wait(self) -> None:
        errors = [exc for exc in (f.exception() for f in self.pending) if exc is not None]
        if self.pool is not None:
            self.pool.shutdown(wait=True)
        if errors:
            raise RuntimeError(f"{len(errors)} test database(s) not dropped: {errors[0]!r}")


_DROPPER = _Dropper()


def _pg_drop(name: str, url: str) -> None:
    """Close this process's connections to the database, then have it dropped (``_Dropper``)."""
    get_engine(url).dispose()
    _DROPPER.drop(name)


@pytest.fixture(scope="session", autouse=True)
def _every_test_database_dropped():
    yield
    _DROPPER.wait()


@pytest.fixture(autouse=True)
def _audit_checkpoint_per_test(tmp_path, monkeypatch):
    """Each test's databases are new, so each test starts without a checkpoint."""
    monkeypatch.setenv("DASHBOARD_AUDIT_CHECKPOINT_FILE", str(tmp_path / "audit-checkpoint.json"))


class _Templates:
    """Databases built once per worker and copied for each test: ``["sqlite"]`` is a file,
    ``["postgresql"]`` a database name. Each is built on first use, so a run without
    PostgreSQL tests (``-m "not postgres"``) never connects to the server."""

    def __init__(self, folder: Path, fill=None):
        self.folder, self.fill, self.built = folder, fill, {}

    def __getitem__(self, backend: str):
        if backend not in self.built:
            self.built[backend] = self._build(backend)
        return self.built[backend]

    def _build(self, backend: str):
        if backend == "sqlite":
            path = self.folder / "template.sqlite"
            url = f"sqlite:///{path}"
            migrate(url)
            self._fill(url)
            get_engine(url).dispose()
            return path
        reason = _pg_available()
        require(reason is None, reason or "")
        name = _pg_name("dash_tmpl")
        url = _pg_create(name)
        migrate(url)
        self._fill(url)
        get_engine(url).dispose()  # a template may have no other connection while it is copied
        return name

    def _fill(self, url: str) -> None:
        if self.fill is not None:
            from dashboard.db.session import session_scope

            with session_scope(url) as session:
                self.fill(session)

    def close(self) -> None:
        name = self.built.get("postgresql")
        if name:
            with _admin_engine().connect() as conn:
                conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))

    def copy(self, backend: str, tmp_path: Path, prefix: str):
        """A fresh copy: (url, PostgreSQL name or None)."""
        if backend == "sqlite":
            path = tmp_path / f"{prefix}.sqlite"
            shutil.copy(self["sqlite"], path)
            return f"sqlite:///{path}", None
        template = self["postgresql"]
        name = _pg_name(prefix)
        return _pg_create(name, template=template), name


@pytest.fixture(scope="session")
def _templates(tmp_path_factory):
    """A migrated empty database per backend, cloned for each test."""
    templates = _Templates(tmp_path_factory.mktemp("tmpl"))
    yield templates
    templates.close()


def _build_demo(session) -> None:
    from dashboard.demo import build_demo

    build_demo(session, seed=7, today=date.today())


@pytest.fixture(scope="session")
def _demo_templates(tmp_path_factory):
    """The demo clinic per backend, built once per worker by the same code as
    ``python -m dashboard demo`` (seed 7, today), cloned for each test that takes it."""
    templates = _Templates(tmp_path_factory.mktemp("demo_tmpl"), fill=_build_demo)
    yield templates
    templates.close()


def _fresh(templates: _Templates, backend: str, tmp_path: Path, prefix: str):
    url, name = templates.copy(backend, tmp_path, prefix)
    yield url
    if name is None:
        get_engine(url).dispose()
    else:
        _pg_drop(name, url)


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, _templates, tmp_path):
    """A fresh, migrated, empty database on each backend."""
    yield from _fresh(_templates, request.param, tmp_path, "dash_t")


@pytest.fixture(params=["sqlite", "postgresql"])
def demo_db(request, _demo_templates, tmp_path):
    """A private copy of the demo clinic on each backend, for tests that compare or write
    (the demo itself is built once per worker and backend)."""
    yield from _fresh(_demo_templates, request.param, tmp_path, "dash_demo")


@pytest.fixture
def sqlite_url(_templates, tmp_path):
    """A fresh SQLite database, for tests that are about something other than the backend."""
    yield from _fresh(_templates, "sqlite", tmp_path, "test")


@pytest.fixture
def shared_dir() -> Path:
    require(SHARED.exists(), f"shared/ folder not found beside the repository ({SHARED})")
    return SHARED


@pytest.fixture(scope="session")
def demo_url(_demo_templates, tmp_path_factory) -> str:
    """The demo clinic on SQLite, one copy per worker shared by the tests that only read it
    (a command's audit row is the only write they make). A test that changes it takes
    ``demo_db`` or ``clinic_url`` (tests/app/conftest.py), a copy of its own."""
    path = tmp_path_factory.mktemp("demo") / "demo.sqlite"
    shutil.copy(_demo_templates["sqlite"], path)
    return f"sqlite:///{path}"
