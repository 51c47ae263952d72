"""How far a verdict can be trusted (review-metrics.md v3, "Trust").

"Did the last step work?" is only a fair question when the patient took the step, the diary
covers its response window and no in-clinic infusion falls where it would lend its own relief:
``qualifiers`` say which of these fail. ``clinically_important`` says whether a difference
reaches the 1 point a dose rise should bring (the same setting ``no_benefit_escalation`` asks;
Farrar et al. 2001, Pain 94:149-158, put the minimal clinically important change near 1 point
on a 0-10 scale). ``last_judged_step`` keeps the step just finished answered when a new step
is too early, and ``judged_from`` says when the new one can be.

Pure pandas: frames of ``response.step_response_table``, ``periods.steps_table`` and
``db.queries.visits_frame`` in, columns and plain values out.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.adherence import HOME_ROUTE, period_adherence, route_key
from dashboard.analysis.daily import as_object, day
from dashboard.analysis.periods import held_visits
from dashboard.analysis.response import BETTER, UNCLEAR, WORSE
from dashboard.config import Thresholds

LOW_ADHERENCE, SPARSE_DIARY, INFUSION_IN_WINDOW = "low_adherence", "sparse_diary", "infusion_in_window"
JUDGED = (BETTER, WORSE, UNCLEAR)
# Routes of an in-clinic administration (a titration step of these routes is one session).
IN_CLINIC_ROUTES = {"iv", "im", "intravenous", "intramuscular", "iv infusion", "im injection"}
# Where an administration falls, as the page names it.
THIS_WINDOW, PREVIOUS_WINDOW, ONSET_DAYS = "this window", "previous window", "onset days"
_DECIMALS = 9


def administrations(steps_tbl: pd.DataFrame, visits: pd.DataFrame, as_of: date) -> pd.Series:
    """Days of an in-clinic administration up to the as-of date, sorted and unique: the start of
    each IV or IM titration step (a session), and each held visit of kind infusion."""
    as_of = day(as_of)
    routes = route_key(steps_tbl["route"]) if len(steps_tbl) else pd.Series(dtype="str")
    sessions = steps_tbl.loc[routes.isin(list(IN_CLINIC_ROUTES)), "start"] if len(steps_tbl) else []
    held = held_visits(visits)
    infusion = held["kind"].astype("str").str.lower().str.contains("infusion", regex=False) if len(held) else []
    days = pd.concat([pd.Series(list(sessions), dtype="datetime64[ns]"),
                      pd.Series(list(held.loc[infusion, "date"]) if len(held) else [], dtype="datetime64[ns]")])
    days = days[days <= as_of].dt.normalize()
    return pd.Series(sorted(set(days)), dtype="datetime64[ns]")


def window_pain_share(row) -> float | None:
    """Days with pain in a step's response window over the window's calendar days."""
    days = (day(row["window_end"]) - day(row["window_start"])).days + 1
    return None if days <= 0 else row["response_pain_days"] / days


def infusions_near(current, previous, administered: pd.Series, thresholds: Thresholds) -> list[dict]:
    """Administrations in either response window, or in the ``onset_days`` before the later
    (current) window: ``[{date, where}]``, where is this window, previous window or onset days."""
    found = []
    onset_start = day(current["window_start"]) - pd.Timedelta(days=thresholds.onset_days)
    for when in administered:
        if day(current["window_start"]) <= when <= day(current["window_end"]):
            where = THIS_WINDOW
        elif day(previous["window_start"]) <= when <= day(previous["window_end"]):
            where = PREVIOUS_WINDOW
        elif onset_start <= when < day(current["window_start"]):
            where = ONSET_DAYS
        else:
            continue
        found.append({"date": when, "where": where})
    return found


def low_adherence(row, thresholds: Thresholds) -> bool:
    """Less than ``low_adherence_pct`` of a step's prescribed mg taken (False when not counted)."""
    p = row.get("mg_pct")
    return p is not None and not pd.isna(p) and round(p, _DECIMALS) < thresholds.low_adherence_pct


def sparse_window(row, thresholds: Thresholds) -> bool:
    """Pain written on fewer than ``sparse_diary_share`` of a response window's days."""
    share = window_pain_share(row)
    return share is not None and round(share, _DECIMALS) < thresholds.sparse_diary_share


def comparison_qualifiers(current, previous, administered: pd.Series, thresholds: Thresholds) -> list[str]:
    """Which of ``low_adherence``, ``sparse_diary``, ``infusion_in_window`` hold, in that order.

    ``current``/``previous``: rows of the response table with ``mg_pct`` (``adherence.mg_pct``,
    None when it cannot be counted: then adherence is not said to be low).
    """
    held = []
    if any(low_adherence(row, thresholds) for row in (current, previous)):
        held.append(LOW_ADHERENCE)
    if any(sparse_window(row, thresholds) for row in (current, previous)):
        held.append(SPARSE_DIARY)
    if infusions_near(current, previous, administered, thresholds):
        held.append(INFUSION_IN_WINDOW)
    return held


def clinically_important(difference: float | None, thresholds: Thresholds) -> bool | None:
    """True when the unrounded difference is at least ``escalation_min_benefit_points`` below 0
    (-1.0 is, -0.99 is not); None when the difference is missing."""
    if difference is None or pd.isna(difference):
        return None
    return bool(round(difference, _DECIMALS) <= -thresholds.escalation_min_benefit_points)


def with_trust(responses: pd.DataFrame, daily: pd.DataFrame, prescription: pd.DataFrame, steps_tbl: pd.DataFrame,
               visits: pd.DataFrame, as_of: date, thresholds: Thresholds) -> pd.DataFrame:
    """``responses`` (``step_response_table``) with ``mg_pct`` (troche steps' adherence in mg %),
    and, on each step compared with a previous one, ``qualifiers``, ``infusions`` and
    ``clinically_important`` (None on the others)."""
    table = responses.copy()
    troche = route_key(table["route"]) == HOME_ROUTE if len(table) else pd.Series(dtype="bool")
    # Each troche step's adherence, counted once per review: ``reported.step_summary`` reads it from here.
    counted = [period_adherence(daily, prescription, row.start, row.end, row.step_id) if is_troche else None
               for row, is_troche in zip(table.itertuples(index=False), troche)]
    table["adherence"] = pd.Series(counted, index=table.index, dtype="object")
    table["mg_pct"] = pd.Series([None if a is None else a["mg_pct"] for a in counted], index=table.index,
                                dtype="float64")
    administered = administrations(steps_tbl, visits, as_of)
    by_id = {row["step_id"]: row for row in table.to_dict("records")}
    qualifiers, infusions, important = [], [], []
    for row in table.to_dict("records"):
        previous = by_id.get(row["previous_step_id"]) if row["verdict"] is not None else None
        if previous is None:
            qualifiers.append(None), infusions.append(None), important.append(None)
            continue
        qualifiers.append(comparison_qualifiers(row, previous, administered, thresholds))
        infusions.append(infusions_near(row, previous, administered, thresholds))
        important.append(clinically_important(row["vs_difference"], thresholds))
    table["qualifiers"] = pd.Series(qualifiers, index=table.index, dtype="object")
    table["infusions"] = pd.Series(infusions, index=table.index, dtype="object")
    table["clinically_important"] = as_object(pd.Series(important, index=table.index, dtype="object"))
    return table


def last_judged_step(responses: pd.DataFrame) -> pd.Series | None:
    """The most recent troche step whose verdict is better, worse or no clear difference."""
    judged = responses[(route_key(responses["route"]) == HOME_ROUTE) & responses["verdict"].isin(list(JUDGED))]
    return None if judged.empty else judged.sort_values("start").iloc[-1]


def judged_from(start, thresholds: Thresholds) -> pd.Timestamp:
    """The first as-of date on which a step started on ``start`` is no longer early: start + onset
    days + (min_response_days - 1), the day its response window first holds min_response_days."""
    return day(start) + pd.Timedelta(days=thresholds.onset_days + thresholds.min_response_days - 1)
