"""The clinic's day: the patients with a visit booked (or overdue), the ones needing attention first.

Every figure is the patient's review (``loaders.worklist``); patient text is shown only in
st.dataframe and st.text. A row opens the patient's review. Staff see the clinic's visits instead
(``worklist_visits``). Either list downloads as CSV (``usecases.exports``, audited).
"""

from datetime import timedelta

import streamlit as st

from dashboard import access, loaders, navigation
from dashboard.analysis import worklist_table as wt
from dashboard.analysis.worklist import DEFAULT_DAYS_AHEAD
from dashboard.app_pages import worklist_visits
from dashboard.app_pages.review_first_screen import COMPACT
from dashboard.session_state import current_user
from dashboard.usecases import exports, run

BOOKED, EVERYONE = "Visits booked", "All my patients"


def _column_config() -> dict:
    """The table's headers and widths (``worklist_table.WIDTHS``: the reason and the patient on a 1366-pixel screen)."""
    return {key: st.column_config.TextColumn(label, width=wt.WIDTHS[key]) for key, label in wt.COLUMNS.items()}


def show() -> None:

    user = current_user()
    today = loaders.today()
    st.html(COMPACT)  # the review's fixed style sheet: less padding above, so the list starts higher
    if access.sees_clinic_visits(user):  # which list to show; each use case decides what it may
        worklist_visits.show(user, today)
        return
    st.title("Worklist")
    left, middle, right = st.columns([1.6, 1.4, 1.4])
    view = left.radio("Show", [BOOKED, EVERYONE], horizontal=True, key="worklist_view")
    picked = middle.date_input("Visits from – to", value=(today, today + timedelta(days=DEFAULT_DAYS_AHEAD)),
                               key="worklist_range", disabled=view == EVERYONE, format="DD/MM/YYYY")
    start, end = (picked[0], picked[-1]) if isinstance(picked, tuple) and picked else (today, today)
    order = right.selectbox("Order", list(wt.SORTS), key="worklist_order")
    everyone = view == EVERYONE
    viewed = (today, start, end, everyone)
    rows = loaders.worklist(user, as_of=today, start=start, end=end, everyone=everyone,
                            audit_view=st.session_state.get("_worklist_viewed") != viewed)
    st.session_state["_worklist_viewed"] = viewed
    if not rows:
        st.info("No patient shared with you has a visit booked in these dates. Choose other dates, or "
                "“All my patients”." if not everyone else
                "No patients are shared with you. An administrator shares patients with clinicians.")
        return
    offered = wt.choices(rows)
    f1, f2, f3 = st.columns(3)
    conditions = f1.multiselect("Condition", offered["condition"], key="worklist_condition", placeholder="any")
    flags = f2.multiselect("Open flag", offered["flag"], key="worklist_flag", placeholder="any")
    clinicians = f3.multiselect("Clinician", offered["clinician"], key="worklist_clinician", placeholder="any")
    shown = wt.SORTS[order](wt.filtered(rows, conditions=conditions, flags=flags, clinicians=clinicians))
    st.caption(_headline(shown, len(rows)))
    if not shown:
        st.info("No patient matches these filters.")
        return
    # The picker above the table: a list whose reasons wrap over several lines keeps "Open review" on
    # the first screen (1366x768).
    labels = {r.ref: f"{r.name or 'name not recorded'} · {r.ref}" for r in shown}
    pick, go = st.columns([3, 1], vertical_alignment="bottom")
    ref = pick.selectbox("Open a patient (or click a row)", list(labels), format_func=labels.get, key="worklist_pick")
    if go.button("Open review", key="worklist_open", type="primary"):
        _open(ref)
    tall = wt.row_height(shown)  # None: every reason on one line
    picked_rows = st.dataframe(wt.table(shown, today), hide_index=True, key="worklist_table", on_select="rerun",
                               selection_mode="single-row", column_config=_column_config(), width="stretch",
                               row_height=tall, height="auto" if tall is None else wt.table_height(len(shown), tall))
    st.download_button("Download CSV", lambda: run(exports.worklist_csv, user, as_of=today, start=start, end=end,
                                                   everyone=everyone, conditions=conditions, flags=flags,
                                                   clinicians=clinicians, order=order),
                       file_name=f"worklist-{today:%Y-%m-%d}.csv", mime="text/csv", key="worklist_csv",
                       on_click="ignore", icon=":material/download:",
                       help="The list above, with these filters and this order, as CSV; opens safely in a "
                            "spreadsheet. The download is recorded in the audit trail.")
    selected = picked_rows.selection.rows if picked_rows is not None else []
    if selected:
        _open(shown[selected[0]].ref)


def _open(ref: str) -> None:
    st.switch_page(navigation.review_page(), query_params={"patient": ref})


def _headline(shown, total: int) -> str:
    new = sum(1 for r in shown if r.new_safety_flags)
    quiet = sum(1 for r in shown if r.diary_overdue)
    overdue = sum(1 for r in shown if r.overdue_visit is not None)
    parts = [f"{len(shown)} of {total} patients", f"{new} with a new safety flag",
             f"{quiet} with a quiet diary", f"{overdue} with an overdue visit"]
    waiting = sum(1 for r in shown if r.files_waiting)
    if waiting:  # files the patients sent through a share link (the Inbox page)
        parts.append(f"{waiting} with files waiting in the inbox")
    return " · ".join(parts)


if __name__ == "__main__":
    show()
