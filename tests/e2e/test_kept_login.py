"""A local login survives a reload (issue 25, item 2), in Chromium against a real server: the page,
the patient and the as-of date come back; the cookie is HTTP-only; a logout, a password reset or
a disabled account ends it; a forged or expired cookie is refused, and all of it is audited."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select, update

from dashboard.auth import accounts
from dashboard.auth.login_sessions import COOKIE
from dashboard.db.models import AuditEvent, LoginSession
from dashboard.db.session import session_scope
from tests.app.conftest import PASSWORDS
from tests.e2e.conftest import login

pytestmark = pytest.mark.e2e

AS_OF = date.today() - timedelta(days=60)
NEW = "a brand new passphrase 42"


def _open_review(page, base: str) -> None:
    login(page, base, "dr.rivera", PASSWORDS["dr.rivera"])
    _wait_for_cookie(page)
    page.goto(f"{base}/review?patient=DEMO-001&as_of={AS_OF.isoformat()}")  # a new Streamlit session
    _on_review(page)


def _on_review(page) -> None:
    page.get_by_text("Logged in as").wait_for(timeout=30_000)
    page.get_by_text(f"Review as of {AS_OF:%d %b %Y}").wait_for(timeout=30_000)
    assert "patient=DEMO-001" in page.url and f"as_of={AS_OF.isoformat()}" in page.url


def _wait_for_cookie(page) -> dict:
    for _ in range(300):  # the page posts its code once it has drawn; a loaded machine takes seconds
        kept = [c for c in page.context.cookies() if c["name"] == COOKIE]
        if kept:
            return kept[0]
        page.wait_for_timeout(100)
    raise AssertionError("no session cookie was set")


def _reload_shows_login(page) -> None:
    page.reload()
    page.get_by_label("User name").wait_for(timeout=30_000)
    assert page.get_by_text("Logged in as").count() == 0


def _resumes(url: str) -> list[tuple[str, dict]]:
    with session_scope(url) as session:
        rows = session.execute(select(AuditEvent.outcome, AuditEvent.detail).where(AuditEvent.action == "login")).all()
    details = [(o, json.loads(d) if isinstance(d, str) and d else d or {}) for o, d in rows]
    return [(o, d) for o, d in details if d and d.get("method") == "resumed session"]


def test_a_reload_keeps_the_login_the_patient_and_the_date_and_a_logout_ends_it(own_server, page):
    base, url = own_server
    _open_review(page, base)
    cookie = _wait_for_cookie(page)
    assert cookie["httpOnly"] and cookie["sameSite"] == "Strict"
    assert page.evaluate("document.cookie").find(COOKIE) == -1  # no script on the page can read it
    page.reload()
    _on_review(page)
    resumes = _resumes(url)  # the address opened after the login, then the reload: each a new session
    assert [outcome for outcome, _ in resumes] == ["ok", "ok"]
    resumed = resumes[-1]
    with session_scope(url) as session:
        (row,) = session.scalars(select(LoginSession)).all()
    assert resumed[1]["session"] == row.token_hash[:12] and cookie["value"].split(".")[0] not in str(resumed[1])
    page.get_by_role("button", name="Log out").click()
    page.get_by_label("User name").wait_for(timeout=30_000)
    _reload_shows_login(page)
    with session_scope(url) as session:
        assert session.scalars(select(LoginSession)).one().ended_reason == "user"


@pytest.mark.parametrize("change", ["reset", "disable"])
def test_a_password_reset_or_a_disabled_account_ends_the_kept_login(own_server, page, browser, change):
    base, url = own_server
    _open_review(page, base)
    cookie = _wait_for_cookie(page)
    with session_scope(url) as session:
        if change == "reset":
            accounts.reset_password(session, "dr.rivera", NEW)
        else:
            accounts.disable_user(session, "dr.rivera")
    # A fresh browser holding only the cookie (as a reload would, but without the open session).
    other = browser.new_context(viewport={"width": 1366, "height": 768})
    try:
        other.add_cookies([cookie])
        fresh = other.new_page()
        fresh.goto(f"{base}/review?patient=DEMO-001")
        fresh.get_by_label("User name").wait_for(timeout=30_000)
        assert fresh.get_by_text("Logged in as").count() == 0
    finally:
        other.close()
    outcome, detail = _resumes(url)[-1]
    assert outcome == "failed" and detail["reason"] in ("password changed", "account disabled or changed")


@pytest.mark.parametrize("bad", ["forged", "expired"])
def test_a_forged_or_expired_cookie_is_refused(own_server, page, bad):
    base, url = own_server
    _open_review(page, base)
    cookie = _wait_for_cookie(page)
    if bad == "forged":
        session_id, _, signature = cookie["value"].rpartition(".")
        cookie = {**cookie, "value": f"{session_id[:-1]}{'A' if session_id[-1] != 'A' else 'B'}.{signature}"}
    else:
        with session_scope(url) as session:
            session.execute(update(LoginSession).values(expires_at=datetime.utcnow() - timedelta(minutes=1)))
    page.context.clear_cookies()
    page.context.add_cookies([cookie])
    _reload_shows_login(page)
    outcome, detail = _resumes(url)[-1]
    assert outcome == "failed"
    assert detail["reason"] == ("the session cookie's signature is not valid" if bad == "forged" else "session expired")
