"""Response to a titration step, and the lowest effective dose.

Ketamine's analgesic effect builds over 2-4 weeks (ASRA/AAPM/ASA consensus guidelines on
ketamine for chronic pain, Cohen et al. 2018, Reg Anesth Pain Med 43:521-546), so a step
is judged on its response window: the step without its first ``onset_days``. Responder
categories: Farrar et al. 2001 (Pain 94:149-158); IMMPACT, Dworkin et al. 2008 (J Pain
9:105-121).
"""

from __future__ import annotations

import math

import pandas as pd
from scipy import stats

from dashboard.analysis.adherence import HOME_ROUTE, route_key
from dashboard.analysis.daily import as_object, in_period
from dashboard.analysis.periods import change_from_baseline, reaches, responder_category
from dashboard.config import Thresholds

LOWEST_DOSE_NOTE = "A pointer for the clinician's judgement, never a prescription."
RESPONSE_COLUMNS = [
    "step_id", "start", "end", "dose_mg", "frequency", "route", "window_start", "window_end", "early",
    "response_pain", "response_diary_days", "response_pain_days", "ci_low", "ci_high",
    "response_change", "response_change_pct", "responder",
]


def response_window(start, end, thresholds: Thresholds) -> tuple[pd.Timestamp, pd.Timestamp, bool]:
    """(window start, window end, early).

    The step minus its first ``onset_days``; if fewer than ``min_response_days`` remain,
    the step's last ``min_response_days`` days (or the whole step if shorter) and ``early``.
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    window_start = start + pd.Timedelta(days=thresholds.onset_days)
    if (end - window_start).days + 1 >= thresholds.min_response_days:
        return window_start, end, False
    return max(start, end - pd.Timedelta(days=thresholds.min_response_days - 1)), end, True


def t_interval(values, confidence: float = 0.95) -> tuple[float, float] | None:
    """Two-sided t confidence interval of the mean of daily values; None with fewer than 2 values.

    mean +/- t(1 - alpha/2, n - 1) * s / sqrt(n), s the sample standard deviation: daily
    values are few and their spread unknown, hence Student's t rather than the normal.
    """
    values = pd.Series(values, dtype="float64").dropna()
    n = len(values)
    if n < 2:
        return None
    mean = float(values.mean())
    half = float(stats.t.ppf((1 + confidence) / 2, n - 1)) * float(values.std(ddof=1)) / math.sqrt(n)
    return mean - half, mean + half


def step_response(daily: pd.DataFrame, step, baseline_pain: float | None, thresholds: Thresholds) -> dict:
    """The response of one step (a row of ``steps_table``)."""
    window_start, window_end, early = response_window(step.start, step.end, thresholds)
    window = in_period(daily, window_start, window_end)
    pain = window["pain"].dropna()
    response_pain = float(pain.mean()) if len(pain) else None
    ci = t_interval(pain)
    points, pct = change_from_baseline(response_pain, baseline_pain)
    return {
        "step_id": step.step_id, "start": step.start, "end": step.end, "dose_mg": step.dose_mg,
        "frequency": step.frequency, "route": step.route, "window_start": window_start, "window_end": window_end,
        "early": early, "response_pain": response_pain, "response_diary_days": int(window["diary_date"].nunique()),
        "response_pain_days": len(pain), "ci_low": ci[0] if ci else None, "ci_high": ci[1] if ci else None,
        "response_change": points, "response_change_pct": pct, "responder": responder_category(pct, thresholds),
    }


def step_response_table(daily: pd.DataFrame, steps_tbl: pd.DataFrame, baseline_pain: float | None,
                        thresholds: Thresholds) -> pd.DataFrame:
    """One row per step of ``steps_table``: its response window, pain, 95 % CI and responder category."""
    rows = [step_response(daily, step, baseline_pain, thresholds) for step in steps_tbl.itertuples(index=False)]
    table = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    table["responder"] = as_object(table["responder"])
    floats = ["dose_mg", "response_pain", "ci_low", "ci_high", "response_change", "response_change_pct"]
    return table.astype({
        "start": "datetime64[ns]", "end": "datetime64[ns]", "window_start": "datetime64[ns]",
        "window_end": "datetime64[ns]", "early": "bool", "response_diary_days": "int64", "response_pain_days": "int64",
        **{c: "float64" for c in floats},
    })


def lowest_effective_dose(step_response_tbl: pd.DataFrame, step_side_effects: pd.DataFrame,
                          thresholds: Thresholds) -> dict | None:
    """The lowest-dose troche step whose response reaches ``effective_category`` while no side
    effect was severe (3) on more than ``severe_share_max_pct`` % of its diary days.

    A pointer for the clinician's judgement, never a prescription. Troche steps only: mg of
    different routes are not comparable (bioavailability differs). Ties go to the earliest step.
    ``step_side_effects`` is ``side_effects.side_effects_by_step``.
    """
    severe_pct = (100 * step_side_effects["severe_days"] / step_side_effects["diary_days"]).round(9)
    too_severe = set(step_side_effects.loc[severe_pct > thresholds.severe_share_max_pct, "step_id"])
    candidates = step_response_tbl[
        (route_key(step_response_tbl["route"]) == HOME_ROUTE)
        & step_response_tbl["responder"].map(lambda r: reaches(r, thresholds.effective_category)).astype(bool)
        & ~step_response_tbl["step_id"].isin(list(too_severe))
    ]
    if candidates.empty:
        return None
    best = candidates.sort_values(["dose_mg", "start"]).iloc[0]
    return {"dose_mg": float(best["dose_mg"]), "step_start": best["start"], "step_id": best["step_id"],
            "responder": best["responder"], "note": LOWEST_DOSE_NOTE}
