"""Every audited action writes exactly one row; administrators filter the trail and export it,
the export neutralising spreadsheet formulas and being audited itself."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pandas as pd
import pytest
import streamlit as st

from dashboard.app_pages.display import blank_missing, readable_detail
from dashboard.db.audit_trail import TrailFilter, events_frame
from dashboard.ingest.export import trail_csv
from dashboard.db import audit
from dashboard.db.session import get_engine, session_scope
from tests.app.conftest import PASSWORDS, account, app, audit_rows, copy_demo, last_audit_id, log_in, patient_id

DIARY = b"patient_id,date,pain,notes\nDEMO-NEW,2026-03-01T21:00,6,first entry\n"
BAD_DIARY = b"patient_id,date,pain\nDEMO-NEW,03/01/2026,6\n"


def _login_ok(url):
    log_in(app(), "dr.rivera", PASSWORDS["dr.rivera"])


def _login_failed(url):
    log_in(app(), "dr.rivera", "not-the-password")


def _logout(url):
    at = app("patients", user=account(url, "dr.rivera")).run()
    at.button(key="logout").click().run()


def _view(url):
    app("review", user=account(url, "dr.rivera"), patient="DEMO-001").run()


def _refused_view(url):
    app("review", user=account(url, "dr.rivera"), patient="DEMO-009").run()


def _import(url, raw=DIARY, accept=False):
    at = app("import", user=account(url, "sam.staff")).run()
    at.file_uploader(key="upload").upload("new-patient.csv", raw, "text/csv")
    at.run()  # the dry run writes nothing
    assert not at.exception
    if accept:
        at.checkbox(key="accept_valid").check().run()
    buttons = [b for b in at.button if b.key == "do_import"]
    if buttons:
        buttons[0].click().run()


def _refused_import(url):
    # A refused file is recorded once, when the user insists: the page offers no Import button,
    # so the service's refusal path is the command line's; the page's dry run writes nothing.
    _import(url, BAD_DIARY)


def _export_trail(url):
    at = app("audit", user=account(url, "alex.admin")).run()
    at.button(key="audit_prepare").click().run()
    at.download_button(key="audit_export").click().run()


def _share(url):
    at = app("admin", user=account(url, "alex.admin")).run()
    at.selectbox(key="share_username").select("dr.chen").run()
    at.selectbox(key="share_ref").select("DEMO-001").run()
    at.button(key="share").click().run()


def _unshare(url):
    at = app("admin", user=account(url, "alex.admin")).run()
    at.selectbox(key="share_username").select("dr.chen").run()
    at.selectbox(key="unshare_ref").select("DEMO-008").run()
    at.button(key="unshare").click().run()


def _add_user(url):
    at = app("admin", user=account(url, "alex.admin")).run()
    at.text_input(key="add_username").input("dr.okoro")
    at.text_input(key="add_display_name").input("Dr. Ada Okoro")
    at.text_input(key="add_password").input("a long enough passphrase")
    at.button[[b.label for b in at.button].index("Add account")].click().run()


def _disable(url):
    at = app("admin", user=account(url, "alex.admin")).run()
    at.selectbox(key="disable_username").select("dr.chen").run()
    at.button(key="disable").click().run()


def _reset_password(url):
    at = app("admin", user=account(url, "alex.admin")).run()
    at.selectbox(key="reset_username").select("dr.chen").run()
    at.text_input(key="reset_password").input("another long passphrase")
    at.button(key="reset").click().run()


def _settings_change(url):
    at = app("settings", user=account(url, "alex.admin")).run()
    at.number_input(key="set_idle_logoff_minutes").set_value(20)
    at.button[[b.label for b in at.button].index("Save thresholds")].click().run()


def _idle(url):
    import time

    at = app("patients", user=account(url, "dr.chen")).run()
    at.session_state["last_activity"] = time.time() - 3600
    at.run()


CASES = [
    # The login lands on the worklist, itself a view of the patients it lists: its own row, after the login's.
    (_login_ok, [("dr.rivera", "login", "ok"), ("dr.rivera", "view_worklist", "ok")], None),
    (_login_failed, ("dr.rivera", "login", "failed"), None),
    (_logout, ("dr.rivera", "logout", "ok"), '"user"'),
    (_idle, ("dr.chen", "logout", "ok"), '"idle"'),
    (_view, ("dr.rivera", "view_patient", "ok"), "DEMO-001"),
    (_refused_view, ("dr.rivera", "view_patient", "denied"), "DEMO-009"),
    (_import, ("sam.staff", "import", "imported"), "new-patient.csv"),
    (_export_trail, ("alex.admin", "export", "ok"), "audit trail"),
    (_share, ("alex.admin", "share", "ok"), "dr.chen"),
    (_unshare, ("alex.admin", "unshare", "ok"), "DEMO-008"),
    (_add_user, ("alex.admin", "user_add", "ok"), "dr.okoro"),
    (_disable, ("alex.admin", "user_disable", "ok"), "dr.chen"),
    (_reset_password, ("alex.admin", "user_reset_password", "ok"), "dr.chen"),
    (_settings_change, ("alex.admin", "settings_change", "ok"), "idle_logoff_minutes"),
]


@pytest.mark.parametrize(("action", "expected", "detail"), CASES, ids=[c[0].__name__.strip("_") for c in CASES])
def test_each_audited_action_writes_exactly_one_row(clinic_url, action, expected, detail):
    with session_scope(clinic_url) as session:  # a trail to export
        audit.record(session, actor="test", action="setup")
    before = last_audit_id(clinic_url)
    action(clinic_url)
    rows = audit_rows(clinic_url, before)
    assert [r[:3] for r in rows] == (expected if isinstance(expected, list) else [expected])
    if detail:
        assert detail in rows[0][4]
    with session_scope(clinic_url) as session:
        assert audit.verify(session).ok


def test_a_refused_file_is_not_imported_and_the_dry_run_writes_nothing(clinic_url):
    before = last_audit_id(clinic_url)
    _refused_import(clinic_url)
    assert audit_rows(clinic_url, before) == []


def test_a_share_records_the_patient(clinic_url):
    before = last_audit_id(clinic_url)
    _share(clinic_url)
    assert audit_rows(clinic_url, before)[0][3] == patient_id(clinic_url, "DEMO-001")
    at = app("review", user=account(clinic_url, "dr.chen"), patient="DEMO-001").run()
    assert not at.error  # the share took effect


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ({"add_username": "dr.rivera", "add_display_name": "Again", "add_password": "a long enough passphrase"},
         "exists already"),
        ({"add_username": "dr.short", "add_display_name": "Short", "add_password": "short"}, "at least 12"),
        ({"add_username": "dr.common", "add_display_name": "Common", "add_password": "password1234"}, "too common"),
    ],
)
def test_a_refused_account_change_writes_nothing(clinic_url, typed, why):
    before = last_audit_id(clinic_url)
    at = app("admin", user=account(clinic_url, "alex.admin")).run()
    for key, value in typed.items():
        at.text_input(key=key).input(value)
    at.button[[b.label for b in at.button].index("Add account")].click().run()
    assert at.error and why in " ".join(t.value for t in at.text)
    assert audit_rows(clinic_url, before) == []


def test_an_administrator_cannot_disable_themselves(clinic_url):
    at = app("admin", user=account(clinic_url, "alex.admin")).run()
    assert "alex.admin" not in at.selectbox(key="disable_username").options


# --- the trail page: filters and export ------------------------------------------------------

def _events(url):
    """A small trail: two clinicians, two patients, views, a refusal and a typed formula."""
    _view(url)
    _refused_view(url)
    _login_failed(url)
    log_in(app(), '=HYPERLINK("http://evil.example")', "x")
    app("review", user=account(url, "dr.chen"), patient="DEMO-008").run()


TODAY = date.today()


@pytest.fixture(scope="module")
def trail_url(demo_url, tmp_path_factory):
    """One small trail for the read-only filter tests (written once: each event takes an app run)."""
    url = copy_demo(demo_url, tmp_path_factory.mktemp("trail") / "trail.sqlite")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DASHBOARD_DATABASE_URL", url)
        st.cache_data.clear()
        _events(url)
        yield url
    get_engine(url).dispose()


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        (TrailFilter(), 5),
        (TrailFilter(actor="dr.rivera"), 3),
        (TrailFilter(actor="dr.rivera", actions=("view_patient",)), 2),
        (TrailFilter(actions=("login",)), 2),
        (TrailFilter(outcomes=("denied",)), 1),
        (TrailFilter(outcomes=("failed",)), 2),
        (TrailFilter(patient_ref="DEMO-001"), 1),
        (TrailFilter(patient_ref="DEMO-009"), 1),  # the refusal names it in the detail
        (TrailFilter(patient_ref="DEMO-008"), 1),
        (TrailFilter(patient_ref="DEMO-00"), 0),  # a reference, not a prefix
        (TrailFilter(start=TODAY - timedelta(days=30), end=TODAY), 5),
        (TrailFilter(start=TODAY + timedelta(days=1), end=TODAY + timedelta(days=2)), 0),
        (TrailFilter(start=TODAY - timedelta(days=9), end=TODAY - timedelta(days=1)), 0),
        (TrailFilter(actor="dr.chen", patient_ref="DEMO-008", outcomes=("ok",)), 1),
    ],
)
def test_the_trail_filters(trail_url, f, expected):
    with session_scope(trail_url) as session:
        assert len(events_frame(session, f)) == expected


def test_the_trail_page_filters_by_widget(trail_url, monkeypatch):
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", trail_url)
    at = app("audit", user=account(trail_url, "alex.admin")).run()
    at.text_input(key="audit_actor").input("dr.chen").run()
    shown = at.dataframe[0].value
    assert set(shown["who"]) == {"dr.chen"} and list(shown["patient"]) == ["DEMO-008"]
    at.text_input(key="audit_actor").input("").run()
    at.text_input(key="audit_patient").input("DEMO-009").run()
    assert list(at.dataframe[0].value["outcome"]) == ["denied"]


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ('=HYPERLINK("http://evil.example")', '\'=HYPERLINK("http://evil.example")'),
        ("+1-555", "'+1-555"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tcmd", "'\tcmd"),
        ("\rcmd", "'\rcmd"),
        ("dr.rivera", "dr.rivera"),
        ('{"ref": "DEMO-001"}', '{"ref": "DEMO-001"}'),
        (None, ""),
    ],
)
def test_the_csv_export_neutralises_formulas(cell, written):
    frame = pd.DataFrame([[pd.Timestamp("2026-11-20 10:00:01"), cell, "login", None, "failed", ""]],
                         columns=["at (UTC)", "who", "action", "patient", "outcome", "detail"])
    rows = list(csv.reader(io.StringIO(trail_csv(frame).decode("utf-8-sig"), newline="")))
    assert rows[0] == list(frame.columns)
    assert rows[1] == ["2026-11-20 10:00:01", written, "login", "", "failed", ""]


def test_the_download_is_prepared_on_request_and_audited_when_clicked(clinic_url):
    _events(clinic_url)
    at = app("audit", user=account(clinic_url, "alex.admin")).run()
    at.multiselect(key="audit_outcomes").select("failed").run()
    assert not at.download_button  # written out only when asked for
    at.button(key="audit_prepare").click().run()
    assert at.download_button(key="audit_export").proto.url  # the file is ready
    # The file is trail_csv(events_frame(filter)); AppTest keeps no media bytes to read back.
    with session_scope(clinic_url) as session:
        data = trail_csv(events_frame(session, TrailFilter(outcomes=("failed",), start=TODAY - timedelta(days=30),
                                                           end=TODAY)))
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    assert sorted(r["who"] for r in rows) == ["'=HYPERLINK(\"http://evil.example\")", "dr.rivera"]
    before = last_audit_id(clinic_url)
    at.download_button(key="audit_export").click().run()
    export = audit_rows(clinic_url, before)
    assert [r[:3] for r in export] == [("alex.admin", "export", "ok")]
    assert '"rows": 2' in export[0][4] and '"failed"' in export[0][4]


def test_the_accounts_table_shows_no_literal_none(clinic_url):
    """An account never locked shows an empty cell, not "None"."""
    at = app("admin", user=account(clinic_url, "alex.admin")).run()
    assert not at.exception
    table = at.dataframe[0].value
    assert (table["locked until (UTC)"] == "").any()  # the demo's accounts are not locked
    assert not table.isna().any().any()
    assert "None" not in table.astype(str).to_numpy().ravel().tolist()


def test_blank_missing_empties_text_and_times_and_keeps_numbers():
    table = pd.DataFrame({
        "at (UTC)": pd.to_datetime(["2026-11-30 08:05:09", None]), "patient": pd.Series(["DEMO-001", None], dtype="str"),
        "detail": [None, '{"ref": "DEMO-001"}'], "runs": [1.5, float("nan")],
    })
    shown = blank_missing(table)
    assert shown["at (UTC)"].tolist() == ["2026-11-30 08:05", ""]
    assert shown["patient"].tolist() == ["DEMO-001", ""] and shown["detail"].tolist() == ["", '{"ref": "DEMO-001"}']
    assert shown["runs"].iloc[0] == 1.5 and pd.isna(shown["runs"].iloc[1])  # numbers are not text
    assert table["patient"].isna().iloc[1]  # the input is left as it was


@pytest.mark.parametrize(
    ("detail", "read"),
    [
        ('{"as_of": null, "format": "json", "patient": "DEMO-001"}', "format: json; patient: DEMO-001"),
        ('{"reason": "idle"}', "reason: idle"),
        ('{"failed_logins": 5, "locked_until": "2026-11-30 08:20:00"}', "failed_logins: 5; locked_until: 2026-11-30 08:20:00"),
        ('{"what": "audit trail", "rows": 3, "filter": {"actor": "", "actions": ["login"], "start": "2026-11-01", '
         '"end": null}}', "what: audit trail; rows: 3; filter: (actions: login; start: 2026-11-01)"),
        ('{"notes": [], "ok": true, "empty": {}}', "ok: yes"),
        ('{"ref": "**x** ![i](http://evil.example/i.png)"}', "ref: **x** ![i](http://evil.example/i.png)"),
        ("", ""), (None, ""), ("not json", "not json"), ('["a", "b"]', '["a", "b"]'),
    ],
    ids=["missing as_of", "one key", "numbers and times", "nested filter", "empty values left out", "text stays text",
         "empty", "none", "plain text", "a list is kept"],
)
def test_the_detail_reads_as_key_and_value(detail, read):
    """Issue 24 item 9: the audit page shows "as_of" missing as nothing, not the JSON ``"as_of": null``."""
    assert readable_detail(detail) == read


def test_the_audit_page_shows_each_detail_read_out_on_both_backends(small_clinic):
    from tests.app.conftest import OLD

    app("review", user=account(small_clinic, "dr.rivera"), patient="P-NOBODY").run()  # a refusal: {"ref": ...}
    at = log_in(app("audit"), "alex.admin", OLD)
    assert not at.exception
    details = list(at.dataframe[0].value["detail"])
    assert "ref: P-NOBODY" in details
    assert [d for d in details if "{" in d or "null" in d] == []
