"""The worklist as the front desk (staff) sees it: the clinic's booked and overdue visits (who,
when, kind, diary days; no clinical figure), from which they book and record visits. Opening a
patient's review stays the clinicians' (``dashboard.access``)."""

from __future__ import annotations

from datetime import timedelta

import streamlit as st

from dashboard import clinic_rules, fields
from dashboard.analysis.visit_list import recordable, visit_table
from dashboard.analysis.worklist import DEFAULT_DAYS_AHEAD
from dashboard.app_pages.display import fitted_widths
from dashboard.db.clinic_records import RecordRefused, VisitForm
from dashboard.usecases import exports, patients, records, run

DONE_KEY = "visits_done"
# Staff book and record in-person and telehealth visits; an infusion carries its dose, a clinician's.
STAFF_KINDS = tuple(k for k in clinic_rules.VISIT_KIND_CHOICES if k != "infusion")


def show(user, today) -> None:
    st.title("Worklist: the clinic's visits")
    st.caption("Booked visits in the chosen days and every booked visit not yet recorded as held, across the clinic. "
               "Book a visit, or record one that took place. Clinicians open the patients' reviews.")
    if done := st.session_state.pop(DONE_KEY, None):
        st.success(done)
    picked = st.date_input("Visits from – to", value=(today, today + timedelta(days=DEFAULT_DAYS_AHEAD)),
                           key="visits_range", format="DD/MM/YYYY")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
    viewed = (today, start, end)
    listing = run(patients.clinic_visits, user, as_of=today, start=start, end=end,
                  audit_view=st.session_state.get("_visits_viewed") != viewed)
    st.session_state["_visits_viewed"] = viewed
    rows = listing.rows
    overdue = sum(1 for r in rows if r.overdue)
    if rows:
        st.caption(f"{len(rows)} visits · {overdue} overdue (booked, not recorded as held)")
        shown = visit_table(rows, today)
        # Each column as wide as its longest words (display.fitted_widths): the status is read in full.
        st.dataframe(shown, hide_index=True, key="visits_table", width="stretch",
                     column_config={name: st.column_config.TextColumn(width=width)
                                    for name, width in fitted_widths(shown).items()})
        st.download_button("Download CSV", lambda: run(exports.visit_list_csv, user, as_of=today, start=start, end=end),
                           file_name=f"visits-{start:%Y-%m-%d}-to-{end:%Y-%m-%d}.csv", mime="text/csv",
                           key="visits_csv", on_click="ignore", icon=":material/download:",
                           help="The list above as CSV; opens safely in a spreadsheet. The download is audited.")
    else:
        st.info("No visit is booked in these dates and none is overdue. Choose other dates, or book a visit below.")
    left, right = st.columns(2)
    with left:
        _record(user, recordable(rows, today), today)
    with right:
        _book(user, listing.bookable, today)


def _record(user, due, today) -> None:
    st.subheader("Record a visit that took place")
    held = [r for r in due if r.kind in STAFF_KINDS]
    if not held:
        st.caption("No booked visit due today or earlier to record.")
        return
    by_label = {f"{r.date:%a %-d %b} · {r.kind} · {r.name or 'name not recorded'} · {r.ref}": r for r in held}
    chosen = st.selectbox("Booked visit", list(by_label), key="record_visit", index=None, placeholder="choose a visit")
    if st.button("Record as held", key="record_held", disabled=chosen is None):
        row = by_label[chosen]
        _save(user, row.patient_id, VisitForm(date=row.date.date(), kind=row.kind, booked=False), today,
              f"Recorded as held: {chosen}")
    if len(held) < len(due):
        st.caption("An infusion is recorded by a clinician, with its dose.")


def _book(user, bookable: dict[int, str], today) -> None:
    st.subheader("Book a visit")
    with st.form("book_visit", border=False):
        by_label = {label: pid for pid, label in bookable.items()}
        patient = st.selectbox("Patient", list(by_label), key="book_patient", index=None,
                               placeholder="choose a patient")
        when = st.date_input("Date", value=today, min_value=today, max_value=fields.PLAN.latest(), key="book_date",
                             format="YYYY-MM-DD")
        kind = st.selectbox("Kind", STAFF_KINDS, key="book_kind")
        booked = st.form_submit_button("Book visit")
    if booked:
        if patient is None:
            st.error("Choose the patient first.")
            return
        _save(user, by_label[patient], VisitForm(date=when, kind=kind, booked=True), today,
              f"Booked: {when:%a %-d %b %Y} · {kind} · {patient}")


def _save(user, patient_id: int, form: VisitForm, today, done: str) -> None:
    try:
        run(records.save_visit, user, patient_id, form, today=today)
    except RecordRefused as exc:
        st.error("Nothing was saved:")
        for problem in exc.problems:
            st.text(f"{problem.field}: {problem.reason}")  # quotes what was entered: plain text
        return
    except PermissionError as exc:
        st.error(str(exc))
        return
    st.session_state[DONE_KEY] = done + ". The change is in the audit trail."
    st.rerun()
