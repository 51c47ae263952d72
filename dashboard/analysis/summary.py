"""The patient review as one JSON-ready dict: what the page shows and ``summary --json`` prints.

Shape and definitions: shared/spec/review-metrics.md. Dates become 'YYYY-MM-DD', missing
values None (never 0, never NaN), and floats are rounded to 2 decimals here, at the JSON
boundary only, so no figure is computed from a rounded one.
"""

from __future__ import annotations

import math
from dataclasses import asdict
from datetime import date, datetime

import numpy as np
import pandas as pd

from dashboard.analysis.adherence import HOME_ROUTE, daily_prescription, period_adherence, route_key
from dashboard.analysis.completeness import completeness_last_days
from dashboard.analysis.daily import daily_values, day
from dashboard.analysis.flags import review_flags
from dashboard.analysis.periods import baseline, period_stats, steps_table, visit_interval_stats, visit_intervals
from dashboard.analysis.response import lowest_effective_dose, step_response_table
from dashboard.analysis.side_effects import daily_side_effect_severity, side_effects_by_step
from dashboard.config import Thresholds

BASELINE_KEYS = ("start", "end", "mean_pain", "diary_days", "days", "completeness", "pain_days", "missing")
STEP_PERIOD_KEYS = ("days", "diary_days", "completeness", "mean_pain", "mean_sleep", "mean_mood", "mean_function",
                    "peg", "side_effects")


def build_summary(*, patient: dict, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                  visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date) -> dict:
    """Everything the review shows for one patient as of a date, from the query frames."""
    daily = daily_values(diary, as_of)
    severity = daily_side_effect_severity(side_effects, as_of)
    steps_tbl = steps_table(steps, as_of)
    prescription = daily_prescription(steps_tbl)
    base = baseline(daily, steps_tbl, thresholds)
    responses = step_response_table(daily, steps_tbl, base["mean_pain"], thresholds)
    step_entries = [
        _step_entry(step, response, daily, severity, prescription, thresholds)
        for step, response in zip(steps_tbl.itertuples(index=False), responses.to_dict("records"))
    ]
    flags = review_flags(daily=daily, severity=severity, steps_tbl=steps_tbl, step_response_tbl=responses,
                         diary=diary, comedications=comedications, as_of=as_of, thresholds=thresholds)
    return json_ready({
        "patient": patient,
        "as_of": day(as_of),
        "baseline": {key: base[key] for key in BASELINE_KEYS},
        "steps": step_entries,
        "visit_intervals": visit_interval_stats(daily, severity, prescription, visits, as_of, base["mean_pain"],
                                                thresholds),
        "lowest_effective_dose": lowest_effective_dose(responses, side_effects_by_step(severity, daily, steps_tbl),
                                                       thresholds),
        "flags": flags.to_dict("records"),
        "completeness_last_30_days": completeness_last_days(daily, as_of, 30),
        "current_step": _current_step(steps_tbl, as_of),
        "last_visit": _last_visit(visits, as_of),
        "thresholds": asdict(thresholds),
    })


def _step_entry(step, response: dict, daily, severity, prescription, thresholds: Thresholds) -> dict:
    stats = period_stats(daily, severity, prescription, step.start, step.end, None, thresholds)
    is_troche = str(step.route).strip().lower() == HOME_ROUTE
    ci = None if pd.isna(response["ci_low"]) else [response["ci_low"], response["ci_high"]]
    return {
        "step_id": step.step_id, "start": step.start, "end": step.end, "dose_mg": step.dose_mg,
        "frequency": step.frequency, "max_per_day": step.max_per_day, "route": step.route,
        **{key: stats[key] for key in STEP_PERIOD_KEYS},
        "response_window": {"start": response["window_start"], "end": response["window_end"]},
        "response_pain": response["response_pain"], "response_diary_days": response["response_diary_days"],
        "response_pain_days": response["response_pain_days"], "response_ci": ci,
        "response_change": response["response_change"], "response_change_pct": response["response_change_pct"],
        "responder": response["responder"], "early": response["early"],
        # The diary's doses are troche doses: an in-clinic step has no adherence to count.
        "adherence": period_adherence(daily, prescription, step.start, step.end, step.step_id) if is_troche else None,
    }


def _current_step(steps_tbl: pd.DataFrame, as_of: date) -> dict | None:
    """The step running on the as-of date, a troche step first (the one the patient takes at home)."""
    running = steps_tbl[steps_tbl["end"] == day(as_of)]
    if running.empty:
        return None
    ranked = running.assign(_away=route_key(running["route"]) != HOME_ROUTE)
    step = ranked.sort_values(["_away", "start"], ascending=[True, False]).iloc[0]
    return {key: step[key] for key in ("step_id", "start", "dose_mg", "frequency", "max_per_day", "route")}


def _last_visit(visits: pd.DataFrame, as_of: date) -> dict | None:
    intervals = visit_intervals(visits, as_of)
    if intervals.empty:
        return None
    last = intervals.iloc[-1]
    return {"date": last["start"], "kind": last["kind"], "days_since": int((day(as_of) - last["start"]).days)}


def json_ready(value):
    """Dates as 'YYYY-MM-DD', NaN/NaT/NA as None, numpy scalars as Python, floats to 2 decimals."""
    if isinstance(value, dict):
        return {str(k): json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if not math.isfinite(value) else round(float(value), 2)
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")
    return value


def patient_summary(session, patient_ref: str, *, as_of: date | None = None) -> dict:
    """``build_summary`` for a stored patient, with the clinic's thresholds; LookupError if unknown."""
    from dashboard.db import queries
    from dashboard.db.settings_store import load_thresholds

    patient = queries.patient_by_ref(session, patient_ref)
    if patient is None:
        raise LookupError(f"no patient with reference {patient_ref!r}")
    return build_summary(
        patient={"ref": patient.ref, "name": patient.name, "birth_year": patient.birth_year,
                 "condition": patient.condition},
        diary=queries.diary_frame(session, patient.id),
        side_effects=queries.side_effects_frame(session, patient.id),
        steps=queries.titration_frame(session, patient.id),
        visits=queries.visits_frame(session, patient.id),
        comedications=queries.comedications_frame(session, patient.id),
        thresholds=load_thresholds(session),
        as_of=as_of or date.today(),
    )
