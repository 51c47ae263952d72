"""The pages, built in one place so a page can link to another.

Pages are files under ``app_pages/`` (paths relative to app.py), each ending with
``if __name__ == "__main__": show()``: Streamlit runs a page file as ``__main__``, while
tests import the module without running it, and AppTest can switch to it by path.
"""

import streamlit as st


def worklist_page() -> st.Page:
    """The home page: the day's patients, the ones needing attention first."""
    return st.Page("app_pages/worklist.py", title="Worklist", icon=":material/checklist:", url_path="worklist",
                   default=True)


def patients_page() -> st.Page:
    return st.Page("app_pages/patients.py", title="Patients", icon=":material/groups:", url_path="patients")


def review_page() -> st.Page:
    return st.Page("app_pages/review.py", title="Patient review", icon=":material/monitoring:", url_path="review")


def cohort_page() -> st.Page:
    return st.Page("app_pages/cohort.py", title="Cohort", icon=":material/query_stats:", url_path="cohort")


def import_page() -> st.Page:
    return st.Page("app_pages/import_data.py", title="Import", icon=":material/upload_file:", url_path="import")


def settings_page() -> st.Page:
    return st.Page("app_pages/settings.py", title="Settings", icon=":material/tune:", url_path="settings")


def audit_page() -> st.Page:
    return st.Page("app_pages/audit_log.py", title="Audit trail", icon=":material/policy:", url_path="audit")


def admin_page() -> st.Page:
    return st.Page("app_pages/admin.py", title="Accounts and shares", icon=":material/manage_accounts:", url_path="admin")


def launch_page() -> st.Page:
    """The EHR's launch address (SMART on FHIR): not in the menu, opened by the EHR."""
    return st.Page("app_pages/launch.py", title="Opened from the EHR", icon=":material/login:", url_path="launch",
                   visibility="hidden")


def login_page() -> st.Page:
    return st.Page("app_pages/login.py", title="Log in", url_path="login", default=True)


PROTECTED_PATHS = ("worklist", "patients", "review", "import", "settings", "audit", "admin", "cohort", "launch")


def login_pages(show_login) -> list[st.Page]:
    """Before login every page's address shows the login form (``show_login``, the login page's
    ``show``: the pages import this module, not it them), so a link to ``/review?patient=REF``
    keeps its address and opens the patient once logged in."""
    pages = [login_page()]
    for path in PROTECTED_PATHS:
        # The launch page asks for the login itself, keeping the EHR's request across it.
        pages.append(launch_page() if path == "launch" else st.Page(_login_at(show_login, path), title="Log in",
                                                                     url_path=path))
    return pages


def _login_at(show, path: str):
    def page() -> None:
        show()

    page.__name__ = f"login_{path}"
    return page
