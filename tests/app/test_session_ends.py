"""An open session ends at its next run when the account's credentials change (issue 24, item 2),
on both backends: a password reset by the command line or the admin page, like a disabled account."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from dashboard.auth import accounts
from dashboard.db.session import session_scope
from dashboard.session_state import DISABLED_MESSAGE, PASSWORD_CHANGED_MESSAGE
from tests.app.conftest import OLD, account, app, audit_rows, last_audit_id, log_in, texts

REPO = Path(__file__).resolve().parents[2]
NEW = "a brand new passphrase 42"


def _cli_reset(url: str, username: str) -> None:
    env = {**os.environ, "DASHBOARD_DATABASE_URL": url}
    done = subprocess.run([sys.executable, "-m", "dashboard", "user", "reset-password", username], cwd=REPO, env=env,
                          input=NEW + "\n", capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr


def _in_process_reset(url: str, username: str) -> None:  # what the admin page's form calls
    with session_scope(url) as session:
        accounts.reset_password(session, username, NEW)


def _disable(url: str, username: str) -> None:
    with session_scope(url) as session:
        accounts.disable_user(session, username)


def _logged_in(at) -> bool:
    return "Logged in as" in texts(at)


@pytest.mark.parametrize(
    ("change", "whose", "ends", "message", "reason"),
    [
        (_cli_reset, "dr.rivera", True, PASSWORD_CHANGED_MESSAGE, "password changed"),
        (_in_process_reset, "dr.rivera", True, PASSWORD_CHANGED_MESSAGE, "password changed"),
        (_disable, "dr.rivera", True, DISABLED_MESSAGE, "account disabled or changed"),
        (_cli_reset, "alex.admin", False, None, None),  # another account's reset leaves this session alone
    ],
    ids=["cli reset-password", "admin page reset", "disable", "another account's reset"],
)
def test_an_open_review_ends_at_its_next_run_after_a_credential_change(small_clinic, change, whose, ends, message,
                                                                      reason):
    at = log_in(app("review", patient="P-RIV"), "dr.rivera", OLD)
    assert _logged_in(at) and "rivera's patient" in texts(at)
    change(small_clinic, whose)
    before = last_audit_id(small_clinic)
    at.run()
    assert not at.exception
    if not ends:
        assert _logged_in(at) and "rivera's patient" in texts(at)
        return
    assert not _logged_in(at) and "rivera's patient" not in texts(at)
    assert [i.value for i in at.info] == [message]
    rows = audit_rows(small_clinic, before)
    assert [r[:3] for r in rows] == [("dr.rivera", "logout", "ok")]
    assert reason in rows[0][4]


def test_after_a_reset_the_new_password_logs_in_and_the_old_one_does_not(small_clinic):
    _cli_reset(small_clinic, "dr.rivera")
    assert not _logged_in(log_in(app(), "dr.rivera", OLD))
    at = log_in(app("review", patient="P-RIV"), "dr.rivera", NEW)
    assert _logged_in(at) and "rivera's patient" in texts(at)
    at.run()  # the new session carries the new credential version: it stays
    assert _logged_in(at)
    assert account(small_clinic, "dr.rivera").credential_version == 1
