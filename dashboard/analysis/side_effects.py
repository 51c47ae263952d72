"""Side effects per day, per period and per titration step.

Severity is graded 0-3 (none, mild, moderate, severe), after the CTCAE grades 0-3
(NCI Common Terminology Criteria for Adverse Events v5.0). A day's severity for an effect
is the highest any of its entries reported; a day with no record of an effect is missing,
not 0, so an effect appears in a period only if it was recorded there.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashboard.analysis.daily import day, in_period
from dashboard.fields import SIDE_EFFECTS

SEVERE = 3
BY_STEP_COLUMNS = [
    "step_id", "start", "end", "effect", "diary_days", "days_reported", "share_of_days", "max_severity",
    "severe_days", "severe_share_of_days",
]


def daily_side_effect_severity(side_effects: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Heatmap-ready: index ``diary_date``, one column per effect, the day's highest severity (NaN = not recorded).

    The standard effects always have a column, in the diary's order, so a chart keeps
    its rows stable; effects from other apps follow alphabetically.
    """
    kept = side_effects[side_effects["diary_date"] <= day(as_of)]
    wide = kept.groupby(["diary_date", "effect"])["severity"].max().unstack("effect")
    others = sorted(set(wide.columns) - set(SIDE_EFFECTS))
    wide = wide.reindex(columns=[*SIDE_EFFECTS, *others]).astype("float64")
    wide.index = pd.DatetimeIndex(wide.index, name="diary_date").astype("datetime64[ns]")
    wide.columns.name = "effect"
    return wide


def _counts(severity: pd.DataFrame, start, end) -> tuple[list, np.ndarray, np.ndarray, np.ndarray]:
    """Effects recorded in start..end with their days reported (>= 1), severe days (3) and highest severity."""
    index, low, high = severity.index.to_numpy(), day(start).to_datetime64(), day(end).to_datetime64()
    if severity.index.is_monotonic_increasing:  # as daily_side_effect_severity gives it: cut by binary search
        inside = slice(index.searchsorted(low, "left"), index.searchsorted(high, "right"))
    else:
        inside = (index >= low) & (index <= high)
    part = severity.to_numpy(dtype="float64")[inside]
    recorded = ~np.isnan(part).all(axis=0) if len(part) else np.zeros(part.shape[1], dtype=bool)
    part = part[:, recorded]
    with np.errstate(invalid="ignore"):
        reported, severe = (part >= 1).sum(axis=0), (part >= SEVERE).sum(axis=0)
    worst = np.nanmax(part, axis=0) if part.size else np.zeros(0)
    return list(severity.columns[recorded]), reported, severe, worst


def effect_counts(severity: pd.DataFrame, start, end) -> pd.DataFrame:
    """Per effect recorded in start..end: ``days_reported`` (severity >= 1), ``severe_days`` (3), ``max_severity``."""
    effects, reported, severe, worst = _counts(severity, start, end)
    return pd.DataFrame(
        {"days_reported": reported.astype("int64"), "severe_days": severe.astype("int64"),
         "max_severity": worst.astype("int64")},
        index=pd.Index(effects, name="effect", dtype="object"),
    )


def period_side_effects(severity: pd.DataFrame, start, end, diary_days: int) -> dict:
    """``{effect: {share_of_days, max_severity, severe_share_of_days}}`` for start..end.

    Shares are of the period's diary days (days with any entry); reported means severity >= 1.
    Read from arrays, not a frame: the review asks this for every step and visit interval.
    """
    if diary_days == 0:
        return {}
    effects, reported, severe, worst = _counts(severity, start, end)
    return {
        effect: {"share_of_days": int(r) / diary_days, "max_severity": int(w),
                 "severe_share_of_days": int(s) / diary_days}
        for effect, r, s, w in zip(effects, reported, severe, worst)
    }


def side_effects_by_step(severity: pd.DataFrame, daily: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """One row per step and recorded effect: days reported, share of diary days, highest severity, severe days."""
    rows = []
    for step in steps_tbl.itertuples(index=False):
        diary_days = int(in_period(daily, step.start, step.end)["diary_date"].nunique())
        for effect, row in effect_counts(severity, step.start, step.end).iterrows():
            rows.append({
                "step_id": step.step_id, "start": step.start, "end": step.end, "effect": effect,
                "diary_days": diary_days,
                "days_reported": int(row.days_reported),
                "share_of_days": row.days_reported / diary_days,
                "max_severity": int(row.max_severity),
                "severe_days": int(row.severe_days),
                "severe_share_of_days": row.severe_days / diary_days,
            })
    frame = pd.DataFrame(rows, columns=BY_STEP_COLUMNS)
    return frame.astype({"start": "datetime64[ns]", "end": "datetime64[ns]", "share_of_days": "float64",
                         "severe_share_of_days": "float64"})
