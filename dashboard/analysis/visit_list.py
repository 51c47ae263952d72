"""The clinic's visit list, for the front desk: the booked visits in a range of days and every
booked visit overdue (booked before today and never recorded as held), across the clinic.

Who, when, what kind and how many diary days in the last 30: no clinical figure (no pain, dose
or flag), which the staff role does not need to book and record visits (HIPAA 45 CFR
164.502(b), minimum necessary).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.daily import day

COMPLETENESS_DAYS = 30


@dataclass(frozen=True)
class VisitListRow:
    patient_id: int
    ref: str
    name: str | None
    visit_id: int
    date: pd.Timestamp
    kind: str
    overdue: bool
    diary_days_30d: int

    def json(self) -> dict:
        return {"patient": self.ref, "name": self.name, "date": f"{self.date:%Y-%m-%d}", "kind": self.kind,
                "status": "overdue" if self.overdue else "booked", "diary_days_30d": self.diary_days_30d}


def visit_rows(booked: pd.DataFrame, diary_days: dict[int, int], *, as_of: date, start: date,
               end: date) -> list[VisitListRow]:
    """The rows of ``booked`` (``db.worklist_queries.booked_visits``) dated from ``start`` to
    ``end``, and every one dated before ``as_of`` (overdue), by date and reference."""
    today, first, last = day(as_of), day(start), day(end)
    chosen = booked[((booked["date"] >= first) & (booked["date"] <= last)) | (booked["date"] < today)]
    chosen = chosen.sort_values(["date", "ref", "visit_id"], kind="stable")
    return [VisitListRow(patient_id=int(r.patient_id), ref=r.ref, name=r.name if isinstance(r.name, str) else None,
                         visit_id=int(r.visit_id), date=day(r.date), kind=str(r.kind), overdue=r.date < today,
                         diary_days_30d=int(diary_days.get(r.patient_id, 0)))
            for r in chosen.itertuples(index=False)]


def recordable(rows: list[VisitListRow], as_of: date) -> list[VisitListRow]:
    """The visits that can be recorded as held: due today or earlier (a visit that took place is
    dated today or earlier, ``clinic_records.check_visit``)."""
    return [r for r in rows if r.date <= day(as_of)]


COLUMNS = {"when": "When", "patient": "Patient", "kind": "Kind", "status": "Status",
           "diary": f"Diary, {COMPLETENESS_DAYS} days"}
CSV_COLUMNS = {"ref": "Patient reference", "name": "Patient name", "date": "Date", "kind": "Kind", "status": "Status",
               "diary": f"Diary days in the last {COMPLETENESS_DAYS}"}


# On the page, what overdue means to the front desk (the download keeps the plain "overdue").
OVERDUE_WORDS = "overdue: not recorded as held"


def when_words(row: VisitListRow, as_of: date) -> str:
    days = (row.date - day(as_of)).days
    if days < 0:
        return f"{row.date:%a %-d %b} ({-days} day{'s' if days < -1 else ''} ago)"
    if days == 0:
        return "Today"
    if days == 1:
        return "Tomorrow"
    return f"{row.date:%a %-d %b}"


def visit_table(rows: list[VisitListRow], as_of: date) -> pd.DataFrame:
    """The page's table: one line per visit, every cell a plain string (patient text stays text)."""
    lines = [{"when": when_words(r, as_of), "patient": f"{r.name or 'name not recorded'} · {r.ref}", "kind": r.kind,
              "status": OVERDUE_WORDS if r.overdue else "booked",
              "diary": f"{r.diary_days_30d} of {COMPLETENESS_DAYS} days"} for r in rows]
    return pd.DataFrame(lines, columns=list(COLUMNS), dtype="object").rename(columns=COLUMNS)


def visit_csv_frame(rows: list[VisitListRow]) -> pd.DataFrame:
    """The download: the reference and the name apart, the date as ISO, for a spreadsheet."""
    lines = [{"ref": r.ref, "name": r.name or "", "date": f"{r.date:%Y-%m-%d}", "kind": r.kind,
              "status": "overdue" if r.overdue else "booked", "diary": r.diary_days_30d} for r in rows]
    return pd.DataFrame(lines, columns=list(CSV_COLUMNS), dtype="object").rename(columns=CSV_COLUMNS)
