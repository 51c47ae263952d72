"""The import page's past imports (who, when, file, outcome, counts), downloading a kept file
again (audited, per dashboard.access), and resolving conflicts entry by entry (AppTest)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import streamlit as st
from sqlalchemy import select

from dashboard.usecases import NotAllowed, imports, run
from dashboard.ingest.service import STORED_HIDDEN
from dashboard.auth.accounts import add_user, share
from dashboard.db.models import AuditEvent, DiaryEntry
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import account, app

TODAY = date.today()
D1, D2 = (TODAY - timedelta(days=3)).isoformat(), (TODAY - timedelta(days=2)).isoformat()
MINE = f"patient_id,date,pain\nH-1,{D1}T20:00,6\nH-1,{D2}T20:00,5\n".encode()
THEIRS = f"patient_id,date,pain\nH-2,{D1}T20:00,3\n".encode()
NO_PATIENT = b"<script>alert(1)</script> **bold**\x00"


@pytest.fixture
def clinic(sqlite_url, monkeypatch) -> str:
    """Staff, and a clinician with whom H-1 (not H-2) is shared; three kept files."""
    with session_scope(sqlite_url) as session:
        add_user(session, username="sam", display_name="Sam", role="staff", password=None)
        add_user(session, username="rivera", display_name="Dr Rivera", role="clinician", password=None)
    assert import_file(MINE, "mine.csv", url=sqlite_url, actor="sam").status == "imported"
    assert import_file(THEIRS, "theirs.csv", url=sqlite_url, actor="sam").status == "imported"
    assert import_file(NO_PATIENT, "<b>odd</b>.txt", url=sqlite_url, actor="sam").status == "refused"
    with session_scope(sqlite_url) as session:
        share(session, username="rivera", patient_ref="H-1")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    yield sqlite_url
    st.cache_data.clear()


def _history(at):
    (table,) = [d.value for d in at.dataframe if "outcome" in d.value.columns]
    return table


def _audits(url, action):
    with session_scope(url) as session:
        return [(e.actor, e.outcome, json.loads(e.detail)) for e in
                session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id))]


def test_staff_see_every_import_with_its_outcome_and_counts(clinic):
    at = app("import", user=account(clinic, "sam")).run()
    assert not at.exception
    table = _history(at)
    assert list(table["import"]) == [3, 2, 1]
    assert list(table["outcome"]) == ["Refused", "Imported", "Imported"]
    assert list(table["file"]) == ["<b>odd</b>.txt", "theirs.csv", "mine.csv"]  # shown as data, never markup
    assert list(table["added"]) == [0, 1, 2] and list(table["by"]) == ["sam"] * 3
    assert list(table["refused rows"]) == [1, 0, 0]


def test_a_clinician_sees_only_imports_of_patients_shared_with_them(clinic):
    at = app("import", user=account(clinic, "rivera")).run()
    assert list(_history(at)["file"]) == ["mine.csv"]
    with pytest.raises(NotAllowed):
        run(imports.kept_import_file, account(clinic, "rivera"), 2)
    with pytest.raises(NotAllowed):  # names no patient, and rivera did not bring it
        run(imports.kept_import_file, account(clinic, "rivera"), 3)
    assert [(a[0], a[1], a[2]["import_id"]) for a in _audits(clinic, "download_import")] == \
        [("rivera", "denied", 2), ("rivera", "denied", 3)]


def test_a_kept_file_is_downloaded_again_byte_for_byte_and_audited(clinic):
    at = app("import", user=account(clinic, "sam")).run()
    at.selectbox(key="download_choice").set_value(3).run()
    at.button(key="download_prepare").click().run()
    assert not at.exception
    (button,) = at.get("download_button")
    assert button.proto.label == "Download the kept file"
    assert f"Import #3: <b>odd</b>.txt ({len(NO_PATIENT)} bytes, as it was received)" in [t.value for t in at.text]
    name, data = run(imports.kept_import_file, account(clinic, "sam"), 3)
    assert (name, data) == ("<b>odd</b>.txt", NO_PATIENT)
    run(imports.record_import_download, account(clinic, "sam"), 3, name, len(data))  # the button's on_click
    assert _audits(clinic, "download_import") == [("sam", "ok", {"import_id": 3, "file": name, "bytes": len(data)})]


def test_conflicts_are_resolved_entry_by_entry_with_a_reason(clinic):
    corrected = MINE.replace(b"T20:00,6", b"T20:00,8") + f"H-1,{TODAY.isoformat()}T08:00,2\n".encode()
    at = app("import", user=account(clinic, "sam")).run()
    at.file_uploader(key="upload").upload("corrected.csv", corrected, "text/csv").run()
    # Staff import for the whole clinic but see stored values only of patients shared with them (issue 24).
    assert f"Conflict 1: H-1, {D1} 20:00: pain {STORED_HIDDEN}, file '8.0'" in [t.value for t in at.text]
    with session_scope(clinic) as session:
        share(session, username="sam", patient_ref="H-1")
    at = app("import", user=account(clinic, "sam")).run()
    at.file_uploader(key="upload").upload("corrected.csv", corrected, "text/csv").run()
    assert "do_import" not in [b.key for b in at.button]
    assert f"Conflict 1: H-1, {D1} 20:00: pain stored '6.0', file '8.0'" in [t.value for t in at.text]
    at.selectbox(key="resolve_0").set_value("take").run()
    assert "do_import" not in [b.key for b in at.button]  # no reason yet
    at.text_input(key="resolve_reason").input("patient corrected it at the visit").run()
    assert "Outcome: Would import. would import 1 diary entr(y/ies); conflicts: 1 taken from the file, 0 kept as stored" \
        in [t.value for t in at.text]
    at.button(key="do_import").click().run()
    assert not at.exception
    with session_scope(clinic) as session:
        assert sorted(session.scalars(select(DiaryEntry.pain))) == [2.0, 3.0, 5.0, 8.0]
    ((actor, outcome, detail),) = _audits(clinic, "resolve_conflict")
    assert (actor, outcome, detail["replaced"]["pain"], detail["reason"]) == \
        ("sam", "take", 6.0, "patient corrected it at the visit")


def test_a_conflict_over_hostile_notes_is_shown_as_plain_text(clinic):
    hostile = "<script>alert(1)</script> **bold**"
    stored = f"patient_id,date,pain,notes\nH-1,{D1}T20:00,6,calm\n".encode()
    import_file(stored.replace(b"H-1", b"H-9"), "h9.csv", url=clinic, actor="sam")
    with session_scope(clinic) as session:
        share(session, username="sam", patient_ref="H-9")
    at = app("import", user=account(clinic, "sam")).run()
    at.file_uploader(key="upload").upload("n.csv", stored.replace(b"H-1", b"H-9").replace(b"calm", hostile.encode()),
                                          "text/csv").run()
    assert not at.exception
    assert f"Conflict 1: H-9, {D1} 20:00: notes stored 'calm', file {hostile!r}" in [t.value for t in at.text]
    rendered = [e.value for kind in ("markdown", "caption", "info", "success", "error", "warning", "header", "subheader")
                for e in getattr(at, kind)] + [w.label for w in at.selectbox] + [w.label for w in at.radio]
    assert [r for r in rendered if "<script>" in r or "bold" in r] == []
