"""The only page anyone sees before logging in: no patient data, names or counts."""

import streamlit as st

from dashboard import session_state
from dashboard.auth.accounts import authenticate
from dashboard.config import demo_mode
from dashboard.db.session import session_scope


def show() -> None:
    st.title("Ketamine titration review")
    message = st.session_state.pop("logout_message", None)
    if message:
        st.info(message)
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if submitted:
        with session_scope() as session:
            user, why = authenticate(session, username.strip(), password)
        if user is None:
            st.error(why)
        else:
            session_state.login(user)
            st.rerun()
    if demo_mode():
        from dashboard.demo import DEMO_ACCOUNTS

        st.caption("Demo mode: these accounts exist only in the demo database.")
        st.dataframe(
            [{"user name": u, "role": role, "password": pw} for u, _name, role, pw in DEMO_ACCOUNTS],
            hide_index=True,
        )
