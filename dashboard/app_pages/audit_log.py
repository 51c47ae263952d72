"""The audit trail, for administrators: filter it, read it, export it (the export is audited too)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import streamlit as st

from dashboard import access
from dashboard.usecases import audit_trail, run
from dashboard.audit_actions import AuditAction
from dashboard.app_pages.display import blank_missing, readable_detail
from dashboard.actors import User
from dashboard.db.audit_trail import SHOWN, TrailFilter
from dashboard.session_state import current_user, refuse_unless


def _filters(user: User) -> TrailFilter:
    actions, outcomes = run(audit_trail.trail_choices, user)
    cols = st.columns(3)
    actor = cols[0].text_input("User name", key="audit_actor").strip()
    chosen = cols[1].multiselect("Action", actions, key="audit_actions")
    picked = cols[2].multiselect("Outcome", outcomes, key="audit_outcomes")
    cols = st.columns(3)
    patient_ref = cols[0].text_input("Patient reference", key="audit_patient").strip()
    today = datetime.now(timezone.utc).date()
    start = cols[1].date_input("From (UTC)", value=today - timedelta(days=30), key="audit_from")
    end = cols[2].date_input("To (UTC)", value=today, key="audit_to")
    return TrailFilter(actor, tuple(chosen), patient_ref, tuple(picked), start, end)


def show() -> None:
    user = current_user()
    st.title("Audit trail")
    if not refuse_unless(user, access.may_see_audit_trail(user), AuditAction.VIEW_AUDIT,
                         "Only administrators see the audit trail."):
        return
    f = _filters(user)
    total, shown = run(audit_trail.trail, user, f)
    st.text(f"{total:,} matching event(s); the newest {min(total, SHOWN):,} are shown.")
    # The export keeps each detail's JSON for other tools; the page reads it out.
    st.dataframe(blank_missing(shown.assign(detail=shown["detail"].map(readable_detail))), hide_index=True)
    if total:
        _export(user, f)


def _export(user: User, f: TrailFilter) -> None:
    """Two steps, so that a long trail is written out only when asked for; the download is audited."""
    if st.button("Prepare a CSV export of these events", key="audit_prepare"):
        st.session_state["audit_export_filter"] = f
    if st.session_state.get("audit_export_filter") != f:
        return
    data, rows = run(audit_trail.trail_export, user, f)
    st.download_button("Download CSV", data, file_name=f"audit-trail-{date.today()}.csv",
                       mime="text/csv", key="audit_export", on_click=run,
                       args=(audit_trail.record_trail_export, user), kwargs={"f": f, "rows": rows})


if __name__ == "__main__":
    show()
