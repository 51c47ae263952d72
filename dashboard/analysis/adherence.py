"""Doses taken against doses prescribed, and the day's prescribed maximum.

The diary's ``dose_mg`` is the ketamine troche dose taken with an entry
(import-formats.md), so only troche steps are compared with it; IV/IM steps are
in-clinic sessions. Taking more than prescribed is a misuse signal the FDA's 2023
compounded-ketamine warning and the ASRA/AAPM/ASA consensus (Cohen et al. 2018, Reg
Anesth Pain Med 43:521) ask prescribers to watch.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboard.analysis.daily import day, in_period
# The daily dose of a step is one rule for analysis and the prescription checks: kept among the shared rules.
from dashboard.clinic_rules import Schedule, daily_dose, schedule  # noqa: F401  (re-exported)

HOME_ROUTE = "troche"
# Floating-point sums of decimal doses (12.5 + 12.5 + ...) must not tip a comparison.
TOLERANCE = 1e-9
PRESCRIPTION_COLUMNS = ["date", "step_id", "doses_prescribed", "mg_prescribed"]
OVER_COLUMNS = ["diary_date", "step_id", "dose_mg", "frequency", "window_days", "taken_mg", "max_mg", "over"]


def route_key(routes: pd.Series) -> pd.Series:
    """Routes compared case- and space-insensitively ('Troche ' is 'troche')."""
    return routes.astype("str").str.strip().str.lower()


def troche_steps(steps_tbl: pd.DataFrame) -> pd.DataFrame:
    return steps_tbl[route_key(steps_tbl["route"]) == HOME_ROUTE]


def daily_prescription(steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """One row per calendar day covered by a troche step: expected doses and mg (NaN when no count)."""
    parts = []
    for step in troche_steps(steps_tbl).itertuples(index=False):
        sched = schedule(step.frequency, step.max_per_day)
        rate = sched.doses_per_day if sched and sched.doses_per_day is not None else float("nan")
        dates = pd.date_range(step.start, step.end, freq="D").astype("datetime64[ns]")
        parts.append(pd.DataFrame({"date": dates, "step_id": step.step_id, "doses_prescribed": rate,
                                   "mg_prescribed": rate * step.dose_mg}))
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            PRESCRIPTION_COLUMNS, ["datetime64[ns]", "object", "float64", "float64"])})
    return pd.concat(parts, ignore_index=True)[PRESCRIPTION_COLUMNS]


def period_adherence(daily: pd.DataFrame, prescription: pd.DataFrame, start, end, step_id=None, *,
                     part: pd.DataFrame | None = None) -> dict:
    """Doses and mg taken against prescribed in start..end, with percentages.

    Taken counts what the diary recorded (``doses_taken`` counts entries with a dose, so
    an entry summing several troches counts once: mg is the firmer figure); None when no
    entry recorded a dose. Prescribed is None when no day was covered by a troche step or
    a covered day's frequency allows no count ('as needed'). Days without a diary entry
    count as prescribed, so read adherence beside completeness.
    """
    part = in_period(daily, start, end) if part is None else part  # ``part``: daily already cut to the period
    presc = in_period(prescription, start, end, column="date")
    if step_id is not None:
        presc = presc[presc["step_id"] == step_id]
    # Summed as arrays (the review asks this for every step and visit interval), NaN as 0 as
    # pandas' own sum does, so the totals are the same to the last bit.
    prescribed_doses = presc["doses_prescribed"].to_numpy(dtype="float64")
    countable = len(prescribed_doses) > 0 and not np.isnan(prescribed_doses).any()
    result = {
        "doses_taken": _total(part["doses_taken"]),
        "doses_prescribed": float(prescribed_doses.sum()) if countable else None,
        "mg_taken": _total(part["dose_taken_mg"]),
        "mg_prescribed": float(presc["mg_prescribed"].to_numpy(dtype="float64").sum()) if countable else None,
    }
    result["doses_pct"] = _pct(result["doses_taken"], result["doses_prescribed"])
    result["mg_pct"] = _pct(result["mg_taken"], result["mg_prescribed"])
    return result


def _total(values: pd.Series) -> float | None:
    """The sum of the recorded values; None when none was recorded."""
    values = values.to_numpy(dtype="float64")
    missing = np.isnan(values)
    return None if missing.all() else float(np.where(missing, 0.0, values).sum())


def _pct(taken: float | None, prescribed: float | None) -> float | None:
    if taken is None or not prescribed:
        return None
    return 100 * taken / prescribed


def over_prescribed_days(daily: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """Each diary day with a recorded dose inside a troche step, against the step's maximum.

    Daily maximum: daily = 1 x dose, twice daily = 2 x dose, as needed = max_per_day x dose.
    Every other day and N per week are judged on the 7-day total ending that day (days of
    the same step only) against 4 x dose (ceil(7/2)) or N x dose. Steps with an unknown
    frequency, or 'as needed' without a maximum, are left out: nothing to compare with.
    """
    parts = []
    for step in troche_steps(steps_tbl).itertuples(index=False):
        sched = schedule(step.frequency, step.max_per_day)
        if sched is None or sched.max_doses is None:
            continue
        doses = in_period(daily, step.start, step.end).set_index("diary_date")["dose_taken_mg"].dropna()
        taken = _window_totals(doses, step.start, step.end, sched.window_days)
        max_mg = sched.max_doses * step.dose_mg
        parts.append(pd.DataFrame({
            "diary_date": doses.index, "step_id": step.step_id, "dose_mg": step.dose_mg, "frequency": step.frequency,
            "window_days": sched.window_days, "taken_mg": taken.to_numpy(), "max_mg": max_mg,
            "over": taken.to_numpy() > max_mg + TOLERANCE,
        }))
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(OVER_COLUMNS, [
            "datetime64[ns]", "object", "float64", "object", "int64", "float64", "float64", "bool"])})
    frame = pd.concat(parts, ignore_index=True)[OVER_COLUMNS]
    return frame.astype({"diary_date": "datetime64[ns]", "window_days": "int64"})


def _window_totals(doses: pd.Series, start, end, window_days: int) -> pd.Series:
    if window_days == 1:
        return doses
    calendar = doses.reindex(pd.date_range(day(start), day(end), freq="D").astype("datetime64[ns]"), fill_value=0.0)
    return calendar.rolling(window_days, min_periods=1).sum().loc[doses.index]
