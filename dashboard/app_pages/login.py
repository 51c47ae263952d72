"""The only page anyone sees before logging in: no patient data, names or counts."""

import streamlit as st

from dashboard import session_state, trace
from dashboard.demo import DEMO_ACCOUNTS, DEMO_LEADS
from dashboard.usecases import accounts, run
from dashboard.auth import oidc
from dashboard.config import demo_mode


def show() -> None:
    st.title("Ketamine titration review")
    message = st.session_state.pop(session_state.LOGOUT_MESSAGE_KEY, None)
    if message:
        st.info(message)
    refused = st.session_state.get(session_state.OIDC_REFUSED_KEY)
    if refused:
        _refused_identity(refused)
    _identity_providers()
    _password_form()
    if demo_mode():
        _demo_accounts()


def _identity_providers() -> None:
    for provider in oidc.configured_providers():
        if st.button(f"Log in with {provider.label}", key=f"oidc_{provider.name}", type="primary"):
            st.login(provider.name)


def _refused_identity(why: str) -> None:
    st.error(why)
    if st.button("Log out of the identity provider", key="oidc_logout"):
        st.session_state.pop(session_state.OIDC_REFUSED_KEY, None)
        st.logout()


def _password_form() -> None:
    with st.form("login", clear_on_submit=False):
        username = st.text_input("User name", key="login_username")
        password = st.text_input("Password", type="password", key="login_password")
        submitted = st.form_submit_button("Log in")
    if not submitted:
        return
    # Its own unit of work (usecases.run): the attempt's audit row and any lockout land even when it
    # fails; the one who acts is the user name typed.
    with trace.timed("password check"):
        user, why = run(accounts.log_in, username, password)
    if user is None:
        st.error(why)
        return
    session_state.login(user)
    with trace.timed("keep login"):
        session_state.keep_login(user)  # the next run hands its code to the cookie route: a reload keeps the login
    st.rerun()


def _demo_accounts() -> None:
    st.caption("Demo mode: these accounts exist only in the demo database.")
    st.dataframe(
        [{"user name": u, "role": f"{role}, the clinic's lead" if u in DEMO_LEADS else role, "password": pw}
         for u, _name, role, pw in DEMO_ACCOUNTS],
        hide_index=True,
    )


if __name__ == "__main__":
    show()
