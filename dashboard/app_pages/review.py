"""The patient review: what changed since the last visit, is the step working, is it safe.

Summary first, details below. Every number comes from ``dashboard.analysis.review`` (the
same model ``summary --json`` prints); patient text is shown only through st.text and
st.dataframe, never as markdown or HTML.
"""

import streamlit as st

from dashboard import loaders
from dashboard.app_pages import review_sections as sections
from dashboard.db.clinic_records import RecordError
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    st.title("Patient review")
    ref = st.query_params.get("patient")
    if not ref:
        st.info("Open a patient from the Patients page.")
        return
    as_of = st.sidebar.date_input("Review as of", value=loaders.today(), max_value=loaders.today(), key="as_of",
                                  help="See the patient as they stood on an earlier date: nothing after it counts.")
    viewed = (ref, as_of)
    patient = loaders.open_patient(user, ref, audit_view=st.session_state.get("_viewed") != viewed)
    st.session_state["_viewed"] = viewed
    if patient is None:
        st.error("This patient is not available to you. Patients are shared with clinicians by an administrator.")
        return
    review = loaders.review(user, patient, as_of)
    sections.header(patient, review, loaders.imports(user, patient), as_of)
    if review.daily.empty:
        st.info("No diary entries yet (up to this date). Import the patient's diary on the Import page.")
        sections.comedications(loaders.frames(user, patient)["comedications"])
        sections.proposed_steps(loaders.frames(user, patient)["proposed_steps"], lambda step_id, accept: _decide(
            user, patient, step_id, accept))
        return
    sections.since_last_visit(review)
    highlight = sections.flags(review)
    sections.timeline(review, loaders.frames(user, patient)["visits"], loaders.thresholds(), highlight, as_of)
    sections.visit_comparison(review)
    sections.step_response(review)
    sections.overlay(review)
    sections.effects_by_step(review)
    sections.notes(review, as_of)
    sections.comedications(loaders.frames(user, patient)["comedications"])
    sections.proposed_steps(loaders.frames(user, patient)["proposed_steps"], lambda step_id, accept: _decide(
        user, patient, step_id, accept))


def _decide(user, patient, step_id: int, accept: bool) -> None:
    try:
        loaders.decide_proposed_step(user, patient, step_id, accept)
    except (RecordError, PermissionError) as exc:
        st.error(str(exc))
        return
    st.rerun()


if __name__ == "__main__":
    show()
