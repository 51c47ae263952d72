"""The recent picture of a patient: the figures the worklist shows beside the review's.

The review computes these from the daily frame (``build_review``); the worklist computes the
same definitions by aggregation in the database (``db.worklist_queries``), and a test holds
the two to the same numbers for every demo patient.

- Mean pain over the 14 calendar days ending on the as-of date, against the 14 days before:
  each a mean of daily pain (a day's pain is the mean of its entries, review-metrics.md "Days").
- Days since the last diary entry and since the last blood-pressure reading (on the as-of date: 0).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.daily import day, in_period

RECENT_DAYS = 14


@dataclass(frozen=True)
class RecentActivity:
    mean_pain_14d: float | None
    mean_pain_prev_14d: float | None
    last_entry: pd.Timestamp | None
    days_since_last_entry: int | None
    last_bp: pd.Timestamp | None
    days_since_last_bp: int | None

    @property
    def pain_change(self) -> float | None:
        if self.mean_pain_14d is None or self.mean_pain_prev_14d is None:
            return None
        return self.mean_pain_14d - self.mean_pain_prev_14d

    @property
    def direction(self) -> str | None:
        """'lower', 'higher' or 'unchanged' at the one decimal shown; None without both means."""
        return pain_direction(self.pain_change)

    def json(self) -> dict:
        return {"mean_pain_14d": self.mean_pain_14d, "mean_pain_prev_14d": self.mean_pain_prev_14d,
                "direction": self.direction, "last_entry": self.last_entry,
                "days_since_last_entry": self.days_since_last_entry, "last_bp": self.last_bp,
                "days_since_last_bp": self.days_since_last_bp}


def pain_direction(change: float | None) -> str | None:
    """The sign of a change as shown (one decimal), so '−0.0' never reads as 'lower'."""
    if change is None or pd.isna(change):
        return None
    shown = round(float(change), 1)
    return "lower" if shown < 0 else "higher" if shown > 0 else "unchanged"


def recent_windows(as_of: date) -> tuple[pd.Timestamp, pd.Timestamp, pd.Timestamp]:
    """(start of the previous 14 days, start of the last 14 days, as-of day)."""
    end = day(as_of)
    return end - pd.Timedelta(days=2 * RECENT_DAYS - 1), end - pd.Timedelta(days=RECENT_DAYS - 1), end


def days_between(earlier, as_of: date) -> int | None:
    return None if earlier is None or pd.isna(earlier) else int((day(as_of) - day(earlier)).days)


def recent_activity(daily: pd.DataFrame, as_of: date) -> RecentActivity:
    """From ``daily_values`` (one row per diary day up to the as-of date)."""
    prev_start, last_start, end = recent_windows(as_of)
    last = _mean(in_period(daily, last_start, end)["pain"])
    prev = _mean(in_period(daily, prev_start, last_start - pd.Timedelta(days=1))["pain"])
    kept = daily[daily["diary_date"] <= end]
    last_entry = kept["diary_date"].max() if len(kept) else None
    bp = kept.dropna(subset=["bp_systolic", "bp_diastolic"], how="all")
    last_bp = bp["diary_date"].max() if len(bp) else None
    return RecentActivity(mean_pain_14d=last, mean_pain_prev_14d=prev,
                          last_entry=None if last_entry is None else day(last_entry),
                          days_since_last_entry=days_between(last_entry, as_of),
                          last_bp=None if last_bp is None else day(last_bp),
                          days_since_last_bp=days_between(last_bp, as_of))


def _mean(values: pd.Series) -> float | None:
    mean = values.mean()
    return None if pd.isna(mean) else float(mean)
