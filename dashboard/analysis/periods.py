"""Periods of the review: titration steps, the baseline, visit intervals, and their statistics.

Definitions from shared/spec/review-metrics.md, "Periods" and "For any period".
Responder categories follow Farrar et al. 2001 (Pain 94:149-158) and IMMPACT (Dworkin et
al. 2008, J Pain 9:105-121): a reduction of >= 30 % (or ~2 points on 0-10) is moderately
important, >= 50 % substantial, 10-20 % minimal.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.adherence import HOME_ROUTE, daily_dose, period_adherence, route_key
from dashboard.analysis.completeness import completeness
from dashboard.analysis.daily import as_object, day, in_period
from dashboard.analysis.side_effects import period_side_effects
from dashboard.config import Thresholds

STEP_TABLE_COLUMNS = ["step_id", "start", "end", "dose_mg", "daily_dose_mg", "frequency", "max_per_day", "route",
                      "note", "days"]
INTERVAL_COLUMNS = ["start", "end", "days", "kind"]
# Percentages and points are compared after rounding away float noise: 100 * (4.2 - 6) / 6
# is -29.999999999999996, which a clinician reads as a 30 % reduction.
_DECIMALS = 9
RESPONDER_RANK = {"worse": -1, "none": 0, "minimal": 1, "moderate": 2, "substantial": 3}
MEAN_FIELDS = {
    "mean_pain": "pain", "mean_sleep": "sleep", "mean_mood": "mood", "mean_function": "function", "peg": "peg",
}


def steps_table(steps: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Active steps started by ``as_of`` with their effective end.

    A step ends the day before the next step of the same route starts, or on its
    ``end_date``, or on the as-of date, whichever comes first. Routes are separate
    sequences because a hybrid patient's in-clinic IV/IM sessions do not end the troche
    step they keep taking at home.
    """
    as_of = day(as_of)
    active = steps[(steps["status"] == "active") & (steps["start_date"] <= as_of)]
    backwards = active[active["end_date"] < active["start_date"]]
    if not backwards.empty:
        bad = backwards.iloc[0]
        raise ValueError(
            f"titration step {bad['step_id']}: end_date {bad['end_date']:%Y-%m-%d} is before start_date "
            f"{bad['start_date']:%Y-%m-%d}"
        )
    route = route_key(active["route"])
    ordered = active.assign(_route=route).sort_values(["_route", "start_date", "step_id"])
    next_start = ordered.groupby("_route")["start_date"].shift(-1) - pd.Timedelta(days=1)
    ends = pd.concat([next_start, ordered["end_date"], pd.Series(as_of, index=ordered.index)], axis=1).min(axis=1)
    table = ordered.assign(start=ordered["start_date"], end=ends.astype("datetime64[ns]"))
    table["days"] = ((table["end"] - table["start"]).dt.days + 1).astype("int64")
    table["daily_dose_mg"] = pd.Series(
        [daily_dose(d, f, m) for d, f, m in zip(table["dose_mg"], table["frequency"], table["max_per_day"])],
        index=table.index, dtype="float64")
    table = table.sort_values(["start", "step_id"]).reset_index(drop=True)[STEP_TABLE_COLUMNS]
    return table.astype({"start": "datetime64[ns]", "end": "datetime64[ns]", "daily_dose_mg": "float64"})


def first_troche_start(steps_tbl: pd.DataFrame) -> pd.Timestamp | None:
    troche = steps_tbl[route_key(steps_tbl["route"]) == HOME_ROUTE]
    return None if troche.empty else day(troche["start"].min())


def baseline(daily: pd.DataFrame, steps_tbl: pd.DataFrame, thresholds: Thresholds) -> dict:
    """The ``baseline_days`` before the first troche step, and its mean daily pain.

    Missing (``mean_pain`` None, ``missing`` True) without a troche step or with fewer than
    ``min_baseline_diary_days`` days with pain: every change from baseline is then None,
    never 0.
    """
    first = first_troche_start(steps_tbl)
    if first is None:
        return {"start": None, "end": None, "days": 0, "diary_days": 0, "completeness": None,
                "pain_days": 0, "mean_pain": None, "missing": True}
    start, end = first - pd.Timedelta(days=thresholds.baseline_days), first - pd.Timedelta(days=1)
    pain = in_period(daily, start, end)["pain"].dropna()
    missing = len(pain) < thresholds.min_baseline_diary_days
    return {"start": start, "end": end, **completeness(daily, start, end), "pain_days": len(pain),
            "mean_pain": None if missing else float(pain.mean()), "missing": missing}


def held_visits(visits: pd.DataFrame) -> pd.DataFrame:
    """The visits that happened: a booked one (``status`` 'booked', db.models.Visit) is a plan,
    and one whose day passed unrecorded is overdue, never the start of an interval."""
    return visits if "status" not in visits else visits[visits["status"] != "booked"]


def visit_intervals(visits: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """From each visit to the day before the next; the last runs to ``as_of`` ("since last visit").

    Two visits on one day (say an infusion and a review) open one interval; ``kind`` lists both.
    """
    as_of = day(as_of)
    kept = held_visits(visits)
    kept = kept[kept["date"] <= as_of]
    kinds = kept.groupby("date", sort=True)["kind"].agg(lambda k: ", ".join(sorted(set(k))))
    starts = pd.Series(kinds.index, dtype="datetime64[ns]")
    ends = (starts.shift(-1) - pd.Timedelta(days=1)).fillna(as_of)
    return pd.DataFrame({
        "start": starts, "end": ends.astype("datetime64[ns]"),
        "days": ((ends - starts).dt.days + 1).astype("int64"), "kind": pd.Series(kinds.to_numpy(), dtype="object"),
    })[INTERVAL_COLUMNS]


def change_from_baseline(pain: float | None, baseline_pain: float | None) -> tuple[float | None, float | None]:
    """(points, percent); negative is an improvement. Percent is None when the baseline is 0."""
    if pain is None or baseline_pain is None:
        return None, None
    points = round(pain - baseline_pain, _DECIMALS)
    pct = round(100 * (pain - baseline_pain) / baseline_pain, _DECIMALS) if baseline_pain else None
    return points, pct


def responder_category(change_pct: float | None, thresholds: Thresholds) -> str | None:
    """Farrar 2001 / IMMPACT 2008 category of a change from baseline in percent (None if unknown)."""
    if change_pct is None:
        return None
    if change_pct >= thresholds.worse_pct:
        return "worse"
    reduction = -change_pct
    for name, cut in (("substantial", thresholds.responder_substantial_pct),
                      ("moderate", thresholds.responder_moderate_pct), ("minimal", thresholds.responder_minimal_pct)):
        if reduction >= cut:
            return name
    return "none"


def reaches(category: str | None, required: str) -> bool:
    """Whether a responder category is at least the required one (e.g. 'moderate')."""
    return isinstance(category, str) and RESPONDER_RANK[category] >= RESPONDER_RANK[required]


def important_reduction(points: float | None, thresholds: Thresholds) -> bool | None:
    """Reduction of at least ``important_change_points`` (~2 on 0-10, Farrar 2001); None if unknown."""
    return None if points is None else -points >= thresholds.important_change_points


def period_stats(daily, severity, prescription, start, end, baseline_pain, thresholds: Thresholds) -> dict:
    """Every figure review-metrics.md lists "for any period", for start..end inclusive."""
    part = in_period(daily, start, end)  # cut once: the review asks this for every step and interval
    stats = completeness(daily, start, end, part=part)
    for name, column in MEAN_FIELDS.items():
        stats[name] = _mean(part[column])
    points, pct = change_from_baseline(stats["mean_pain"], baseline_pain)
    stats.update({
        "change_from_baseline": points, "change_from_baseline_pct": pct,
        "responder": responder_category(pct, thresholds),
        "reduction_ge_2_points": important_reduction(points, thresholds),
        "side_effects": period_side_effects(severity, start, end, stats["diary_days"]),
        "adherence": period_adherence(daily, prescription, start, end, part=part),
    })
    return stats


def _mean(values: pd.Series) -> float | None:
    mean = values.mean()
    return None if pd.isna(mean) else float(mean)


def visit_interval_stats(daily, severity, prescription, visits, as_of, baseline_pain, thresholds) -> list[dict]:
    """``period_stats`` of each visit interval, with its start, end and visit kind."""
    return [
        {"start": row.start, "end": row.end, "kind": row.kind,
         **period_stats(daily, severity, prescription, row.start, row.end, baseline_pain, thresholds)}
        for row in visit_intervals(visits, as_of).itertuples(index=False)
    ]


COMPARISON_COLUMNS = [
    "period", "start", "end", "days", "diary_days", "completeness", *MEAN_FIELDS, "change_from_baseline",
    "change_from_baseline_pct", "responder", "reduction_ge_2_points",
]


def visit_comparison_table(daily, severity, prescription, steps_tbl, visits, as_of, thresholds, *,
                           base: dict | None = None, intervals: list[dict] | None = None) -> pd.DataFrame:
    """The baseline row, then one row per visit interval: the table a clinician compares visits with.

    ``base`` and ``intervals`` may be given when already computed (``baseline``, ``visit_interval_stats``).
    """
    base = base if base is not None else baseline(daily, steps_tbl, thresholds)
    if intervals is None:
        intervals = visit_interval_stats(daily, severity, prescription, visits, as_of, base["mean_pain"], thresholds)
    rows = [_baseline_row(daily, severity, prescription, base, thresholds)]
    for interval in intervals:
        rows.append({"period": f"visit {interval['start']:%Y-%m-%d} ({interval['kind']})", **interval})
    table = pd.DataFrame(rows).reindex(columns=COMPARISON_COLUMNS)
    floats = ["completeness", *MEAN_FIELDS, "change_from_baseline", "change_from_baseline_pct"]
    table = table.assign(responder=as_object(table["responder"]),
                         reduction_ge_2_points=as_object(table["reduction_ge_2_points"]))
    return table.astype({"start": "datetime64[ns]", "end": "datetime64[ns]", "days": "int64", "diary_days": "int64",
                         **{c: "float64" for c in floats}})


def _baseline_row(daily, severity, prescription, base: dict, thresholds: Thresholds) -> dict:
    if base["start"] is None:
        return {"period": "baseline", "start": pd.NaT, "end": pd.NaT, "days": 0, "diary_days": 0}
    stats = period_stats(daily, severity, prescription, base["start"], base["end"], None, thresholds)
    # The baseline's own pain is shown only when it is a baseline (enough days with pain).
    return {"period": "baseline", "start": base["start"], "end": base["end"], **stats, "mean_pain": base["mean_pain"]}


def visit_aligned_pain(daily: pd.DataFrame, visits: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Daily pain re-timed as days since each visit, to overlay the intervals on one axis."""
    columns = ["interval_start", "days_since_visit", "pain", "is_latest", "diary_date"]
    intervals = visit_intervals(visits, as_of)
    days = daily[daily["diary_date"] <= day(as_of)].dropna(subset=["pain"])
    starts = intervals["start"].to_numpy()
    # Each day belongs to the last visit on or before it; intervals run to the as-of date.
    position = starts.searchsorted(days["diary_date"].to_numpy(), side="right") - 1
    days, position = days[position >= 0], position[position >= 0]
    interval_start = pd.Series(starts[position], index=days.index, dtype="datetime64[ns]")
    frame = pd.DataFrame({
        "interval_start": interval_start,
        "days_since_visit": (days["diary_date"] - interval_start).dt.days.astype("int64"),
        "pain": days["pain"].astype("float64"), "is_latest": position == len(intervals) - 1,
        "diary_date": days["diary_date"],
    }, columns=columns)
    return frame.sort_values(["interval_start", "diary_date"], kind="stable").reset_index(drop=True).astype(
        {"interval_start": "datetime64[ns]", "days_since_visit": "int64", "pain": "float64", "is_latest": "bool",
         "diary_date": "datetime64[ns]"})
