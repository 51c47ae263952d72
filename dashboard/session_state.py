"""Who is logged in, and automatic logoff after idle minutes (HIPAA 164.312(a)(2)(iii)).

A user logs in with a local password (the login page) or through the clinic's identity
provider (``st.login``; ``st.user`` then carries the ID token's claims and
:func:`dashboard.auth.oidc.resolve` finds the account by issuer and subject).

A password login survives a reload: the page hands a one-minute code to the server's cookie
route (``dashboard.server``), and a new Streamlit session resumes from that cookie
(``dashboard.auth.login_sessions``), audited like a login. The kept login is checked on every
run and ends with the logout, the idle limit, 12 hours, or a change of the account.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import replace
from datetime import timedelta

import streamlit as st
from sqlalchemy.exc import SQLAlchemyError

from dashboard import trace
from dashboard.audit_actions import AuditAction
from dashboard.auth import oidc
from dashboard.actors import User
from dashboard.auth.accounts import resolve_user
from dashboard.auth.login_sessions import COOKIE
from dashboard.db.audit_key import AuditKeyError
from dashboard.db.session import session_scope
from dashboard.loaders import invalidate, thresholds
from dashboard.usecases import NotAllowed, accounts, run
from dashboard.usecases.guard import refuse

USER_KEY = "user"
ACTIVITY_KEY = "last_activity"
METHOD_KEY = "login_method"
OIDC_REFUSED_KEY = "oidc_refused"
LOGOUT_MESSAGE_KEY = "logout_message"
KEPT_KEY = "kept_login"  # the login_session row of this session's kept login
HANDOFF_KEY = "kept_login_handoff"  # the code the page posts to the cookie route once
RESUME_TRIED_KEY = "kept_login_tried"  # a reload's cookie is tried once per Streamlit session
FORGET_COOKIE_KEY = "kept_login_forget"  # the login page asks the route to drop the cookie
SESSION_ROUTE = "/api/session"  # dashboard.server.ROUTE
IDLE_MESSAGE = "You were logged out after a period of inactivity."
DISABLED_MESSAGE = "You were logged out: your account was disabled or changed by an administrator."
PASSWORD_CHANGED_MESSAGE = "You were logged out: your password was changed. Log in with the new password."
SESSION_ENDED_MESSAGE = "You were logged out: this login ended (logged out elsewhere, or after 12 hours)."
# How often an open page checks the idle limit, so an unattended screen clears by itself.
IDLE_CHECK_SECONDS = 30


def idle_limit_seconds() -> float:
    return thresholds().idle_logoff_minutes * 60


def current_user() -> User | None:
    """The logged-in user, or None; logs out after the idle limit. Any interaction counts as activity."""
    user = st.session_state.get(USER_KEY) or _identity_provider_user() or _kept_login_user()
    if user is None:
        return None
    now = time.time()
    last = st.session_state.get(ACTIVITY_KEY, now)
    if now - last > idle_limit_seconds():
        logout(reason="idle")
        st.session_state[LOGOUT_MESSAGE_KEY] = IDLE_MESSAGE
        return None
    ended = _why_ended(user)
    if ended is not None:
        reason, message = ended
        logout(reason=reason)
        st.session_state[LOGOUT_MESSAGE_KEY] = message
        return None
    st.session_state[ACTIVITY_KEY] = now
    return user


def _why_ended(user: User) -> tuple[str, str] | None:
    """A disabled account, a changed role or a password reset ends the sessions it has open at
    their next run, and a kept login ended elsewhere (a logout in another tab, 12 hours) this one:
    (the audited reason, the message on the login page), or None while valid."""
    with session_scope() as session:
        account = resolve_user(session, user.username)
    if account == user:
        kept = st.session_state.get(KEPT_KEY)
        why = kept is not None and run(accounts.kept_login_ended, user, kept, _idle())
        return (why, SESSION_ENDED_MESSAGE) if why else None
    if account is not None and replace(account, credential_version=user.credential_version) == user:
        return "password changed", PASSWORD_CHANGED_MESSAGE
    return "account disabled or changed", DISABLED_MESSAGE


def _identity_provider_user() -> User | None:
    """After ``st.login``: the account linked to the identity, once per session (audited)."""
    if st.session_state.get(OIDC_REFUSED_KEY) or not st.user.get("is_logged_in"):
        return None
    if not oidc.configured_providers():
        return None
    with session_scope() as session:
        user, why = oidc.resolve(session, st.user.to_dict())
    if user is None:
        st.session_state[OIDC_REFUSED_KEY] = why
        return None
    login(user, method="oidc")
    return user


def _kept_login_user() -> User | None:
    """After a reload: the account of the browser's kept-login cookie, once per session (audited)."""
    if st.session_state.get(RESUME_TRIED_KEY):
        return None
    st.session_state[RESUME_TRIED_KEY] = True
    cookie = st.context.cookies.get(COOKIE)
    if not isinstance(cookie, str) or not cookie:  # AppTest's context has no real cookies
        return None
    try:
        user, kept, why = run(accounts.resume_login, cookie, _idle())
    except AuditKeyError as exc:  # no usable session key here: a reload logs in again, as before
        logging.getLogger(__name__).warning("kept login not resumed: %s", exc)
        return None
    if user is None:
        st.session_state[FORGET_COOKIE_KEY] = True
        if why == "idle":
            st.session_state[LOGOUT_MESSAGE_KEY] = IDLE_MESSAGE
        return None
    login(user, method="resumed")
    st.session_state[KEPT_KEY] = kept
    return user


def _idle() -> timedelta:
    return timedelta(seconds=idle_limit_seconds())


def login(user: User, *, method: str = "password") -> None:
    st.session_state[USER_KEY] = user
    st.session_state[METHOD_KEY] = method
    st.session_state[ACTIVITY_KEY] = time.time()


def keep_login(user: User) -> None:
    """After a password login: a kept login, whose code the next run hands to the cookie route."""
    try:
        kept = run(accounts.keep_login, user)
    except AuditKeyError as exc:
        logging.getLogger(__name__).warning("login not kept for a reload: %s", exc)
        return
    if kept is not None:
        st.session_state[KEPT_KEY], st.session_state[HANDOFF_KEY] = kept


def cookie_script() -> None:
    """The page's one call to the cookie route, when one is due: hand over the code after a login,
    or drop the cookie after a logout or a refused resumption. Runs in the page (st.html's
    script), so the cookie it receives is HTTP-only: no script can read it."""
    handoff = st.session_state.pop(HANDOFF_KEY, None)
    forget = st.session_state.pop(FORGET_COOKIE_KEY, False)
    if handoff is None and not forget:
        return
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    route = json.dumps(f"/{base}{SESSION_ROUTE}" if base else SESSION_ROUTE)
    call = (f'{{method: "POST", credentials: "same-origin", body: {json.dumps(handoff)}}}' if handoff
            else '{method: "DELETE", credentials: "same-origin"}')
    st.html(f"<script>fetch({route}, {call});</script>", unsafe_allow_javascript=True, width="content")


def logout(reason: str = "user") -> bool:
    """Forget the session (audited). After an identity-provider login, also end Streamlit's
    identity cookie, or the next run would log the same person in again from it; returns
    True then, as the browser is being sent to the provider's logout."""
    user = st.session_state.get(USER_KEY)
    method = st.session_state.get(METHOD_KEY)
    kept = st.session_state.get(KEPT_KEY)
    if user is not None:
        run(accounts.log_out, user, reason, kept)
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    # The browser still holds the cookie of the login just ended: the next run drops it (and
    # does not try to resume from it).
    st.session_state[RESUME_TRIED_KEY] = True
    st.session_state[FORGET_COOKIE_KEY] = kept is not None or method == "resumed"
    invalidate(settings=True)
    if method == "oidc" or st.user.get("is_logged_in"):
        st.logout()
        return True
    return False


def sidebar_account(user: User) -> None:
    with st.sidebar:
        st.caption("Logged in as")
        st.text(f"{user.display_name} ({user.role})")
        if st.button("Log out", key="logout"):
            if logout():
                st.stop()  # a rerun now could overtake the redirect to the provider's logout
            st.rerun()
        _idle_watch()


@st.fragment(run_every=IDLE_CHECK_SECONDS)
def _idle_watch() -> None:
    """Reruns the whole page once the idle limit has passed, so the logoff happens without a click."""
    with trace.timed("idle fragment"):
        _rerun_when_idle()


def _rerun_when_idle() -> None:
    last = st.session_state.get(ACTIVITY_KEY)
    try:
        idle = last is not None and time.time() - last > idle_limit_seconds()
    except SQLAlchemyError:  # the next full run shows the database message
        return
    if idle:
        st.rerun(scope="app")


def refuse_unless(user: User, allowed: bool, action: AuditAction, refusal: str) -> bool:
    """``allowed`` is a ``dashboard.access`` decision: when False the refusal is shown on screen
    and a "denied" row written to the audit trail."""
    if allowed:
        return True
    try:
        run(refuse, user, action)  # the "denied" row, committed, then NotAllowed
    except NotAllowed:
        st.error(refusal)
    return False


# --- the EHR launch's trip to the EHR and back ----------------------------------------------

_PENDING: dict[str, tuple[float, object]] = {}
_PENDING_LOCK = threading.Lock()
PENDING_SECONDS = 600


def keep_pending_launch(state: str, pending: object) -> None:
    """A launch gone to the EHR (``usecases.ehr_launch.PendingLaunch``: the PKCE verifier among
    it), found again by its ``state`` when the browser comes back in a new Streamlit session.
    In this server process's memory only: never the page, the address or the database."""
    now = time.time()
    with _PENDING_LOCK:
        for old in [k for k, (at, _) in _PENDING.items() if now - at > PENDING_SECONDS]:
            del _PENDING[old]
        _PENDING[state] = (now, pending)


def take_pending_launch(state: str) -> object | None:
    """The launch of ``state``, once (a second return with the same state finds nothing)."""
    with _PENDING_LOCK:
        found = _PENDING.pop(state, None)
    return None if found is None or time.time() - found[0] > PENDING_SECONDS else found[1]


def go_to(url: str) -> None:
    """Send the browser to ``url`` (the EHR's authorize address), after handing a fresh login's
    code to the cookie route, so the login outlives the trip to the EHR and back."""
    handoff = st.session_state.pop(HANDOFF_KEY, None)
    target = json.dumps(url).replace("<", "\\u003c")  # no "</script>" can end the script early
    if handoff:
        base = (st.get_option("server.baseUrlPath") or "").strip("/")
        route = json.dumps(f"/{base}{SESSION_ROUTE}" if base else SESSION_ROUTE)
        script = (f'fetch({route}, {{method: "POST", credentials: "same-origin", body: {json.dumps(handoff)}}})'
                  f".finally(() => window.location.assign({target}));")
    else:
        script = f"window.location.assign({target});"
    st.html(f"<script>{script}</script>", unsafe_allow_javascript=True, width="content")
