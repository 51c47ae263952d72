"""The patients shared with the logged-in clinician."""

import streamlit as st

from dashboard import loaders, navigation
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    st.title("Patients")
    patients = loaders.patient_list(user)
    if patients.empty:
        st.info("No patients are shared with you. An administrator shares patients with clinicians.")
        return
    st.caption(f"{len(patients)} patient(s) shared with you.")
    table = patients.assign(first_entry=patients["first_entry"].dt.date, last_entry=patients["last_entry"].dt.date)
    st.dataframe(
        table[["ref", "name", "condition", "birth_year", "entries", "first_entry", "last_entry"]],
        hide_index=True,
        column_config={"ref": "Reference", "name": "Name", "condition": "Condition", "birth_year": "Born",
                       "entries": "Diary entries", "first_entry": "First entry", "last_entry": "Last entry"},
    )
    labels = {r.ref: f"{r.ref} · {r.name or 'no name'}" for r in patients.itertuples()}
    ref = st.selectbox("Patient", list(labels), format_func=labels.get, key="patient_pick")
    if st.button("Open review", key="open_review", type="primary"):
        st.switch_page(navigation.review_page(), query_params={"patient": ref})


if __name__ == "__main__":
    show()
