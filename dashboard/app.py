"""Entry point: page config, login gate, navigation, and one boundary for database errors."""

import logging
import os

import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard import navigation, session_state, trace
from dashboard.app_pages import login
from dashboard.config import database_url
from dashboard.db import audit_key
from dashboard.db.session import damaged_database

log = logging.getLogger("dashboard.app")
UNREACHABLE = ("The database cannot be reached right now. Nothing on this page was changed. "
               "Try again in a minute; if it goes on, tell the clinic's administrator.")
DAMAGED = ("The database file cannot be read: it is damaged or is not a database. Nothing on this page was "
           "changed. Tell the clinic's administrator (it is restored from a backup).")
KEY_MISPLACED = ("The dashboard is not set up to run here: its audit key is kept beside the database. "
                 "Nothing was shown or changed. The details were logged for the clinic's administrator.")
KEY_FAILED = ("The audit trail's key cannot be used, so nothing on this page was changed. "
              "The details were logged for the clinic's administrator.")
FAILED = ("A database error stopped this page. Nothing on this page was changed. "
          "The details were logged for the clinic's administrator.")


def main(run: dict) -> None:
    misplaced = audit_key.placement_problem(database_url())
    if misplaced:  # the server started without ``run`` (which refuses to start so)
        log.error("refusing every page: %s", misplaced)
        st.error(KEY_MISPLACED)
        return
    user = session_state.current_user()
    if user is None:
        page = st.navigation(navigation.login_pages(login.show), position="hidden")
    else:
        pages = [navigation.worklist_page(), navigation.patients_page(), navigation.review_page(), navigation.import_page(),
                 navigation.inbox_page(), navigation.settings_page(), navigation.cohort_page(),
                 navigation.launch_page()]
        if user.role == "admin":
            pages += [navigation.audit_page(), navigation.admin_page()]
        page = st.navigation(pages)
        session_state.sidebar_account(user)
    run["page"] = page.url_path or "(default)"
    page.run()
    session_state.cookie_script()  # last, below the page: the kept login's cookie, when one is due


def unreachable(exc: SQLAlchemyError) -> bool:
    """A lost or refused connection (the server is down, the file cannot be opened), not a bad query."""
    return isinstance(exc, (OperationalError, InterfaceError, PoolTimeout))


st.set_page_config(page_title="Ketamine titration review", page_icon=":material/monitor_heart:", layout="wide")
# The server process creates files owner-only too (a SQLite database on first start), however it
# was launched (``python -m dashboard run`` sets the same umask before starting it).
os.umask(0o077)
try:
    with trace.timed("run") as this_run:
        main(this_run)
except audit_key.AuditKeyError:
    log.exception("the audit key cannot be used")
    st.error(KEY_FAILED)
except SQLAlchemyError as exc:
    # The screen gets a plain sentence; the log gets the statement and the traceback.
    log.exception("database error while rendering the page")
    st.error(UNREACHABLE if unreachable(exc) else DAMAGED if damaged_database(exc) else FAILED)
