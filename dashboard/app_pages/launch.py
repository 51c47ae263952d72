"""/launch: the address the clinic's EHR opens from a patient's chart (SMART App Launch 2.0,
EHR launch), with ``iss`` and ``launch``, and sends the browser back to with ``code`` and
``state`` (or ``error``). docs/smart-launch.md.

The EHR's request is taken out of the address at once and kept in this session (server-side), so
it outlives the dashboard's own login when the session has none. The access token never reaches
this page: ``usecases.ehr_launch.finish_launch`` uses it and lets it go. Every failure is a
sentence on the page (what happened, what to do), never a traceback.
"""

import streamlit as st

from dashboard import navigation, session_state
from dashboard.app_pages import login
from dashboard.usecases import NotAllowed, ehr_launch, run

REQUEST_KEY = "ehr_launch_request"  # the EHR's request, kept across the login
BANNER_KEY = "ehr_banner"  # what the review page says of the launch it opened
NOT_LOGGED_IN = "not logged in"  # the audit trail's actor for a launch refused before any login
# The EHR's parameters, all taken out of the address (an OAuth error comes with a description and
# maybe an address explaining it, RFC 6749 4.1.2.1).
PARAMS = ("iss", "launch", "code", "state", "error", "error_description", "error_uri")


def show() -> None:
    _take_request_from_address()
    request = st.session_state.get(REQUEST_KEY)
    user = session_state.current_user()
    if request is None:
        st.title("Opened from the EHR")
        st.info("This address is opened by the clinic's EHR, from a patient's chart, to show that patient's review "
                "here. Open the app from the patient's chart in the EHR.")
        return
    if request["kind"] == "start" and not request.get("trusted"):
        try:  # an untrusted EHR is refused before any login, and never contacted
            run(ehr_launch.check_ehr, user or NOT_LOGGED_IN, request["iss"])
        except NotAllowed as exc:
            _stop(str(exc))
            return
        request["trusted"] = True
    if user is None:
        st.info("The EHR opened this dashboard for a patient. Log in to go on to the patient's review.")
        login.show()
        return
    st.title("Opened from the EHR")
    if request["kind"] == "start":
        _start(user, request)
    else:
        _finish(user, request)


def _take_request_from_address() -> None:
    """The EHR's parameters into the session and out of the address (a reload or a bookmark must
    not replay them)."""
    found = {key: st.query_params.get(key) for key in PARAMS if st.query_params.get(key) is not None}
    if not found:
        return
    for key in PARAMS:
        st.query_params.pop(key, None)
    if found.get("iss") or found.get("launch"):
        st.session_state[REQUEST_KEY] = {"kind": "start", "iss": found.get("iss") or "",
                                         "launch": found.get("launch") or ""}
    else:
        st.session_state[REQUEST_KEY] = {"kind": "return", "state": found.get("state") or "",
                                         "code": found.get("code"), "error": found.get("error"),
                                         "error_description": found.get("error_description")}


def _start(user, request: dict) -> None:
    if not request["launch"]:
        _stop("The EHR did not say which launch this is (no 'launch' in the address). Nothing was read. "
              "Open the app from a patient's chart in the EHR.")
        return
    try:
        with st.spinner("Asking the EHR for its sign-in settings..."):
            url, pending = run(ehr_launch.start_launch, user, request["iss"], request["launch"])
    except (NotAllowed, ehr_launch.LaunchFailed) as exc:
        _stop(str(exc))
        return
    session_state.keep_pending_launch(pending.state, pending)
    st.session_state.pop(REQUEST_KEY, None)
    st.info("Going to the EHR to ask for access to this patient's records...")
    st.link_button("Continue to the EHR", url)
    session_state.go_to(url)


def _finish(user, request: dict) -> None:
    pending = session_state.take_pending_launch(request["state"])
    st.session_state.pop(REQUEST_KEY, None)
    try:
        with st.spinner("Reading the patient's records from the EHR..."):
            result = run(ehr_launch.finish_launch, user, pending, state=request["state"], code=request["code"],
                         error=request["error"], error_description=request.get("error_description"))
    except (NotAllowed, ehr_launch.LaunchFailed) as exc:
        _stop(str(exc))
        return
    report = result.report
    st.session_state[BANNER_KEY] = {"patient": result.patient_ref, "ehr": result.ehr, "read_at": result.read_at,
                                    "status": report.status, "added": report.entries_added,
                                    "records": sum(report.records_added.values()),
                                    "measures": report.measures_added}
    st.switch_page(navigation.review_page(), query_params={"patient": result.patient_ref})


def _stop(message: str) -> None:
    """The sentence on the page as written: an EHR's words may name ``patient/*.read``, and a
    markdown ``*`` would turn into emphasis (``smart.said`` has removed the other markup)."""
    st.session_state.pop(REQUEST_KEY, None)
    st.title("Opened from the EHR")
    st.error(message.replace("*", "\\*"))


if __name__ == "__main__":
    show()
