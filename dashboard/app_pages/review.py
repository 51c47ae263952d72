"""The patient review: what changed since the last visit, is the step working, is it safe.

Summary first, details below. Every number comes from ``dashboard.analysis.review`` (the
same model ``summary --json`` prints); patient text is shown only through st.text and
st.dataframe, never as markdown or HTML.
"""

from datetime import date, timedelta

import streamlit as st

from dashboard import loaders, trace
from dashboard.usecases import exports, run
from dashboard.app_pages import review_records as records
from dashboard.app_pages.review_first_screen import first_screen
from dashboard.app_pages import review_sections as sections
from dashboard.app_pages import review_share
from dashboard.db.clinic_records import RecordError
from dashboard.usecases.records import AcknowledgementError
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    ref = st.query_params.get("patient")
    if not ref:
        st.title("Patient review")
        st.info("Open a patient from the Worklist or the Patients page.")
        return
    as_of = st.sidebar.date_input("Review as of", value=as_of_in_address(), max_value=loaders.today(), key="as_of",
                                  help="See the patient as they stood on an earlier date: nothing after it counts.")
    keep_in_address(as_of)
    viewed = (ref, as_of)
    patient = loaders.open_patient(user, ref, audit_view=st.session_state.get("_viewed") != viewed)
    st.session_state["_viewed"] = viewed
    if patient is None:
        st.title("Patient review")
        st.error("This patient is not available to you. Patients are shared with clinicians by an administrator.")
        return
    with trace.timed("review: data"):
        review = loaders.review(user, patient, as_of)
        data = loaders.frames(user, patient)
        imports = loaders.imports(user, patient)
    past_date_banner(as_of)
    ehr_banner(patient.ref)
    with trace.timed("review: first screen"):
        first_screen(patient, review, imports, as_of)
    records.download(user, patient)

    def make_report() -> bytes:  # called on the click, in Streamlit's download thread
        return run(exports.pre_visit_report, user, patient, review, visits=data["visits"], imports=imports)

    if review.daily.empty:
        st.info("No diary entries yet (up to this date). Import the patient's diary on the Import page.")
        sections.measures_chart(review)
        sections.measures_list(review)
        sections.for_the_record(review, make_report)
        records.show(user, patient, data["proposed_steps"])
        sections.co_medication_lines(review)
        sections.comedications(data["comedications"])
        sections.proposed_steps(data["proposed_steps"], lambda step_id, accept: _decide(user, patient, step_id, accept))
        records.accept_proposed(user, patient, data["proposed_steps"])
        _fhir_download(user, patient)
        review_share.show(user, patient)
        return
    timeline_slot = st.container()  # drawn after the flags, which choose what it marks
    records.show(user, patient, data["proposed_steps"])  # below the timeline: the first screen stays as it is
    highlight = sections.flags(review, lambda rule, start, end, note: _acknowledge(
        user, patient, rule, start, end, note))
    with timeline_slot, trace.timed("review: timeline"):
        drawn = sections.timeline(review, data["visits"], highlight, as_of)
        sections.measures_chart(review, drawn)  # below the timeline, on its date axis
    sections.since_last_visit(review)
    sections.for_the_record(review, make_report)
    sections.step_response(review)
    sections.visit_comparison(review)
    sections.overlay(review)
    sections.effects_by_step(review)
    sections.notes(review, as_of)
    sections.measures_list(review)
    sections.co_medication_lines(review)
    sections.comedications(data["comedications"])
    sections.proposed_steps(data["proposed_steps"], lambda step_id, accept: _decide(user, patient, step_id, accept))
    records.accept_proposed(user, patient, data["proposed_steps"])
    _fhir_download(user, patient)
    review_share.show(user, patient)


def as_of_in_address() -> date:
    """The as-of date of the address (``?as_of=YYYY-MM-DD``, kept there so a reload or a shared link
    shows the same day), or today when it is missing, not a date, or not in the past ten years."""
    today = loaders.today()
    try:
        day = date.fromisoformat(st.query_params.get("as_of", ""))
    except ValueError:
        return today
    return day if today - timedelta(days=3650) <= day <= today else today


def keep_in_address(as_of: date) -> None:
    wanted = as_of.isoformat() if as_of < loaders.today() else None
    if st.query_params.get("as_of") != wanted:
        if wanted is None:
            del st.query_params["as_of"]
        else:
            st.query_params["as_of"] = wanted


def ehr_banner(ref: str) -> None:
    """After a launch from the EHR (``app_pages.launch``): which EHR the patient's records came from and when."""
    launched = st.session_state.get("ehr_banner")
    if not launched or launched["patient"] != ref:
        return
    if launched["status"] == "imported":
        what = (f"{launched['added']} diary day(s), {launched['records']} record(s) and {launched['measures']} "
                "measure(s) were new")
    else:
        what = "nothing in them was new"
    st.info(f"Opened from the EHR at {launched['ehr']}: its records of this patient were read at "
            f"{launched['read_at']:%d %b %Y %H:%M} UTC; {what}.", icon=":material/sync:")


def past_date_banner(as_of) -> None:
    """Say it when the page is not today's: a review of an earlier date looks like today's otherwise."""
    today = loaders.today()
    if as_of >= today:
        return

    def back_to_today() -> None:
        st.session_state["as_of"] = today

    cols = st.columns([5, 1], vertical_alignment="center")
    cols[0].warning(f"Review as of {as_of:%d %b %Y}, not today ({today:%d %b %Y}): nothing after that date is shown "
                    "or counted.", icon=":material/history:")
    cols[1].button("Back to today", key="as_of_today", on_click=back_to_today)


def _fhir_download(user, patient) -> None:
    """The patient for a health record or another clinic; built (and audited) only when clicked."""
    st.subheader("Export")
    st.download_button("Download for another system (FHIR R4, JSON)", lambda: run(exports.patient_fhir, user, patient.ref),
                       file_name=f"{patient.ref}-fhir-r4.json", mime="application/fhir+json", key="fhir_export",
                       on_click="ignore", help="Everything held for this patient as a FHIR R4 Bundle: diary, doses, "
                       "titration steps, visits and co-medication. It imports back into this dashboard.")


def _acknowledge(user, patient, rule: str, start, end, note: str) -> None:
    try:
        loaders.acknowledge_flag(user, patient, rule=rule, start=start, end=end, note=note)
    except (AcknowledgementError, PermissionError) as exc:
        st.error(str(exc))
        return
    st.rerun()


def _decide(user, patient, step_id: int, accept: bool) -> None:
    if accept:  # through the step form, prefilled, so the clinician sees and may correct it first
        records.start_accepting(step_id)
        st.rerun()
    try:
        loaders.decide_proposed_step(user, patient, step_id, accept)
    except (RecordError, PermissionError) as exc:
        st.error(str(exc))
        return
    st.rerun()


if __name__ == "__main__":
    show()
