"""The audit trail, for administrators (filters and export: issue 5)."""

import pandas as pd
import streamlit as st
from sqlalchemy import select

from dashboard.db.models import AuditEvent
from dashboard.db.session import session_scope
from dashboard.session_state import current_user


def show() -> None:
    user = current_user()
    if user.role != "admin":
        st.error("Only administrators see the audit trail.")
        return
    st.title("Audit trail")
    with session_scope() as session:
        rows = session.execute(
            select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, AuditEvent.patient_id, AuditEvent.outcome, AuditEvent.detail)
            .order_by(AuditEvent.id.desc()).limit(500)
        ).all()
    st.dataframe(pd.DataFrame(rows, columns=["at (UTC)", "who", "action", "patient", "outcome", "detail"]), hide_index=True)
