"""The pages, built in one place so a page can link to another."""

import streamlit as st


def patients_page() -> st.Page:
    from dashboard.app_pages import patients

    return st.Page(patients.show, title="Patients", icon=":material/groups:", url_path="patients", default=True)


def review_page() -> st.Page:
    from dashboard.app_pages import review

    return st.Page(review.show, title="Patient review", icon=":material/monitoring:", url_path="review")


def import_page() -> st.Page:
    from dashboard.app_pages import import_data

    return st.Page(import_data.show, title="Import", icon=":material/upload_file:", url_path="import")


def settings_page() -> st.Page:
    from dashboard.app_pages import settings

    return st.Page(settings.show, title="Settings", icon=":material/tune:", url_path="settings")


def audit_page() -> st.Page:
    from dashboard.app_pages import audit_log

    return st.Page(audit_log.show, title="Audit trail", icon=":material/policy:", url_path="audit")


def login_page() -> st.Page:
    from dashboard.app_pages import login

    return st.Page(login.show, title="Log in", url_path="login", default=True)
