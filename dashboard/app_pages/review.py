"""The patient review page (being built: issue 3)."""

import streamlit as st

from dashboard import loaders
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    ref = st.query_params.get("patient")
    st.title("Patient review")
    if not ref:
        st.info("Open a patient from the Patients page.")
        return
    patient = loaders.open_patient(user, ref)
    if patient is None:
        st.error("This patient is not available to you.")
        return
    st.text(f"{patient.ref} · {patient.name or ''} · {patient.condition or ''}")
    st.info("The review timeline is not built yet.")
