"""The review page's model: the summary's numbers plus the frames its charts draw.

One function builds both, from the same daily values, so the page and
``summary --json`` can never disagree.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.adherence import daily_prescription, schedule, troche_steps
from dashboard.analysis.daily import daily_values, day, rolling_pain
from dashboard.analysis.periods import baseline, steps_table, visit_aligned_pain, visit_comparison_table
from dashboard.analysis.response import step_response_table
from dashboard.analysis.side_effects import daily_side_effect_severity, side_effects_by_step
from dashboard.analysis.summary import build_summary
from dashboard.config import Thresholds


@dataclass
class Review:
    summary: dict
    daily: pd.DataFrame  # chart input: one row per diary day
    steps: pd.DataFrame
    side_effect_days: pd.DataFrame  # diary_date, effect, severity (long)
    gaps: pd.DataFrame  # start, end
    flags: pd.DataFrame  # rule, start, end, detail
    visit_table: pd.DataFrame
    step_table: pd.DataFrame
    aligned: pd.DataFrame
    effects_by_step: pd.DataFrame
    notes: pd.DataFrame  # recorded_at, diary_date, notes, other_medication
    next_visit: dict | None
    treatment_days: int | None


def build_review(*, patient: dict, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                 visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date) -> Review:
    summary = build_summary(patient=patient, diary=diary, side_effects=side_effects, steps=steps, visits=visits,
                            comedications=comedications, thresholds=thresholds, as_of=as_of)
    daily = daily_values(diary, as_of)
    steps_tbl = steps_table(steps, as_of)
    severity = daily_side_effect_severity(side_effects, as_of)
    prescription = daily_prescription(steps_tbl)
    # The summary's numbers are rounded for JSON: the step table is computed from the exact
    # baseline, as the summary's own steps are, so a step at a responder cut-off agrees with it.
    base_pain = baseline(daily, steps_tbl, thresholds)["mean_pain"]
    flags = pd.DataFrame(summary["flags"], columns=["rule", "start", "end", "detail"])
    for col in ("start", "end"):
        flags[col] = pd.to_datetime(flags[col])
    return Review(
        summary=summary,
        daily=chart_daily(daily, steps_tbl),
        steps=steps_tbl,
        side_effect_days=long_severity(severity),
        gaps=flags.loc[flags["rule"] == "diary_gap", ["start", "end"]].reset_index(drop=True),
        flags=flags,
        visit_table=visit_comparison_table(daily, severity, prescription, steps_tbl, visits, as_of, thresholds),
        step_table=step_response_table(daily, steps_tbl, base_pain, thresholds),
        aligned=visit_aligned_pain(daily, visits, as_of),
        effects_by_step=labelled_by_step(side_effects_by_step(severity, daily, troche_steps(steps_tbl)), steps_tbl),
        notes=patient_notes(diary, as_of),
        next_visit=next_visit(visits, as_of),
        treatment_days=treatment_days(steps_tbl, as_of),
    )


def labelled_by_step(table: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    """Name each step by dose and start, so two steps of the same dose stay apart."""
    table = table.merge(steps_tbl[["step_id", "dose_mg"]], on="step_id", how="left")
    # Built row by row: on an empty table (no side effect on any step) the vectorised
    # float + str would fail, and the review must still open.
    label = [f"{dose:g} mg from {start:%d %b %Y}" for dose, start in zip(table["dose_mg"], table["start"])]
    return table.assign(step_label=pd.Series(label, index=table.index, dtype="str"))


def next_visit(visits: pd.DataFrame, as_of: date) -> dict | None:
    """The first booked visit day after the review date, if the clinic records it.

    Two visits on that day (an infusion and a review) are one visit with both kinds, as
    ``periods.visit_intervals`` counts them.
    """
    later = visits[visits["date"] > day(as_of)]
    if later.empty:
        return None
    first = later["date"].min()
    kinds = sorted(set(later.loc[later["date"] == first, "kind"]))
    return {"date": first.date(), "kind": ", ".join(kinds)}


def treatment_days(steps_tbl: pd.DataFrame, as_of: date) -> int | None:
    """Days since the first step started, counting the review day."""
    if steps_tbl.empty:
        return None
    return int((day(as_of) - steps_tbl["start"].min()).days) + 1


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
