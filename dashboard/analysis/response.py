"""Response to a titration step, and the lowest effective dose.

Ketamine's analgesic effect builds over 2-4 weeks (ASRA/AAPM/ASA consensus guidelines on
ketamine for chronic pain, Cohen et al. 2018, Reg Anesth Pain Med 43:521-546), so a step
is judged on its response window: the step without its first ``onset_days``. Responder
categories: Farrar et al. 2001 (Pain 94:149-158); IMMPACT, Dworkin et al. 2008 (J Pain
9:105-121).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd
from scipy import stats

from dashboard.analysis.adherence import HOME_ROUTE, route_key
from dashboard.analysis.daily import as_object, in_period
from dashboard.analysis.periods import change_from_baseline, reaches, responder_category
from dashboard.config import Thresholds

LOWEST_DOSE_NOTE = "A pointer for the clinician's judgement, never a prescription."
RESPONSE_COLUMNS = [
    "step_id", "start", "end", "dose_mg", "daily_dose_mg", "frequency", "route", "window_start", "window_end", "early",
    "response_pain", "response_diary_days", "response_pain_days", "response_sd", "response_r1", "response_n_eff",
    "ci_low", "ci_high", "response_change", "response_change_pct", "responder",
    "previous_step_id", "vs_difference", "vs_ci_low", "vs_ci_high", "verdict",
]
_DECIMALS = 9


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


@dataclass(frozen=True)
class WindowStats:
    """Daily pain of a response window: mean, spread, lag-1 autocorrelation, effective days, 95 % CI."""

    n: int
    mean: float | None
    sd: float | None
    r1: float | None
    n_eff: float | None
    ci: tuple[float, float] | None


MIN_DAYS_FOR_R1 = 10
MAX_R1 = 0.9


def lag1_autocorrelation(values) -> float:
    """r = sum (x_i - m)(x_i+1 - m) / sum (x_i - m)^2 over values in date order (review-metrics.md v2).

    Taken as 0 with fewer than 10 values or a negative r (a negative estimate from a short
    series is noise, and would only widen n_eff past n), and capped at 0.9.
    """
    x = pd.Series(values, dtype="float64").dropna().to_numpy()
    if len(x) < MIN_DAYS_FOR_R1:
        return 0.0
    dev = x - x.mean()
    denominator = float((dev ** 2).sum())
    if denominator == 0:
        return 0.0
    r = float((dev[:-1] * dev[1:]).sum()) / denominator
    return min(max(r, 0.0), MAX_R1)


def window_stats(values, confidence: float = 0.95) -> WindowStats:
    """Mean daily pain with an interval that respects that days are not independent.

    Today's pain resembles yesterday's, so n days carry less information than n independent
    readings: n_eff = n (1 - r) / (1 + r), and the interval is m +/- t(n_eff - 1) s / sqrt(n_eff)
    (Student's t with non-integer degrees of freedom); missing when n_eff < 2.
    """
    x = pd.Series(values, dtype="float64").dropna()
    n = len(x)
    if n == 0:
        return WindowStats(0, None, None, None, None, None)
    mean = float(x.mean())
    sd = float(x.std(ddof=1)) if n > 1 else None
    r1 = lag1_autocorrelation(x)
    n_eff = n * (1 - r1) / (1 + r1)
    ci = None
    if n_eff >= 2 and sd is not None:
        half = float(stats.t.ppf((1 + confidence) / 2, n_eff - 1)) * sd / math.sqrt(n_eff)
        ci = (mean - half, mean + half)
    return WindowStats(n, mean, sd, r1, n_eff, ci)


def t_interval(values, confidence: float = 0.95) -> tuple[float, float] | None:
    """The window's 95 % interval (``window_stats``); None when it cannot be given."""
    return window_stats(values, confidence).ci


BETTER, WORSE, UNCLEAR, TOO_EARLY, TOO_FEW = (
    "better", "worse", "no clear difference", "too early to judge", "too few days")


@dataclass(frozen=True)
class StepComparison:
    """A step against the previous troche step: "did the last step work?" (review-metrics.md v2)."""

    difference: float | None  # response pain minus the previous step's; negative is less pain
    ci: tuple[float, float] | None
    verdict: str


def welch_interval(current: WindowStats, previous: WindowStats,
                   confidence: float = 0.95) -> tuple[float, float] | None:
    """95 % Welch interval of current.mean - previous.mean built on each window's s and n_eff.

    SE = sqrt(s1^2/n_eff1 + s2^2/n_eff2); Welch-Satterthwaite degrees of freedom with n_eff - 1
    per window. None when either window has n_eff < 2.
    """
    if any(w.n_eff is None or w.n_eff < 2 or w.sd is None for w in (current, previous)):
        return None
    d = current.mean - previous.mean
    v1, v2 = current.sd ** 2 / current.n_eff, previous.sd ** 2 / previous.n_eff
    se = math.sqrt(v1 + v2)
    if se == 0:  # both windows constant: the difference is known exactly
        return d, d
    df = (v1 + v2) ** 2 / (v1 ** 2 / (current.n_eff - 1) + v2 ** 2 / (previous.n_eff - 1))
    half = float(stats.t.ppf((1 + confidence) / 2, df)) * se
    return d - half, d + half


def compare_steps(current: WindowStats, previous: WindowStats, *, current_early: bool,
                  previous_early: bool) -> StepComparison:
    """In this precedence (review-metrics.md v3, "Is it a fair test?"): too early to judge when
    either step is early, whatever n_eff (the difference and any interval are still given); too
    few days when an interval cannot be built (n_eff < 2 in either window); otherwise better /
    worse when the interval lies wholly below / above 0, else no clear difference."""
    difference = None if current.mean is None or previous.mean is None else current.mean - previous.mean
    ci = welch_interval(current, previous)
    if ci is not None:
        ci = (round(ci[0], _DECIMALS), round(ci[1], _DECIMALS))
    if current_early or previous_early:
        return StepComparison(difference, ci, TOO_EARLY)
    if ci is None:
        return StepComparison(difference, None, TOO_FEW)
    if ci[1] < 0:
        return StepComparison(difference, ci, BETTER)
    if ci[0] > 0:
        return StepComparison(difference, ci, WORSE)
    return StepComparison(difference, ci, UNCLEAR)


def step_response(daily: pd.DataFrame, step, baseline_pain: float | None, thresholds: Thresholds) -> dict:
    """The response of one step (a row of ``steps_table``), with its window's statistics."""
    window_start, window_end, early = response_window(step.start, step.end, thresholds)
    window = in_period(daily, window_start, window_end).sort_values("diary_date")
    pain = window["pain"].dropna()
    w = window_stats(pain)
    points, pct = change_from_baseline(w.mean, baseline_pain)
    return {
        "step_id": step.step_id, "start": step.start, "end": step.end, "dose_mg": step.dose_mg,
        "daily_dose_mg": step.daily_dose_mg, "frequency": step.frequency, "route": step.route,
        "window_start": window_start, "window_end": window_end,
        "early": early, "response_pain": w.mean, "response_diary_days": int(window["diary_date"].nunique()),
        "response_pain_days": w.n, "response_sd": w.sd, "response_r1": w.r1, "response_n_eff": w.n_eff,
        "ci_low": w.ci[0] if w.ci else None, "ci_high": w.ci[1] if w.ci else None,
        "response_change": points, "response_change_pct": pct, "responder": responder_category(pct, thresholds),
        "_stats": w,
    }


def _vs_previous(rows: list[dict]) -> None:
    """Each troche step against the troche step before it; other routes are not compared (mg
    of different routes are not comparable)."""
    previous = None
    for row in sorted(rows, key=lambda r: r["start"]):
        row.update({"previous_step_id": None, "vs_difference": None, "vs_ci_low": None, "vs_ci_high": None,
                    "verdict": None})
        if str(row["route"]).strip().lower() != HOME_ROUTE:
            continue
        if previous is not None:
            comparison = compare_steps(row["_stats"], previous["_stats"], current_early=row["early"],
                                       previous_early=previous["early"])
            row.update({"previous_step_id": previous["step_id"], "vs_difference": comparison.difference,
                        "vs_ci_low": comparison.ci[0] if comparison.ci else None,
                        "vs_ci_high": comparison.ci[1] if comparison.ci else None, "verdict": comparison.verdict})
        previous = row


def step_response_table(daily: pd.DataFrame, steps_tbl: pd.DataFrame, baseline_pain: float | None,
                        thresholds: Thresholds) -> pd.DataFrame:
    """One row per step of ``steps_table``: its response window, pain, 95 % CI, responder category
    and, for troche steps after the first, the comparison with the previous troche step."""
    rows = [step_response(daily, step, baseline_pain, thresholds) for step in steps_tbl.itertuples(index=False)]
    _vs_previous(rows)
    table = pd.DataFrame(rows, columns=RESPONSE_COLUMNS)
    for column in ("responder", "verdict", "previous_step_id"):
        table[column] = as_object(table[column])
    floats = ["dose_mg", "daily_dose_mg", "response_pain", "response_sd", "response_r1", "response_n_eff", "ci_low",
              "ci_high", "response_change", "response_change_pct", "vs_difference", "vs_ci_low", "vs_ci_high"]
    return table.astype({
        "start": "datetime64[ns]", "end": "datetime64[ns]", "window_start": "datetime64[ns]",
        "window_end": "datetime64[ns]", "early": "bool", "response_diary_days": "int64", "response_pain_days": "int64",
        **{c: "float64" for c in floats},
    })


def lowest_effective_dose(step_response_tbl: pd.DataFrame, step_side_effects: pd.DataFrame,
                          thresholds: Thresholds) -> dict | None:
    """The troche step of lowest mg/day whose response reaches ``effective_category`` while no side
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
    best = candidates.sort_values(["daily_dose_mg", "start"], na_position="last").iloc[0]
    return {"dose_mg": float(best["dose_mg"]), "daily_dose_mg": _float(best["daily_dose_mg"]),
            "frequency": best["frequency"], "step_start": best["start"], "step_id": best["step_id"],
            "responder": best["responder"], "note": LOWEST_DOSE_NOTE}


def _float(value) -> float | None:
    return None if pd.isna(value) else float(value)
