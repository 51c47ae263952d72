"""A real ``streamlit run`` server on a demo database, driven by Playwright in Debian's Chromium.

``server`` is the one shared server: the demo clinic (demo mode), started once per test worker on
a copy of its own, for the tests that only look (logging in and opening pages write audit rows
to that copy, nothing else). A test that changes the clinic, or needs other settings, starts a
server on its own database with ``running_server``.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from dashboard.db.session import get_engine
from tests.app.conftest import copy_demo
from tests.conftest import require

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(__file__).resolve().parent / "artifacts"
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def browser():
    require(Path(CHROMIUM).exists(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


def start_server(db_url: str, *, demo: bool = True, port: int | None = None,
                 env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """``port`` when the test must know the address first (an EHR's redirect URI); ``env`` more settings."""
    port = port or _free_port()
    env = {**os.environ, "DASHBOARD_DATABASE_URL": db_url, "DASHBOARD_DEMO": "1" if demo else "", **(env or {})}
    ARTIFACTS.mkdir(exist_ok=True)
    # The server's output goes to a file: an unread pipe fills up and stalls the server.
    log = open(ARTIFACTS / f"server-{port}.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", str(REPO / "dashboard" / "server.py"), "--server.port", str(port),
         "--server.address", "127.0.0.1", "--server.headless", "true"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            with urllib.request.urlopen(f"{base}/_stcore/health", timeout=2) as resp:
                if resp.status == 200:
                    return proc, base
        except OSError:
            time.sleep(0.5)
    proc.kill()
    raise RuntimeError(f"streamlit did not start: {(ARTIFACTS / f'server-{port}.log').read_text(errors='replace')[-2000:]}")


@contextmanager
def running_server(db_url: str, *, demo: bool = True, port: int | None = None,
                   env: dict | None = None) -> Iterator[str]:
    """A server on ``db_url`` for the block's duration; yields its base URL."""
    proc, base = start_server(db_url, demo=demo, port=port, env=env)
    try:
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@pytest.fixture(scope="session")
def server(_demo_templates, tmp_path_factory) -> Iterator[str]:
    """The demo clinic's server, shared by every test of this worker that only reads the clinic."""
    path = tmp_path_factory.mktemp("e2e-demo") / "clinic.sqlite"
    shutil.copy(_demo_templates["sqlite"], path)
    with running_server(f"sqlite:///{path}") as base:
        yield base


@pytest.fixture
def own_server(demo_url, tmp_path) -> Iterator[tuple[str, str]]:
    """A server of its own on a private copy of the demo clinic, for a test that changes the clinic:
    (its base URL, the database URL)."""
    url = copy_demo(demo_url, tmp_path / "clinic.sqlite")
    with running_server(url, demo=False) as base:
        yield base, url
    get_engine(url).dispose()


@pytest.fixture
def page(browser):
    ARTIFACTS.mkdir(exist_ok=True)
    context = browser.new_context(viewport={"width": 1366, "height": 768})
    p = context.new_page()
    yield p
    context.close()


def login(page, base: str, username: str, password: str) -> None:
    page.goto(base)
    page.get_by_label("User name").fill(username)
    page.get_by_label("Password", exact=True).fill(password)
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("Logged in as").wait_for(timeout=30_000)
