"""Flags for review, not alarms: each names its rule, its dates and the values behind it.

Here every rule's flags are put together (``flags_table``, ``review_flags``, safety first) and
read as a clinician reads them (``flag_status``: new, acknowledged, shown dates; ``open_flag_counts``).
The rules' catalogue and their runs are ``flag_rules``; the rules themselves ``safety_flags``
and ``course_flags`` (review-metrics.md, "Flags").
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.adherence import over_prescribed_days
from dashboard.analysis.course_flags import diary_gap, low_mood, no_benefit_escalation, pain_spike
from dashboard.analysis.daily import daily_values, day
from dashboard.analysis.flag_rules import FLAG_COLUMNS, RULES, _concat, _frame, rule_name, safety_first
from dashboard.analysis.periods import steps_table
from dashboard.analysis.response import step_response_table
from dashboard.analysis.safety_flags import (
    bladder, bp_high, co_sedative, dissociation_severe, liver_tests_high, over_prescribed, self_harm_thoughts,
)
from dashboard.analysis.side_effects import daily_side_effect_severity
from dashboard.config import Thresholds

NO_ANSWERS = pd.DataFrame({"diary_date": pd.Series(dtype="datetime64[ns]"), "value": pd.Series(dtype="float64")})


def flags_table(*, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                comedications: pd.DataFrame, as_of: date, thresholds: Thresholds,
                phq9_item9: pd.DataFrame = NO_ANSWERS) -> pd.DataFrame:
    """Every rule's flags from the query frames, safety rules first, then by start date."""
    daily = daily_values(diary, as_of)
    steps_tbl = steps_table(steps, as_of)
    return review_flags(
        daily=daily, severity=daily_side_effect_severity(side_effects, as_of), steps_tbl=steps_tbl,
        step_response_tbl=step_response_table(daily, steps_tbl, None, thresholds), diary=diary,
        comedications=comedications, as_of=as_of, thresholds=thresholds, phq9_item9=phq9_item9,
    )


def review_flags(*, daily, severity, steps_tbl, step_response_tbl, diary, comedications, as_of,
                 thresholds: Thresholds, phq9_item9: pd.DataFrame = NO_ANSWERS,
                 over_days: pd.DataFrame | None = None, period_start: pd.Timestamp | None = None,
                 labs: pd.DataFrame | None = None, mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """``flags_table`` from frames already derived (daily values, severity, steps, responses and,
    if known, ``adherence.over_prescribed_days``); ``period_start``: the review period's start,
    where ``diary_gap`` begins counting; ``labs``: ``analysis.measures`` frames of lab results;
    ``mentions``: ``comedication.mentions``, when the caller has it."""
    answers = phq9_item9[phq9_item9["diary_date"] <= day(as_of)]
    over_days = over_prescribed_days(daily, steps_tbl) if over_days is None else over_days
    parts = [
        bp_high(daily, thresholds), bladder(severity, thresholds), dissociation_severe(severity, thresholds),
        over_prescribed(over_days, thresholds), co_sedative(diary, comedications, as_of, mentions),
        liver_tests_high(labs, thresholds) if labs is not None else _frame([]),
        self_harm_thoughts(answers), pain_spike(daily, thresholds), low_mood(daily, thresholds),
        diary_gap(daily, as_of, thresholds, period_start), no_benefit_escalation(step_response_tbl, thresholds),
    ]
    return safety_first(_concat(parts))


STATUS_COLUMNS = ["name", "safety", "new", "acknowledged", "acknowledged_by", "acknowledged_at", "acknowledgement_note",
                  "shown_start", "shown_end"]


def flag_status(flags: pd.DataFrame, *, last_visit: pd.Timestamp | None, acknowledgements: pd.DataFrame,
                period_start: pd.Timestamp | None, as_of: date) -> pd.DataFrame:
    """What a clinician needs to read each flag (review-metrics.md v2, "Reading flags").

    ``new``: the run ends after the last visit (no visit yet: every flag is new); a co-sedative
    (a flag with ``drug_start``) only when the drug started after the last visit (v3).
    ``acknowledged``: a clinician acknowledged this run (same rule and true start) on or before
    the as-of date; a later run of the rule has another start and is a new flag.
    ``shown_start``/``shown_end``: the dates clipped to the review period (``period_start`` to
    the as-of date) for display; ``start``/``end`` keep the truth.
    """
    as_of = day(as_of)
    acks = acknowledgements[acknowledgements["acknowledged_at"] < as_of + pd.Timedelta(days=1)]
    acks = acks.sort_values("acknowledged_at").drop_duplicates(["rule", "flag_start"], keep="first")
    merged = flags.merge(acks.rename(columns={"flag_start": "start", "note": "acknowledgement_note"})
                         [["rule", "start", "acknowledged_by", "acknowledged_at", "acknowledgement_note"]],
                         on=["rule", "start"], how="left")
    lower = flags["start"] if period_start is None else flags["start"].clip(lower=day(period_start))
    # A run wholly before the period is shown on its own end day: a shown start never follows the shown end.
    lower = lower.clip(upper=as_of).where(lower.clip(upper=as_of) <= flags["end"].clip(upper=as_of),
                                          flags["end"].clip(upper=as_of))
    table = merged.assign(
        name=merged["rule"].map(rule_name),
        safety=merged["rule"].map(lambda key: key in RULES and RULES[key].safety).astype(bool),
        new=_new(merged, last_visit),
        acknowledged=merged["acknowledged_at"].notna(),
        shown_start=lower.to_numpy(), shown_end=merged["end"].clip(upper=as_of),
    )
    table["new"] = table["new"].astype(bool)
    return table[[*FLAG_COLUMNS, *STATUS_COLUMNS]].astype({"shown_start": "datetime64[ns]",
                                                          "shown_end": "datetime64[ns]"})


def _new(flags: pd.DataFrame, last_visit: pd.Timestamp | None) -> pd.Series | bool:
    if last_visit is None:
        return True
    new = flags["end"] > day(last_visit)
    if "drug_start" in flags:
        drug = flags["drug_start"].notna()
        new = new.where(~drug, new & (flags["drug_start"] > day(last_visit)))
    return new


def open_flag_counts(status: pd.DataFrame) -> pd.DataFrame:
    """One line per rule that fired, safety first: runs, open (not acknowledged), new and open,
    acknowledged, and the last day (review-metrics.md v2: acknowledged flags stay visible but
    no longer count as open)."""
    columns = ["rule", "name", "safety", "runs", "open", "new", "acknowledged", "last"]
    if status.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ["object", "object", "bool", "int64", "int64", "int64", "int64", "datetime64[ns]"])})
    open_ = ~status["acknowledged"]
    grouped = status.assign(_open=open_, _new=open_ & status["new"]).groupby("rule", sort=False)
    table = pd.DataFrame({
        "runs": grouped.size(), "open": grouped["_open"].sum(), "new": grouped["_new"].sum(),
        "acknowledged": grouped["acknowledged"].sum(), "last": grouped["shown_end"].max(),
    }).reset_index()
    table = table.assign(name=table["rule"].map(rule_name),
                         safety=table["rule"].map(lambda key: key in RULES and RULES[key].safety).astype(bool))
    table = table.astype({"runs": "int64", "open": "int64", "new": "int64", "acknowledged": "int64"})
    return safety_first(table.assign(start=table["last"]))[columns]
