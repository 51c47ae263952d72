"""The only page anyone sees before logging in: no patient data, names or counts."""

import json
from functools import cache
from pathlib import Path

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
    _preload_page_code()


# Streamlit fetches an element's browser code the first time a page shows one; Plotly's is 4.7 MB
# (Streamlit 1.67), and fetching and compiling it after the Log in click took longer than the
# server's whole run (bench/login_trace.py), the others came in waves as their elements arrived.
# The login page has the browser fetch and compile that code while the user types (a module
# preload, compiled off the page's thread), then run it once the page is idle: an import() at once
# ran Plotly's 4.7 MB on the page's thread and held up a quick click by seconds on a loaded
# machine (bench/login_trace.py). So the first page after the login draws at once. Streamlit's
# own code, no data; a name this Streamlit's build lacks is skipped.
PRELOADED = ("PlotlyChart", "DataFrame", "StreamlitSyntaxHighlighter", "Metric", "DateInput", "DownloadButton",
             "Radio", "NumberInput", "Selectbox", "Checkbox", "TextArea")


@cache
def _page_code() -> tuple[str, ...]:
    """The file names of the preloaded elements' code in this Streamlit's build (hashed names)."""
    folder = Path(st.__file__).parent / "static" / "static" / "js"
    return tuple(sorted(p.name for name in PRELOADED for p in folder.glob(f"{name}.*.js")))


def _preload_page_code() -> None:
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    urls = [f"/{base}/static/js/{name}" if base else f"/static/js/{name}" for name in _page_code()]
    if urls:
        # DOMPurify (st.html) keeps no <link>: the script adds them to the document's head.
        script = (f"(() => {{ const urls = {json.dumps(urls)}; for (const href of urls) {{ const link = "
                  "document.createElement('link'); link.rel = 'modulepreload'; link.href = href; "
                  "document.head.appendChild(link); } (window.requestIdleCallback || setTimeout)(() => "
                  "urls.forEach((url) => import(url).catch(() => {}))); })();")
        st.html(f"<script>{script}</script>", unsafe_allow_javascript=True, width="content")


def _identity_providers() -> None:
    for provider in oidc.configured_providers():
        if st.button(f"Log in with {provider.label}", key=f"oidc_{provider.name}", type="primary"):
            st.login(provider.name)


def _refused_identity(why: str) -> None:
    st.error(why)
    if st.button("Log out of the identity provider", key="oidc_logout"):
        st.session_state.pop(session_state.OIDC_REFUSED_KEY, None)
        st.logout()


REFUSED_KEY = "login_refused"  # why the last attempt was refused, shown under the form once
FAILED_KEY = "login_failed"  # an error of the attempt, raised again in the run for app.py's messages


def _password_form() -> None:
    with st.form("login", clear_on_submit=False):
        st.text_input("User name", key="login_username")
        st.text_input("Password", type="password", key="login_password")
        st.form_submit_button("Log in", on_click=_log_in)
    failed = st.session_state.pop(FAILED_KEY, None)
    if failed is not None:
        raise failed
    why = st.session_state.pop(REFUSED_KEY, None)
    if why:
        st.error(why)


def _log_in() -> None:
    """The form's callback: it runs before the script, so the run the click starts already has the
    user and draws the page the address names (no login page drawn again, no second run)."""
    username = st.session_state.get("login_username", "")
    password = st.session_state.get("login_password", "")  # Streamlit drops it once the form is not drawn
    try:
        # Its own unit of work (usecases.run): the attempt's audit row and any lockout land even when
        # it fails; the one who acts is the user name typed.
        with trace.timed("password check"):
            user, why = run(accounts.log_in, username, password)
        if user is None:
            st.session_state[REFUSED_KEY] = why
            return
        session_state.login(user)
        with trace.timed("keep login"):
            session_state.keep_login(user)  # this run hands its code to the cookie route: a reload keeps the login
    except Exception as exc:  # noqa: BLE001 - raised again in the script, where app.py words it
        st.session_state[FAILED_KEY] = exc


def _demo_accounts() -> None:
    st.caption("Demo mode: these accounts exist only in the demo database.")
    st.dataframe(
        [{"user name": u, "role": f"{role}, the clinic's lead" if u in DEMO_LEADS else role, "password": pw}
         for u, _name, role, pw in DEMO_ACCOUNTS],
        hide_index=True,
    )


if __name__ == "__main__":
    show()
