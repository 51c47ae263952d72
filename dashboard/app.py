"""Entry point: page config, login gate, navigation, and one boundary for database errors."""

import logging

import streamlit as st
from sqlalchemy.exc import InterfaceError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from dashboard import navigation, session_state
from dashboard.db.session import damaged_database

log = logging.getLogger("dashboard.app")
UNREACHABLE = ("The database cannot be reached right now. Nothing on this page was changed. "
               "Try again in a minute; if it goes on, tell the clinic's administrator.")
DAMAGED = ("The database file cannot be read: it is damaged or is not a database. Nothing on this page was "
           "changed. Tell the clinic's administrator (it is restored from a backup).")
FAILED = ("A database error stopped this page. Nothing on this page was changed. "
          "The details were logged for the clinic's administrator.")


def main() -> None:
    user = session_state.current_user()
    if user is None:
        page = st.navigation(navigation.login_pages(), position="hidden")
    else:
        pages = [navigation.worklist_page(), navigation.patients_page(), navigation.review_page(), navigation.import_page(),
                 navigation.settings_page(), navigation.cohort_page()]
        if user.role == "admin":
            pages += [navigation.audit_page(), navigation.admin_page()]
        page = st.navigation(pages)
        session_state.sidebar_account(user)
    page.run()


def unreachable(exc: SQLAlchemyError) -> bool:
    """A lost or refused connection (the server is down, the file cannot be opened), not a bad query."""
    return isinstance(exc, (OperationalError, InterfaceError, PoolTimeout))


st.set_page_config(page_title="Ketamine titration review", page_icon=":material/monitor_heart:", layout="wide")
try:
    main()
except SQLAlchemyError as exc:
    # The screen gets a plain sentence; the log gets the statement and the traceback.
    log.exception("database error while rendering the page")
    st.error(UNREACHABLE if unreachable(exc) else DAMAGED if damaged_database(exc) else FAILED)
