"""Logging in and out: local passwords with lockout, the clinic's identity provider, the idle
logoff, the demo accounts shown only in demo mode, and a database that cannot be reached."""

from __future__ import annotations

import time
from pathlib import Path
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select, update

from dashboard.auth import accounts
from dashboard.db.models import Clinician
from dashboard.db.session import session_scope
from dashboard.db.settings_store import save_thresholds
from dashboard.session_state import IDLE_MESSAGE
from tests.app.conftest import PASSWORDS, account, app, audit_rows, last_audit_id, log_in, texts

ISSUER = "https://login.clinic.example"
AUTH = {
    "redirect_uri": "http://localhost:8501/oauth2callback",
    "cookie_secret": "a-test-cookie-secret-of-some-length",
    "client_id": "dashboard",
    "client_secret": "not-a-real-secret",
    "server_metadata_url": f"{ISSUER}/.well-known/openid-configuration",
    "label": "Clinic SSO",
}


def _logged_in(at) -> bool:
    return "Logged in as" in texts(at)


def _errors(at) -> str:
    return " ".join(e.value for e in at.error)


# --- local passwords --------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("username", "password", "ok", "outcome"),
    [
        ("dr.rivera", PASSWORDS["dr.rivera"], True, "ok"),
        ("alex.admin", PASSWORDS["alex.admin"], True, "ok"),
        ("dr.rivera", PASSWORDS["dr.chen"], False, "failed"),
        ("dr.rivera", "", False, "failed"),
        ("nobody", "whatever-it-is-123", False, "failed"),
        ("=HYPERLINK(\"http://evil.example\")", "x", False, "failed"),
    ],
    ids=["clinician", "admin", "another's password", "empty password", "unknown user", "formula as user name"],
)
def test_a_login_is_audited_once_either_way(clinic_url, username, password, ok, outcome):
    before = last_audit_id(clinic_url)
    at = log_in(app(), username, password)
    assert not at.exception
    assert _logged_in(at) is ok
    if not ok:
        assert _errors(at) == accounts.LOGIN_REFUSED  # the same for an unknown user
    # After a login the home page, the worklist, lists the user's patients: that view is audited on its own row.
    rows = audit_rows(clinic_url, before)
    assert [r[:3] for r in rows if r[1] != "view_worklist"] == [(username, "login", outcome)]
    assert [r[:3] for r in rows if r[1] == "view_worklist"] in ([], [(username, "view_worklist", "ok")])


def test_logout_is_audited_once_and_shows_the_login_again(clinic_url):
    at = log_in(app(), "dr.chen", PASSWORDS["dr.chen"])
    before = last_audit_id(clinic_url)
    at.button(key="logout").click().run()
    assert not _logged_in(at)
    assert [w.label for w in at.text_input] == ["User name", "Password"]
    assert [r[:3] for r in audit_rows(clinic_url, before)] == [("dr.chen", "logout", "ok")]
    assert "user" not in at.session_state


def test_five_failures_lock_the_account_for_fifteen_minutes(clinic_url):
    at = app()
    for _ in range(accounts.MAX_FAILED_LOGINS):
        log_in(at, "dr.rivera", "wrong-password-here")
    before = last_audit_id(clinic_url)
    log_in(at, "dr.rivera", PASSWORDS["dr.rivera"])
    assert not _logged_in(at)
    assert _errors(at) == accounts.LOGIN_REFUSED  # a stranger cannot tell a locked name from an unknown one
    assert [r[:3] for r in audit_rows(clinic_url, before)] == [("dr.rivera", "login", "locked")]
    with session_scope(clinic_url) as session:
        locked_until = session.scalar(select(Clinician.locked_until).where(Clinician.username == "dr.rivera"))
    assert timedelta(minutes=14) < locked_until - datetime.utcnow() <= accounts.LOCKOUT
    # Fifteen minutes later (moved back in the database rather than waited for):
    with session_scope(clinic_url) as session:
        session.execute(update(Clinician).where(Clinician.username == "dr.rivera")
                        .values(locked_until=datetime.utcnow() - timedelta(seconds=1)))
    log_in(at, "dr.rivera", PASSWORDS["dr.rivera"])
    assert _logged_in(at)


def test_four_failures_do_not_lock_and_a_success_resets_the_count(clinic_url):
    at = app()
    for _ in range(accounts.MAX_FAILED_LOGINS - 1):
        log_in(at, "dr.chen", "wrong-password-here")
    assert _logged_in(log_in(at, "dr.chen", PASSWORDS["dr.chen"]))
    with session_scope(clinic_url) as session:
        assert session.scalar(select(Clinician.failed_logins).where(Clinician.username == "dr.chen")) == 0


def test_a_disabled_account_cannot_log_in(clinic_url):
    with session_scope(clinic_url) as session:
        accounts.disable_user(session, "dr.chen")
    at = log_in(app(), "dr.chen", PASSWORDS["dr.chen"])
    assert not _logged_in(at) and _errors(at) == accounts.LOGIN_REFUSED


# --- demo accounts only in demo mode --------------------------------------------------------

@pytest.mark.parametrize(("demo", "shown"), [("1", True), ("", False), ("0", False)])
def test_demo_accounts_are_listed_only_in_demo_mode(clinic_url, monkeypatch, demo, shown):
    monkeypatch.setenv("DASHBOARD_DEMO", demo)
    at = app().run()
    listed = texts(at)
    for username, password in PASSWORDS.items():
        assert (username in listed) is shown
        assert (password in listed) is shown


# --- idle logoff ------------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("limit_minutes", "idle_minutes", "logged_off"),
    [(15, 16, True), (15, 14, False), (5, 6, True), (5, 4, False), (30, 20, False)],
)
def test_idle_logoff_after_the_configured_minutes(clinic_url, limit_minutes, idle_minutes, logged_off):
    if limit_minutes != 15:
        with session_scope(clinic_url) as session:
            save_thresholds(session, {"idle_logoff_minutes": limit_minutes}, updated_by="test")
    at = app("patients", user=account(clinic_url, "dr.rivera")).run()
    assert _logged_in(at)
    before = last_audit_id(clinic_url)
    at.session_state["last_activity"] = time.time() - idle_minutes * 60
    at.run()
    assert _logged_in(at) is not logged_off
    if logged_off:
        assert [i.value for i in at.info] == [IDLE_MESSAGE]
        assert "Maria Alvarez" not in texts(at)
        rows = audit_rows(clinic_url, before)
        assert [r[:3] for r in rows] == [("dr.rivera", "logout", "ok")] and "idle" in rows[0][4]
    else:
        assert time.time() - at.session_state["last_activity"] < 60  # the run counted as activity


# --- the clinic's identity provider (st.login) ----------------------------------------------

def _oidc_app(claims: dict | None, auth: dict | None = AUTH):
    at = app()
    if auth is not None:
        at.secrets["auth"] = auth
    at.user = {"is_logged_in": False} if claims is None else {"is_logged_in": True, **claims}
    return at


def _link(url: str, username: str, subject: str, issuer: str = ISSUER) -> None:
    with session_scope(url) as session:
        account_row = session.scalar(select(Clinician).where(Clinician.username == username))
        account_row.oidc_issuer, account_row.oidc_subject = issuer, subject


@pytest.mark.parametrize(
    ("auth", "buttons"),
    [
        (None, []),
        (AUTH, ["Log in with Clinic SSO"]),
        ({k: v for k, v in AUTH.items() if k != "label"}, ["Log in with login.clinic.example"]),
        ({k: v for k, v in AUTH.items() if k != "cookie_secret"}, []),  # incomplete: st.login would fail
        ({"redirect_uri": AUTH["redirect_uri"], "cookie_secret": "s" * 32,
          "okta": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")} | {"label": "Okta"},
          "entra": {k: AUTH[k] for k in ("client_id", "client_secret", "server_metadata_url")} | {"label": "Entra ID"}},
         ["Log in with Okta", "Log in with Entra ID"]),
    ],
    ids=["not configured", "default provider", "label from the metadata host", "incomplete", "two named providers"],
)
def test_the_login_page_offers_each_configured_identity_provider(clinic_url, auth, buttons):
    at = _oidc_app(None, auth).run()
    assert [b.label for b in at.button if b.label.startswith("Log in with")] == buttons
    assert [w.label for w in at.text_input] == ["User name", "Password"]  # local accounts still work


def test_an_identity_is_matched_on_issuer_and_subject(clinic_url):
    _link(clinic_url, "dr.chen", "00u-chen-42")
    before = last_audit_id(clinic_url)
    at = _oidc_app({"iss": ISSUER, "sub": "00u-chen-42", "email": "someone.else@clinic.example"}).run()
    assert _logged_in(at) and "Dr. Wei Chen" in texts(at)
    # The home page (the worklist) lists dr.chen's patients: its view is audited on a row of its own.
    rows = [r for r in audit_rows(clinic_url, before) if r[1] != "view_worklist"]
    assert [r[:3] for r in rows] == [("dr.chen", "login", "ok")] and '"oidc"' in rows[0][4]
    at.run()  # later runs use the session, without logging in again (nor a new worklist view)
    assert len(audit_rows(clinic_url, before)) == 2


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": ISSUER, "sub": "someone-unknown", "email": "wei.chen@clinic.example"},
        {"iss": "https://evil.example", "sub": "00u-chen-42"},  # the right subject at another provider
        {"sub": "00u-chen-42"},
        {"iss": ISSUER},
    ],
    ids=["unknown subject", "other issuer", "no issuer", "no subject"],
)
def test_an_unknown_identity_is_refused_and_audited_once(clinic_url, claims):
    _link(clinic_url, "dr.chen", "00u-chen-42")
    before = last_audit_id(clinic_url)
    at = _oidc_app(claims).run()
    assert not _logged_in(at)
    assert "not linked to an account here" in _errors(at)
    at.run()
    rows = audit_rows(clinic_url, before)
    assert [(r[1], r[2]) for r in rows] == [("login", "failed")]
    assert "no active account" in rows[0][4]


def test_a_disabled_identity_account_is_refused(clinic_url):
    _link(clinic_url, "dr.chen", "00u-chen-42")
    with session_scope(clinic_url) as session:
        accounts.disable_user(session, "dr.chen")
    at = _oidc_app({"iss": ISSUER, "sub": "00u-chen-42"}).run()
    assert not _logged_in(at)


def test_an_identity_is_ignored_when_no_provider_is_configured(clinic_url):
    _link(clinic_url, "dr.chen", "00u-chen-42")
    at = _oidc_app({"iss": ISSUER, "sub": "00u-chen-42"}, auth=None).run()
    assert not _logged_in(at)


@pytest.mark.parametrize("how", ["button", "idle"])
def test_logging_out_an_identity_also_ends_streamlits_login(clinic_url, how):
    _link(clinic_url, "dr.chen", "00u-chen-42")
    at = _oidc_app({"iss": ISSUER, "sub": "00u-chen-42"}).run()
    assert _logged_in(at)
    if how == "button":
        at.button(key="logout").click().run()
    else:
        at.session_state["last_activity"] = time.time() - 16 * 60
        at.run()
    assert at.user == {"is_logged_in": False}  # st.logout() ran: the identity cookie goes too
    at.run()
    assert not _logged_in(at)


# --- a database that cannot be reached -----------------------------------------------------

@pytest.mark.parametrize(
    "url",
    ["sqlite:////nonexistent-folder/dashboard.sqlite", "postgresql+psycopg://postgres@127.0.0.1:9/nowhere"],
    ids=["sqlite file", "postgresql server"],
)
def test_a_database_that_cannot_be_reached_gives_a_clear_message(clinic_url, monkeypatch, caplog, url):
    user = account(clinic_url, "dr.rivera")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", url)
    for at in (log_in(app(), "dr.rivera", PASSWORDS["dr.rivera"]), app("patients", user=user).run()):
        assert not at.exception  # no traceback on screen
        assert _errors(at).startswith("The database cannot be reached right now.")
        assert "sqlalchemy" not in texts(at).lower() and "Traceback" not in texts(at)
    logged = [r for r in caplog.records if r.name == "dashboard.app"]
    assert logged and all(r.exc_info for r in logged)


def test_a_damaged_sqlite_file_gives_a_clear_message_not_a_traceback(clinic_url):
    """Issue 24 item 4: a file that is no longer a database (overwritten, truncated) says so."""
    from dashboard.app import DAMAGED
    from dashboard.db.session import get_engine

    user = account(clinic_url, "dr.rivera")
    get_engine(clinic_url).dispose()
    Path(clinic_url.removeprefix("sqlite:///")).write_bytes(bytes(range(256)) * 64)
    for at in (log_in(app(), "dr.rivera", PASSWORDS["dr.rivera"]), app("patients", user=user).run()):
        assert not at.exception
        assert _errors(at) == DAMAGED
        assert "sqlalchemy" not in texts(at).lower() and "Traceback" not in texts(at)


def test_the_app_refuses_every_page_with_the_key_beside_the_database(clinic_url, tmp_path, monkeypatch):
    """Issue 24 item 6: a server started without ``run`` (which refuses to start so) shows no page."""
    from dashboard.app import KEY_MISPLACED
    from dashboard.db import audit_key

    monkeypatch.delenv(audit_key.ENV)
    monkeypatch.delenv(audit_key.BESIDE_ENV, raising=False)
    monkeypatch.setenv("DASHBOARD_AUDIT_KEY_FILE", str(tmp_path / "audit.key"))
    for at in (app().run(), app("patients", user=account(clinic_url, "dr.rivera")).run()):
        assert not at.exception
        assert [e.value for e in at.error] == [KEY_MISPLACED]
        assert not at.text_input and not at.dataframe


# --- a link survives the login ----------------------------------------------------------------

@pytest.mark.parametrize(
    ("username", "ref", "shown"),
    [("dr.rivera", "DEMO-001", "Maria Alvarez"), ("dr.chen", "DEMO-001", None)],
)
def test_a_link_to_a_review_opens_it_once_logged_in_if_shared(clinic_url, username, ref, shown):
    at = log_in(app("review", patient=ref), username, PASSWORDS[username])
    assert not at.exception and _logged_in(at)
    if shown:
        assert [t.value for t in at.text][0] == f"{shown} · born 1979 · {ref}"  # the title, birth year beside the name
        assert shown in texts(at)
    else:
        assert [t.value for t in at.title] == ["Patient review"]
        assert "not available" in _errors(at) and "Maria Alvarez" not in texts(at)


@pytest.mark.parametrize("change", ["disable", "role"])
def test_an_open_session_ends_when_the_account_is_disabled_or_its_role_changes(clinic_url, change):
    at = app("patients", user=account(clinic_url, "dr.rivera")).run()
    assert _logged_in(at)
    with session_scope(clinic_url) as session:
        if change == "disable":
            accounts.disable_user(session, "dr.rivera")
        else:
            session.execute(update(Clinician).where(Clinician.username == "dr.rivera").values(role="staff"))
    before = last_audit_id(clinic_url)
    at.run()
    assert not _logged_in(at) and "Maria Alvarez" not in texts(at)
    assert "account was disabled or changed" in " ".join(i.value for i in at.info)
    assert [r[:3] for r in audit_rows(clinic_url, before)] == [("dr.rivera", "logout", "ok")]


# --- speed: one run after the click, the page's code fetched while the user types (issue 25) -----

def test_the_log_in_click_runs_the_requested_page_once(clinic_url, monkeypatch, tmp_path):
    """The password is checked in the form's callback: the click's run is already the review (no run
    cut short by ``st.rerun`` to switch pages), timed by ``DASHBOARD_TRACE_RUNS`` (dashboard/trace.py)."""
    import json

    trace_file = tmp_path / "trace.jsonl"
    at = app("review", patient="DEMO-001").run()
    monkeypatch.setenv("DASHBOARD_TRACE_RUNS", str(trace_file))
    at.text_input(key="login_username").input("dr.rivera")
    at.text_input(key="login_password").input(PASSWORDS["dr.rivera"])
    at.button[0].click().run()
    assert _logged_in(at) and "Maria Alvarez" in texts(at)
    events = [json.loads(line) for line in trace_file.read_text().splitlines()]
    runs = [(e["page"], e["ended"]) for e in events if e["what"] == "run"]
    assert runs == [("review", "done")]
    assert [e["what"] for e in events if e["what"] == "password check"] == ["password check"]


def test_a_refused_login_says_why_under_the_form_and_keeps_the_user_name(clinic_url):
    from dashboard.auth.accounts import LOGIN_REFUSED

    at = log_in(app(), "dr.rivera", "not-her-password")
    assert not _logged_in(at) and _errors(at) == LOGIN_REFUSED
    assert at.text_input(key="login_username").value == "dr.rivera"
    assert not at.exception


def test_the_login_page_starts_fetching_the_charts_code(clinic_url):
    """Streamlit's own browser code for the next page's elements (Plotly's first), never data."""
    at = app().run()
    (script,) = [h.proto.body for h in at.get("html")]
    assert "modulepreload" in script
    assert "\"/static/js/PlotlyChart." in script and "\"/static/js/DataFrame." in script
    assert "DEMO-" not in script and "dr." not in script
