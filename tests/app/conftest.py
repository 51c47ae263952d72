"""The app as a logged-in person meets it, on a copy of the demo clinic.

tests/conftest.py builds the demo clinic once per test worker; ``clinic_url`` gives each test its
own copy, because logging in, opening a patient and every refusal write audit rows. tests/e2e
imports ``copy_demo`` to start a server on a copy of ``demo_url``.
"""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest
from streamlit.util import calc_hash

from dashboard.auth.accounts import User, resolve_user
from dashboard.db.models import AuditEvent, Patient
from dashboard.auth import accounts
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from dashboard.demo import DEMO_ACCOUNTS, STORIES

APP = Path(__file__).resolve().parents[2] / "dashboard" / "app.py"
PASSWORDS = {username: password for username, _name, _role, password in DEMO_ACCOUNTS}
PAGES = ("worklist", "patients", "review", "import", "settings", "audit", "admin", "cohort", "inbox")


def copy_demo(demo_url: str, target: Path) -> str:
    """A consistent copy of the demo database (SQLite's backup API also copies what is still in the WAL)."""
    source = sqlite3.connect(demo_url.removeprefix("sqlite:///"))
    copy = sqlite3.connect(target)
    with copy:
        source.backup(copy)
    source.close()
    copy.close()
    return f"sqlite:///{target}"


@pytest.fixture
def clinic_url(_demo_templates, tmp_path, monkeypatch) -> str:
    """A private copy of the demo clinic as built (nothing another test wrote), and the app pointed at it."""
    shutil.copy(_demo_templates["sqlite"], tmp_path / "clinic.sqlite")
    url = f"sqlite:///{tmp_path / 'clinic.sqlite'}"
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield url
    st.cache_data.clear()
    st.cache_resource.clear()
    get_engine(url).dispose()


def app(page: str | None = None, *, user: User | None = None, patient: str | None = None) -> AppTest:
    """The app, optionally logged in as ``user`` and asked for a page by its url path."""
    at = AppTest.from_file(str(APP), default_timeout=60)
    if user is not None:
        at.session_state["user"] = user
    if patient is not None:
        at.query_params["patient"] = patient
    if page is not None:
        # What a browser asks for by URL: /review?patient=REF. AppTest has no public way to
        # request a page of callables or files by url path, so the page's hash is set directly.
        at._page_hash = calc_hash(page)
    return at


def account(url: str, username: str) -> User:
    with session_scope(url) as session:
        user = resolve_user(session, username)
    assert user is not None, username
    return user


def log_in(at: AppTest, username: str, password: str) -> AppTest:
    at.run()
    at.text_input(key="login_username").input(username)
    at.text_input(key="login_password").input(password)
    return at.button[0].click().run()


def texts(at: AppTest) -> str:
    """Everything the page shows, as one string: element values, labels, options and table cells."""
    parts = []
    for node in at._tree:
        proto = getattr(node, "proto", None)
        if proto is not None:
            parts.append(str(proto))
        value = getattr(node, "value", None) if not hasattr(node, "children") else None
        if value is not None:
            parts.append(value.to_string() if hasattr(value, "to_string") else str(value))
    return "\n".join(parts)


def demo_identities() -> list[str]:
    """Every patient reference and name in the demo clinic."""
    return [story.ref for story in STORIES] + [story.name for story in STORIES]


def shared_with(username: str) -> set[str]:
    return {story.ref for story in STORIES if username in story.shared_with}


def audit_rows(url: str, after_id: int = 0) -> list[tuple]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(
            select(AuditEvent.actor, AuditEvent.action, AuditEvent.outcome, AuditEvent.patient_id, AuditEvent.detail)
            .where(AuditEvent.id > after_id).order_by(AuditEvent.id)
        )]


def last_audit_id(url: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(AuditEvent.id).order_by(AuditEvent.id.desc()).limit(1)) or 0


def patient_id(url: str, ref: str) -> int:
    with session_scope(url) as session:
        return session.scalar(select(Patient.id).where(Patient.ref == ref))


OLD = "correct horse battery staple"
SMALL_DIARY = "patient_id,date,pain,notes\nP-RIV,2026-03-01T21:00,6,rivera's patient\n"


@pytest.fixture
def small_clinic(db_url, monkeypatch) -> str:
    """dr.rivera with one patient and alex.admin, and the app pointed at them."""
    assert import_file(SMALL_DIARY.encode(), "P-RIV.csv", url=db_url, actor="test").status == "imported"
    with session_scope(db_url) as session:
        accounts.add_user(session, username="dr.rivera", display_name="Dr Rivera", role="clinician", password=OLD)
        accounts.add_user(session, username="alex.admin", display_name="Alex Admin", role="admin", password=OLD)
        accounts.share(session, username="dr.rivera", patient_ref="P-RIV")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", db_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    yield db_url
    st.cache_data.clear()
    st.cache_resource.clear()
    get_engine(db_url).dispose()
