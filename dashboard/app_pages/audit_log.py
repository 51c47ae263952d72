"""The audit trail, for administrators: filter it, read it, export it (the export is audited too)."""

from __future__ import annotations

import csv
import io
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta, timezone

import pandas as pd
import streamlit as st
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import Session

from dashboard.auth.accounts import User
from dashboard.db import audit
from dashboard.db.models import AuditEvent, Patient
from dashboard.db.session import session_scope
from dashboard.ingest.csv_text import escape_text
from dashboard.session_state import current_user, require_admin

COLUMNS = ["at (UTC)", "who", "action", "patient", "outcome", "detail"]
SHOWN = 1000  # rows on screen; the export has every matching row
EXPORT_MAX = 200_000


@dataclass(frozen=True)
class TrailFilter:
    """What the administrator asked for; empty means any."""

    actor: str = ""
    actions: tuple[str, ...] = ()
    patient_ref: str = ""
    outcomes: tuple[str, ...] = ()
    start: date | None = None
    end: date | None = None  # inclusive


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _where(query: Select, session: Session, f: TrailFilter) -> Select:
    if f.actor:
        query = query.where(AuditEvent.actor == f.actor)
    if f.actions:
        query = query.where(AuditEvent.action.in_(f.actions))
    if f.outcomes:
        query = query.where(AuditEvent.outcome.in_(f.outcomes))
    if f.start:
        query = query.where(AuditEvent.at >= datetime.combine(f.start, time.min))
    if f.end:
        query = query.where(AuditEvent.at < datetime.combine(f.end + timedelta(days=1), time.min))
    if f.patient_ref:
        # Views carry the patient's id; refusals, exports and imports name the reference in the detail.
        patient_id = session.scalar(select(Patient.id).where(Patient.ref == f.patient_ref))
        named = AuditEvent.detail.like(f'%"{_like_literal(f.patient_ref)}"%', escape="\\")
        query = query.where(or_(AuditEvent.patient_id == patient_id, named) if patient_id else named)
    return query


def events_frame(session: Session, f: TrailFilter, *, limit: int = SHOWN) -> pd.DataFrame:
    """The newest matching events first, with the patient's reference (never the name)."""
    query = (
        select(AuditEvent.at, AuditEvent.actor, AuditEvent.action, Patient.ref, AuditEvent.outcome, AuditEvent.detail)
        .outerjoin(Patient, Patient.id == AuditEvent.patient_id)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
    )
    rows = session.execute(_where(query, session, f)).all()
    return pd.DataFrame([tuple(r) for r in rows], columns=COLUMNS)


def count_events(session: Session, f: TrailFilter) -> int:
    return session.scalar(_where(select(func.count(AuditEvent.id)), session, f))


def trail_csv(frame: pd.DataFrame) -> bytes:
    """CSV for a spreadsheet: a cell that starts like a formula (=, +, -, @, tab, CR) gets a
    leading quote (OWASP CSV injection), because actors include whatever was typed at login."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(frame.columns)
    for row in frame.itertuples(index=False):
        writer.writerow([_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat(sep=" ", timespec="seconds")
    return escape_text(str(value))


def _choices(session: Session, column) -> list[str]:
    return list(session.scalars(select(column).distinct().order_by(column)))


def _record_export(user: User, f: TrailFilter, rows: int) -> None:
    with session_scope() as session:
        audit.record(session, actor=user.username, action="export",
                     detail={"what": "audit trail", "rows": rows, "filter": asdict(f)})


def _filters(session: Session) -> TrailFilter:
    cols = st.columns(3)
    actor = cols[0].text_input("User name", key="audit_actor").strip()
    actions = cols[1].multiselect("Action", _choices(session, AuditEvent.action), key="audit_actions")
    outcomes = cols[2].multiselect("Outcome", _choices(session, AuditEvent.outcome), key="audit_outcomes")
    cols = st.columns(3)
    patient_ref = cols[0].text_input("Patient reference", key="audit_patient").strip()
    today = datetime.now(timezone.utc).date()
    start = cols[1].date_input("From (UTC)", value=today - timedelta(days=30), key="audit_from")
    end = cols[2].date_input("To (UTC)", value=today, key="audit_to")
    return TrailFilter(actor, tuple(actions), patient_ref, tuple(outcomes), start, end)


def show() -> None:
    user = current_user()
    st.title("Audit trail")
    if not require_admin(user, "view_audit", "Only administrators see the audit trail."):
        return
    with session_scope() as session:
        f = _filters(session)
        total = count_events(session, f)
        shown = events_frame(session, f)
    st.text(f"{total:,} matching event(s); the newest {min(total, SHOWN):,} are shown.")
    st.dataframe(shown, hide_index=True)
    if total:
        _export(user, f)


def _export(user: User, f: TrailFilter) -> None:
    """Two steps, so that a long trail is written out only when asked for; the download is audited."""
    if st.button("Prepare a CSV export of these events", key="audit_prepare"):
        st.session_state["audit_export_filter"] = f
    if st.session_state.get("audit_export_filter") != f:
        return
    with session_scope() as session:
        everything = events_frame(session, f, limit=EXPORT_MAX)
    st.download_button("Download CSV", trail_csv(everything), file_name=f"audit-trail-{date.today()}.csv",
                       mime="text/csv", key="audit_export", on_click=_record_export,
                       kwargs={"user": user, "f": f, "rows": len(everything)})


if __name__ == "__main__":
    show()
