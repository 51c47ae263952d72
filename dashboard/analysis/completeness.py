"""Diary completeness: how much of a period the patient's diary actually covers.

A mean over 3 diary days of 28 is not the same evidence as one over 27: every period on
the review page carries ``diary_days / days`` beside its means (review-metrics.md).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.daily import day, in_period


def completeness(daily: pd.DataFrame, start, end, *, part: pd.DataFrame | None = None) -> dict:
    """``days`` (calendar), ``diary_days`` (at least one entry) and their ratio, for start..end inclusive.

    ``part``: ``daily`` already cut to start..end (``in_period``), when the caller has it.
    """
    days = (day(end) - day(start)).days + 1
    if days <= 0:
        return {"days": 0, "diary_days": 0, "completeness": None}
    part = in_period(daily, start, end) if part is None else part
    diary_days = int(part["diary_date"].nunique())
    return {"days": days, "diary_days": diary_days, "completeness": diary_days / days}


def completeness_last_days(daily: pd.DataFrame, as_of: date, days: int = 30) -> dict:
    """Completeness of the ``days`` calendar days ending on ``as_of`` (the review's recent picture)."""
    end = day(as_of)
    start = end - pd.Timedelta(days=days - 1)
    return {"start": start, "end": end, **completeness(daily, start, end)}


def weekly_completeness(daily: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Diary days per 7-day block counted back from ``as_of``, from the first diary day on.

    Blocks end on the as-of date so the latest block is always a full week; the first
    block may start before the first entry and is clipped to it.
    """
    columns = ["week_start", "week_end", "days", "diary_days", "completeness"]
    if daily.empty:
        dtypes = ["datetime64[ns]", "datetime64[ns]", "int64", "int64", "float64"]
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(columns, dtypes)})
    end, first = day(as_of), day(daily["diary_date"].min())
    rows = []
    while end >= first:
        start = max(first, end - pd.Timedelta(days=6))
        rows.append({"week_start": start, "week_end": end, **completeness(daily, start, end)})
        end = end - pd.Timedelta(days=7)
    frame = pd.DataFrame(rows[::-1], columns=columns)
    return frame.astype({"week_start": "datetime64[ns]", "week_end": "datetime64[ns]", "completeness": "float64"})
