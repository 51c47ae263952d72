"""The review page's model: the summary's numbers plus the frames its charts draw.

One function builds both, from the same daily values, so the page and
``summary --json`` can never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.adherence import daily_prescription, troche_steps
from dashboard.analysis.daily import daily_values, day, rolling_pain
from dashboard.analysis.periods import steps_table, visit_aligned_pain, visit_comparison_table
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
    base_pain = summary["baseline"]["mean_pain"]
    flags = pd.DataFrame(summary["flags"], columns=["rule", "start", "end", "detail"])
    for col in ("start", "end"):
        flags[col] = pd.to_datetime(flags[col])
    return Review(
        summary=summary,
        daily=chart_daily(daily, prescription),
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
    label = table["dose_mg"].map("{:g} mg".format) + " from " + table["start"].dt.strftime("%d %b %Y")
    return table.assign(step_label=label)


def next_visit(visits: pd.DataFrame, as_of: date) -> dict | None:
    """The first booked visit after the review date, if the clinic records it."""
    later = visits[visits["date"] > day(as_of)].sort_values("date")
    if later.empty:
        return None
    first = later.iloc[0]
    return {"date": first["date"].date(), "kind": first["kind"]}


def treatment_days(steps_tbl: pd.DataFrame, as_of: date) -> int | None:
    """Days since the first step started, counting the review day."""
    if steps_tbl.empty:
        return None
    return int((day(as_of) - steps_tbl["start"].min()).days) + 1


def chart_daily(daily: pd.DataFrame, prescription: pd.DataFrame) -> pd.DataFrame:
    """Daily values with the 7-day mean and the day's prescribed troche maximum (mg)."""
    rolling = rolling_pain(daily)[["diary_date", "pain_rolling"]].rename(columns={"pain_rolling": "pain_7d"})
    prescribed = (
        prescription.groupby("date", as_index=False)["mg_prescribed"].sum()
        .rename(columns={"date": "diary_date", "mg_prescribed": "dose_prescribed_mg"})
    )
    out = daily.merge(rolling, on="diary_date", how="left").merge(prescribed, on="diary_date", how="left")
    return out


def long_severity(severity: pd.DataFrame) -> pd.DataFrame:
    """Dates x effects (wide) to diary_date, effect, severity rows; unrecorded days left out."""
    if severity.empty:
        return pd.DataFrame({"diary_date": pd.Series(dtype="datetime64[ns]"), "effect": pd.Series(dtype=object),
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
