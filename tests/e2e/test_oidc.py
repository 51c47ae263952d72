"""Logging in through the clinic's identity provider, end to end: Streamlit's st.login against a
local mock OpenID provider (oidc-provider-mock) on 127.0.0.1, in Chromium. The account is
found by the ID token's issuer and subject; an unknown subject is refused and audited."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator

import httpx
import pytest
import werkzeug.serving
from sqlalchemy import select

from dashboard.db.models import Clinician
from dashboard.db.session import get_engine, session_scope
from tests.app.conftest import audit_rows, copy_demo, last_audit_id
from tests.e2e.conftest import ARTIFACTS, start_server

pytestmark = pytest.mark.e2e

SUBJECT = "00u-wei-chen"  # dr.chen's subject at the provider
EMAIL = "wei.chen@clinic.example"


@pytest.fixture(scope="module")
def issuer() -> Iterator[str]:
    """The mock provider, on a free loopback port; its issuer is its own URL."""
    import oidc_provider_mock

    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = werkzeug.serving.make_server("127.0.0.1", 0, oidc_provider_mock.app(), threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_port}"
    assert httpx.get(f"{url}/.well-known/openid-configuration").json()["issuer"] == url
    for subject in (SUBJECT, "someone-unknown"):  # the same e-mail for both: it must not matter
        assert httpx.put(f"{url}/users/{subject}", json={"email": EMAIL, "name": "Wei Chen"}).status_code == 204
    yield url
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def clinic(demo_url, issuer, tmp_path_factory) -> Iterator[tuple[str, str]]:
    """(server URL, database URL): the demo clinic with dr.chen linked to the provider, and a
    secrets file with an [auth] section that Streamlit reads through STREAMLIT_SECRETS_FILES."""
    folder = tmp_path_factory.mktemp("oidc")
    url = copy_demo(demo_url, folder / "clinic.sqlite")
    with session_scope(url) as session:
        chen = session.scalar(select(Clinician).where(Clinician.username == "dr.chen"))
        chen.oidc_issuer, chen.oidc_subject = issuer, SUBJECT
    get_engine(url).dispose()
    secrets = folder / "secrets.toml"
    secrets.write_text(
        "[auth]\n"
        'redirect_uri = "http://127.0.0.1:{port}/oauth2callback"\n'  # Streamlit fills in its port
        f'cookie_secret = "{"e2e-cookie-secret-" * 3}"\n'
        'client_id = "ketamine-dashboard"\n'
        'client_secret = "e2e-client-secret"\n'
        f'server_metadata_url = "{issuer}/.well-known/openid-configuration"\n'
        'label = "Clinic SSO"\n',
        encoding="utf-8",
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("STREAMLIT_SECRETS_FILES", str(secrets))
        proc, base = start_server(url, demo=False)
    yield base, url
    proc.terminate()
    proc.wait(timeout=20)


def _wait_for_row(url: str, before: int, row: tuple, timeout_s: float = 30) -> None:
    deadline = time.monotonic() + timeout_s
    while row not in [r[:3] for r in audit_rows(url, before)]:
        assert time.monotonic() < deadline, f"no audit row {row} within {timeout_s} s"
        time.sleep(0.2)


def _log_in_at_the_provider(page, base: str, subject: str) -> None:
    page.goto(base)
    page.get_by_role("button", name="Log in with Clinic SSO").click()
    page.get_by_placeholder("sub").fill(subject)
    page.get_by_role("button", name="Authorize").click()


def test_a_linked_identity_logs_in_and_out(clinic, page):
    base, url = clinic
    before = last_audit_id(url)
    _log_in_at_the_provider(page, base, SUBJECT)
    page.get_by_text("Logged in as").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "oidc-logged-in.png"))
    assert "Dr. Wei Chen (clinician)" in page.inner_text("body")
    login = [r for r in audit_rows(url, before) if r[1] == "login"]
    assert [r[:3] for r in login] == [("dr.chen", "login", "ok")] and SUBJECT in login[0][4]
    # The worklist's run finishes (its view is audited) before logging out: on a loaded machine its
    # row would otherwise land in the next test's window of the trail.
    _wait_for_row(url, before, ("dr.chen", "view_worklist", "ok"))
    # Logging out ends Streamlit's identity cookie too: the next visit shows the login page.
    page.get_by_role("button", name="Log out").click()
    # Streamlit sends the browser to the provider's end_session_endpoint (OIDC RP-initiated logout).
    page.wait_for_url(lambda u: "end_session" in u, timeout=30_000)
    page.goto(base)
    page.get_by_role("button", name="Log in with Clinic SSO").wait_for(timeout=30_000)
    assert "Logged in as" not in page.inner_text("body")
    assert ("dr.chen", "logout", "ok") in [r[:3] for r in audit_rows(url, before)]


def test_an_unknown_subject_is_refused_even_with_a_known_email(clinic, page):
    base, url = clinic
    before = last_audit_id(url)
    _log_in_at_the_provider(page, base, "someone-unknown")
    page.get_by_text("not linked to an account here").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "oidc-refused.png"))
    body = page.inner_text("body")
    assert "Logged in as" not in body and "DEMO-" not in body
    rows = audit_rows(url, before)
    assert [r[:3] for r in rows] == [("oidc:someone-unknown", "login", "failed")]
    assert EMAIL in rows[0][4]  # recorded for the administrator, never used to match
