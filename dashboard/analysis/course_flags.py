"""The course-of-treatment flag rules: pain spikes, low mood, diary gaps and a dose raised without
benefit (review-metrics.md, "Flags"). Each daily rule's flags are runs (``flag_rules``).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.adherence import route_key
from dashboard.analysis.daily import day
from dashboard.analysis.flag_rules import _days, _frame, _n, _run_flags
from dashboard.config import Thresholds


TOLERANCE = 1e-9


SPIKE_REFERENCE_DAYS = 7  # diary days with pain the spike is measured against
SPIKE_LOOKBACK_DAYS = 14  # ... found within this many calendar days before the day
SPIKE_MIN_REFERENCE_DAYS = 3


def spike_reference(daily: pd.DataFrame) -> pd.DataFrame:
    """Per diary day with pain: the mean daily pain of the previous 7 diary days with pain found
    within the previous 14 calendar days, and how many there were (review-metrics.md v2).

    One bad day after one good day is ordinary variation; a day well above the patient's
    recent week is worth a look.
    """
    days = daily.dropna(subset=["pain"])[["diary_date", "pain"]].reset_index(drop=True)
    total = pd.Series(0.0, index=days.index)
    count = pd.Series(0, index=days.index)
    for k in range(1, SPIKE_REFERENCE_DAYS + 1):
        within = (days["diary_date"] - days["diary_date"].shift(k)).dt.days <= SPIKE_LOOKBACK_DAYS
        total += days["pain"].shift(k).where(within, 0.0).fillna(0.0)
        count += within.astype("int64")
    return days.assign(reference=(total / count).where(count > 0), reference_days=count)


def pain_spike(daily: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Daily pain ``pain_spike_points`` or more above the mean of the previous 7 diary days with
    pain within 14 calendar days (at least 3 of them); consecutive spike days are one run."""
    days = spike_reference(daily)
    fired = ((days["reference_days"] >= SPIKE_MIN_REFERENCE_DAYS)
             & ((days["pain"] - days["reference"]).round(9) >= thresholds.pain_spike_points))
    return _run_flags("pain_spike", days, fired, "diary_date", lambda run: (
        f"pain {_n(run['pain'].max())} at most, up to +{_n((run['pain'] - run['reference']).max())} over the "
        f"previous week's mean, on {_days(len(run))}"))


def low_mood(daily: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Mood <= ``low_mood_max`` on ``low_mood_days`` consecutive diary days with mood recorded."""
    days = daily.dropna(subset=["mood"])[["diary_date", "mood"]].reset_index(drop=True)
    fired = days["mood"] <= thresholds.low_mood_max + TOLERANCE
    return _run_flags("low_mood", days, fired, "diary_date", lambda run: (
        f"mood <= {_n(thresholds.low_mood_max)} on {len(run)} consecutive diary days "
        f"({', '.join(_n(m) for m in run['mood'])})"), min_length=thresholds.low_mood_days)


def diary_gap(daily: pd.DataFrame, as_of: date, thresholds: Thresholds,
              period_start: pd.Timestamp | None = None) -> pd.DataFrame:
    """``diary_gap_days`` or more days without an entry, counted from the first entry on or after
    ``period_start`` (the review period's start; None: the first entry), dated from the first to
    the last day without one (a gap still open on the as-of date ends there).

    v3: a lone reading years before the diary (a 1999 blood pressure in a FHIR file) is outside the
    review period and starts no gap; a gap's start is never after its end."""
    kept = daily["diary_date"]
    if period_start is not None:
        kept = kept[kept >= day(period_start)]
    kept = kept[kept <= day(as_of)]
    dates = list(kept) + ([day(as_of) + pd.Timedelta(days=1)] if len(kept) else [])
    rows = []
    for before, after in zip(dates, dates[1:]):
        missing = (after - before).days - 1
        if missing >= thresholds.diary_gap_days:
            rows.append({"rule": "diary_gap", "start": before + pd.Timedelta(days=1),
                         "end": after - pd.Timedelta(days=1), "detail": f"{missing} days without an entry"})
    return _frame(rows)


def no_benefit_escalation(step_response_tbl: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """A troche step raised the daily dose (mg/day) over the previous troche step, neither step is
    early, and its response pain is not at least ``escalation_min_benefit_points`` below the
    previous step's. An early step is "too early to judge", not a flag. Dated by the step."""
    steps = step_response_tbl[route_key(step_response_tbl["route"]) == "troche"].sort_values("start")
    rows = []
    for prev, step in zip(steps.iloc[:-1].itertuples(), steps.iloc[1:].itertuples()):
        if pd.isna(step.daily_dose_mg) or pd.isna(prev.daily_dose_mg) or step.daily_dose_mg <= prev.daily_dose_mg:
            continue
        if step.early or prev.early or pd.isna(step.response_pain) or pd.isna(prev.response_pain):
            continue
        benefit = round(prev.response_pain - step.response_pain, 9)
        if benefit < thresholds.escalation_min_benefit_points:
            rows.append({"rule": "no_benefit_escalation", "start": step.start, "end": step.end, "detail": (
                f"{_n(prev.daily_dose_mg)} -> {_n(step.daily_dose_mg)} mg/day; response pain "
                f"{_n(step.response_pain)} vs {_n(prev.response_pain)} before ({_n(-benefit):s} points; needs a "
                f"drop of {_n(thresholds.escalation_min_benefit_points)})")})
    return _frame(rows)
