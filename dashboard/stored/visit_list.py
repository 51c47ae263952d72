"""The clinic's visit list (``analysis.visit_list``) read from storage: every patient's booked
visits and their diary days. Who may see it is decided before (``dashboard.access``, by the use case)."""

from __future__ import annotations

from datetime import date

from dashboard.analysis.visit_list import VisitListRow, visit_rows
from dashboard.db import worklist_queries as q


def clinic_visits(session, *, as_of: date, start: date, end: date) -> list[VisitListRow]:
    """The booked visits from ``start`` to ``end`` and the overdue ones, across the clinic."""
    booked = q.booked_visits(session, until=max(start, end, as_of))
    if booked.empty:
        return []
    ids = sorted({int(pid) for pid in booked["patient_id"]})
    return visit_rows(booked, q.diary_days(session, ids, as_of), as_of=as_of, start=start, end=end)
