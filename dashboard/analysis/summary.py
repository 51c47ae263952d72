"""The patient review as one JSON-ready dict: what the page shows and ``summary --json`` prints.

Shape and definitions: shared/spec/review-metrics.md. Dates become 'YYYY-MM-DD', missing
values None (never 0, never NaN), and floats are rounded to 2 decimals here, at the JSON
boundary only, so no figure is computed from a rounded one.
"""

from __future__ import annotations

import math
from datetime import date, datetime

import numpy as np
import pandas as pd

from dashboard.analysis.adherence import HOME_ROUTE, period_adherence
from dashboard.analysis.periods import period_stats
from dashboard.config import Thresholds

BASELINE_KEYS = ("start", "end", "mean_pain", "diary_days", "days", "completeness", "pain_days", "missing")
STEP_PERIOD_KEYS = ("days", "diary_days", "completeness", "mean_pain", "mean_sleep", "mean_mood", "mean_function",
                    "peg", "side_effects")


def build_summary(*, patient: dict, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                  visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date,
                  **more) -> dict:
    """Everything the review shows for one patient as of a date: ``build_review(...).summary``."""
    from dashboard.analysis.review import build_review

    return build_review(patient=patient, diary=diary, side_effects=side_effects, steps=steps, visits=visits,
                        comedications=comedications, thresholds=thresholds, as_of=as_of, **more).summary


def _step_entry(step, response: dict, daily, severity, prescription, thresholds: Thresholds) -> dict:
    stats = period_stats(daily, severity, prescription, step.start, step.end, None, thresholds)
    is_troche = str(step.route).strip().lower() == HOME_ROUTE
    ci = None if pd.isna(response["ci_low"]) else [response["ci_low"], response["ci_high"]]
    return {
        "step_id": step.step_id, "start": step.start, "end": step.end, "dose_mg": step.dose_mg,
        "daily_dose_mg": step.daily_dose_mg,
        "frequency": step.frequency, "max_per_day": step.max_per_day, "route": step.route,
        **{key: stats[key] for key in STEP_PERIOD_KEYS},
        "response_window": {"start": response["window_start"], "end": response["window_end"]},
        "response_pain": response["response_pain"], "response_diary_days": response["response_diary_days"],
        "response_pain_days": response["response_pain_days"], "response_ci": ci,
        "response_r1": response["response_r1"], "response_n_eff": response["response_n_eff"],
        "response_change": response["response_change"], "response_change_pct": response["response_change_pct"],
        "responder": response["responder"], "early": response["early"],
        "vs_previous": _vs_previous(response),
        # The diary's doses are troche doses: an in-clinic step has no adherence to count.
        "adherence": (response["adherence"] if "adherence" in response  # counted once by trust.with_trust
                      else period_adherence(daily, prescription, step.start, step.end, step.step_id))
        if is_troche else None,
    }


def _vs_previous(response: dict) -> dict | None:
    """``{difference, ci: [low, high], verdict, qualifiers, clinically_important}`` against the
    previous troche step (review-metrics.md v3); None on the first. ``infusions`` names where an
    in-clinic administration fell ({date, where}: this window, previous window, onset days)."""
    if response["verdict"] is None:
        return None
    ci = None if pd.isna(response["vs_ci_low"]) else [response["vs_ci_low"], response["vs_ci_high"]]
    previous = response["previous_step_id"]
    # A step id is a whole number; the response table's column may hold it as a float (None on first steps).
    previous = previous if previous is None or pd.isna(previous) or isinstance(previous, str) else int(previous)
    return {"difference": response["vs_difference"], "ci": ci, "verdict": response["verdict"],
            "previous_step_id": previous,
            "qualifiers": list(response.get("qualifiers") or []),
            "clinically_important": response.get("clinically_important"),
            "infusions": list(response.get("infusions") or [])}


def last_judged_entry(response, responses) -> dict | None:
    """``last_judged_step`` of ``summary --json``: ``{step_start, daily_dose_mg,
    previous_daily_dose_mg, vs_previous}`` of a row of the response table (None: none judged)."""
    if response is None:
        return None
    previous = responses[responses["step_id"] == response["previous_step_id"]]
    return {"step_id": response["step_id"], "step_start": response["start"],
            "daily_dose_mg": response["daily_dose_mg"],
            "previous_daily_dose_mg": previous["daily_dose_mg"].iloc[0] if len(previous) else None,
            "vs_previous": _vs_previous(dict(response))}


def truncated(value: float, decimals: int = 0) -> float:
    """Toward zero: -29.7 % is shown as -29 %, never as a rounded -30 % that reaches a category
    it did not reach (review-metrics.md v2, "Shown numbers never contradict their category")."""
    scale = 10 ** decimals
    return math.trunc(round(value * scale, 6)) / scale


def json_ready(value, key: str = ""):
    """Dates as 'YYYY-MM-DD', NaN/NaT/NA as None, numpy scalars as Python, floats to 2 decimals;
    percentages (keys ending in ``_pct``) truncated toward zero to 2 decimals, so that a JSON
    figure never crosses a responder cut-off its category did not reach."""
    if isinstance(value, dict):
        return {str(k): json_ready(v, str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_ready(v, key) for v in value]
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        if not math.isfinite(value):
            return None
        return truncated(float(value), 2) if key.endswith("_pct") else round(float(value), 2)
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        stamp = pd.Timestamp(value)
        return None if pd.isna(stamp) else stamp.strftime("%Y-%m-%d")
    return value


def patient_summary(session, patient_ref: str, *, as_of: date | None = None, user=None) -> dict:
    """``build_summary`` for a stored patient, with the clinic's thresholds; LookupError if unknown.

    With ``user``, PermissionError unless the patient is shared with them (``dashboard.access``).
    """
    return patient_review(session, patient_ref, as_of=as_of, user=user).summary


def patient_review(session, patient_ref: str, *, as_of: date | None = None, user=None):
    """The ``Review`` of a stored patient (what ``patient_summary`` prints, the note and the report
    read); LookupError if unknown, PermissionError unless shared with ``user`` (None: the operator)."""
    from dashboard.access import require_patient
    from dashboard.db import queries
    from dashboard.db.settings_store import load_thresholds

    patient = queries.patient_by_ref(session, patient_ref)
    if patient is None:
        raise LookupError(f"no patient with reference {patient_ref!r}")
    require_patient(session, user, patient.id)
    return stored_review(session, patient, as_of=as_of or date.today(), thresholds=load_thresholds(session))


def stored_review(session, patient, *, as_of: date, thresholds: Thresholds):
    """``build_review`` for a stored patient (a ``db.models.Patient``); access is the caller's check."""
    from dashboard.analysis.review import build_review
    from dashboard.db import queries
    from dashboard.db.flag_reviews import acknowledgements_frame

    return build_review(
        patient={"ref": patient.ref, "name": patient.name, "birth_year": patient.birth_year,
                 "condition": patient.condition},
        diary=queries.diary_frame(session, patient.id),
        side_effects=queries.side_effects_frame(session, patient.id),
        steps=queries.titration_frame(session, patient.id),
        visits=queries.visits_frame(session, patient.id),
        comedications=queries.comedications_frame(session, patient.id),
        thresholds=thresholds,
        as_of=as_of,
        acknowledgements=acknowledgements_frame(session, patient.id),
        measures=queries.measures_frame(session, patient.id),
    )
