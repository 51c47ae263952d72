"""The review's visits: the last one held, the next one booked and one booked but overdue, for one
patient (the review) or many (``next_visits``, ``overdue_visits``: the worklist).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.daily import day
from dashboard.analysis.periods import visit_intervals


@dataclass(frozen=True)
class Visit:
    date: pd.Timestamp
    kind: str


def last_visit(visits: pd.DataFrame, as_of: date) -> Visit | None:
    intervals = visit_intervals(visits, as_of)
    if intervals.empty:
        return None
    last = intervals.iloc[-1]
    return Visit(day(last["start"]), str(last["kind"]))


def next_visit(visits: pd.DataFrame, as_of: date) -> Visit | None:
    """The first visit still to come on the review date (``next_visits`` for one patient)."""
    return next_visits(visits.assign(patient_id=0), as_of).get(0)


def overdue_visit(visits: pd.DataFrame, as_of: date) -> Visit | None:
    """The earliest booked visit before the review date never recorded as held (``overdue_visits``)."""
    return overdue_visits(visits.assign(patient_id=0), as_of).get(0)


def next_visits(visits: pd.DataFrame, as_of: date) -> dict:
    """Per ``patient_id``: the first visit still to come on the review date, if the clinic records
    it: a visit booked for that day or later, or one recorded as held after it (as it stood then,
    it was booked). A visit held on the review day itself is the last visit, not the next.

    Two visits on that day (an infusion and a review) are one visit with both kinds, as
    ``periods.visit_intervals`` counts them. The review asks for one patient, the worklist for many.
    """
    booked = _booked(visits)
    return _first_visits(visits, (visits["date"] > day(as_of)) | (booked & (visits["date"] == day(as_of))))


def overdue_visits(visits: pd.DataFrame, as_of: date) -> dict:
    """Per ``patient_id``: the earliest visit booked before the review date and never recorded as
    held: the patient was due and nobody has said they were seen."""
    return _first_visits(visits, _booked(visits) & (visits["date"] < day(as_of)))


def _booked(visits: pd.DataFrame) -> pd.Series:
    return visits["status"] == "booked" if "status" in visits else pd.Series(False, index=visits.index)


def _first_visits(visits: pd.DataFrame, mask: pd.Series) -> dict:
    chosen = visits.loc[mask, ["patient_id", "date", "kind"]]
    if chosen.empty:
        return {}
    on_first = chosen[chosen["date"] == chosen.groupby("patient_id")["date"].transform("min")]
    kinds = on_first.groupby("patient_id").agg(date=("date", "first"),
                                               kind=("kind", lambda k: ", ".join(sorted(set(k)))))
    return {pid: Visit(day(when), str(kind)) for pid, when, kind in zip(kinds.index, kinds["date"], kinds["kind"])}
