"""The review's frames for its charts and tables: daily values with the 7-day pain and the
prescribed maximum, side effects by step with their labels, side-effect days (long), the
patient's notes; and ``mg_per_day``, a step's dose as the page names it.
"""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from dashboard.analysis.adherence import schedule, troche_steps
from dashboard.analysis.daily import day, rolling_means, rolling_pain


def labelled_by_step(table: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """Name each step by dose and start, so two steps of the same dose stay apart."""
    table = table.merge(steps_tbl[["step_id", "dose_mg", "daily_dose_mg"]], on="step_id", how="left")
    # Built row by row: on an empty table (no side effect on any step) the vectorised
    # float + str would fail, and the review must still open.
    label = [f"{mg_per_day(daily, dose)} from {start:%d %b %Y}"
             for dose, daily, start in zip(table["dose_mg"], table["daily_dose_mg"], table["start"])]
    return table.assign(step_label=pd.Series(label, index=table.index, dtype="str"))


def mg_per_day(daily_dose_mg, dose_mg) -> str:
    """'50 mg/day', or the dose of one administration when the schedule gives no daily amount."""
    return f"{dose_mg:g} mg" if pd.isna(daily_dose_mg) else f"{daily_dose_mg:g} mg/day"


def prescribed_maximum(steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """The most troche mg one day's prescription holds, per calendar day of a troche step.

    Daily 1 x dose, twice daily 2 x dose, as needed max_per_day x dose. A weekly allowance
    (every other day, N per week) spread over its 7 days: ceil(N / 7) x dose, so a dose day
    shows its dose and the weekly limit stays the over_prescribed flag's. NaN where the step
    sets no maximum (as needed without one, an unknown frequency): nothing to be above.
    """
    parts = []
    for step in troche_steps(steps_tbl).itertuples(index=False):
        sched = schedule(step.frequency, step.max_per_day)
        if sched is None or sched.max_doses is None:
            doses = float("nan")
        else:
            doses = sched.max_doses if sched.window_days == 1 else math.ceil(sched.max_doses / sched.window_days)
        dates = pd.date_range(step.start, step.end, freq="D").astype("datetime64[ns]")
        parts.append(pd.DataFrame({"diary_date": dates, "dose_prescribed_mg": doses * step.dose_mg}))
    if not parts:
        return pd.DataFrame({"diary_date": pd.Series(dtype="datetime64[ns]"),
                             "dose_prescribed_mg": pd.Series(dtype="float64")})
    # Steps of one route never overlap (steps_table ends each the day before the next).
    return pd.concat(parts, ignore_index=True).astype({"dose_prescribed_mg": "float64"})


def chart_daily(daily: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """Daily values with the 7-day mean pain and the day's prescribed troche maximum (mg).

    The timeline draws a dose taken above ``dose_prescribed_mg`` as above prescription, so it
    is a maximum (``prescribed_maximum``), not the mean expected a day: on an every-other-day
    step an expected 25 mg a day would paint every 50 mg dose red.
    """
    rolling = rolling_pain(daily)[["diary_date", "pain_rolling"]].rename(columns={"pain_rolling": "pain_7d"})
    daily = rolling_means(daily, columns=("sleep", "mood", "function"), window=7)
    return daily.merge(rolling, on="diary_date", how="left").merge(
        prescribed_maximum(steps_tbl), on="diary_date", how="left")


def long_severity(severity: pd.DataFrame) -> pd.DataFrame:
    """Dates x effects (wide) to diary_date, effect, severity rows; unrecorded days left out."""
    if severity.empty:
        return pd.DataFrame({"diary_date": pd.Series(dtype="datetime64[ns]"), "effect": pd.Series(dtype="str"),
                             "severity": pd.Series(dtype="float64")})
    long = severity.rename_axis(index="diary_date", columns="effect").stack().rename("severity").reset_index()
    return long.dropna(subset=["severity"]).reset_index(drop=True)


def patient_notes(diary: pd.DataFrame, as_of: date, since: date | None = None, search: str = "") -> pd.DataFrame:
    """The patient's own words, newest first; ``search`` matches case-insensitively as plain text."""
    cols = ["recorded_at", "diary_date", "notes", "other_medication"]
    notes = diary.loc[diary["notes"].notna() | diary["other_medication"].notna(), cols]
    notes = notes[notes["diary_date"] <= day(as_of)]
    if since is not None:
        notes = notes[notes["diary_date"] >= day(since)]
    if search:
        needle = search.casefold()
        hit = notes["notes"].fillna("").str.casefold().str.contains(needle, regex=False)
        hit |= notes["other_medication"].fillna("").str.casefold().str.contains(needle, regex=False)
        notes = notes[hit]
    return notes.sort_values("recorded_at", ascending=False).reset_index(drop=True)
