"""The patients shared with the logged-in clinician."""

import pandas as pd
import streamlit as st

from dashboard import loaders, navigation
from dashboard.actors import born_words
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    st.title("Patients")
    patients = loaders.patient_list(user)
    if patients.empty:
        st.info("No patients are shared with you. An administrator shares patients with clinicians.")
        return
    st.caption(f"{len(patients)} patient(s) shared with you.")
    # The birth date (or year) beside the name: a clinician checks they have the right patient.
    born = [born_words(_date(d), y) for d, y in zip(patients["birth_date"], patients["birth_year"])]
    table = patients.assign(first_entry=patients["first_entry"].dt.date, last_entry=patients["last_entry"].dt.date,
                            born=[words.removeprefix("born ") for words in born])
    st.dataframe(
        table[["ref", "name", "born", "condition", "entries", "first_entry", "last_entry"]],
        hide_index=True,
        column_config={"ref": "Reference", "name": "Name", "condition": "Condition", "born": "Born",
                       "entries": "Diary entries", "first_entry": "First entry", "last_entry": "Last entry"},
    )
    labels = {ref: f"{ref} · {name or 'no name'} · {words}"
              for ref, name, words in zip(patients["ref"], patients["name"], born)}
    ref = st.selectbox("Patient", list(labels), format_func=labels.get, key="patient_pick")
    if st.button("Open review", key="open_review", type="primary"):
        st.switch_page(navigation.review_page(), query_params={"patient": ref})


def _date(value):
    """A stored birth date as the frame holds it (a date, a timestamp or nothing)."""
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


if __name__ == "__main__":
    show()
