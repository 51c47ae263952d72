"""Who is logged in, and automatic logoff after idle minutes (HIPAA 164.312(a)(2)(iii))."""

from __future__ import annotations

import time

import streamlit as st

from dashboard.auth.accounts import User
from dashboard.config import Thresholds
from dashboard.db import audit
from dashboard.db.session import session_scope

USER_KEY = "user"
ACTIVITY_KEY = "last_activity"


def idle_limit_seconds() -> float:
    from dashboard.loaders import thresholds

    return thresholds().idle_logoff_minutes * 60 if thresholds() else Thresholds().idle_logoff_minutes * 60


def current_user() -> User | None:
    """The logged-in user, or None; logs out after the idle limit. Any interaction counts as activity."""
    user = st.session_state.get(USER_KEY)
    if user is None:
        return None
    now = time.time()
    last = st.session_state.get(ACTIVITY_KEY, now)
    if now - last > idle_limit_seconds():
        logout(reason="idle")
        st.session_state["logout_message"] = "You were logged out after a period of inactivity."
        return None
    st.session_state[ACTIVITY_KEY] = now
    return user


def login(user: User) -> None:
    st.session_state[USER_KEY] = user
    st.session_state[ACTIVITY_KEY] = time.time()


def logout(reason: str = "user") -> None:
    user = st.session_state.pop(USER_KEY, None)
    if user is not None:
        with session_scope() as session:
            audit.record(session, actor=user.username, action="logout", detail={"reason": reason})
    for key in list(st.session_state.keys()):
        del st.session_state[key]
    st.cache_data.clear()


def sidebar_account(user: User) -> None:
    with st.sidebar:
        st.caption("Logged in as")
        st.text(f"{user.display_name} ({user.role})")
        if st.button("Log out", key="logout"):
            logout()
            st.rerun()
