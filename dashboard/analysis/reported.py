"""The review's reported figures: typed records in the shape ``summary --json`` prints them.

Every figure here is held as the JSON carries it (``reported``: floats to 2 decimals, percentages
truncated toward zero, NaN as None, numpy scalars as Python), only dates stay dates. The page,
the note and the report word a figure from these records, so they and the JSON can never differ
by a rounding; ``Review.to_dict`` writes the JSON from them (dates as 'YYYY-MM-DD').

Shape and definitions: shared/spec/review-metrics.md. Field order is the JSON's key order.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from datetime import date, datetime
from typing import Mapping

import numpy as np
import pandas as pd

from dashboard.analysis.adherence import HOME_ROUTE, period_adherence
from dashboard.analysis.periods import period_stats
from dashboard.config import Thresholds


def truncated(value: float, decimals: int = 0) -> float:
    """Toward zero: -29.7 % is shown as -29 %, never as a rounded -30 % that reaches a category
    it did not reach (review-metrics.md v2, "Shown numbers never contradict their category")."""
    scale = 10 ** decimals
    return math.trunc(round(value * scale, 6)) / scale


def reported(value, key: str = ""):
    """A figure as the JSON carries it, dates kept as ``pd.Timestamp``: NaN/NaT/NA as None, numpy
    scalars as Python, floats to 2 decimals; percentages (keys ending in ``_pct``) truncated toward
    zero to 2 decimals, so that a figure never crosses a responder cut-off its category did not reach."""
    return _ready(value, key, as_text=False)


def json_ready(value, key: str = ""):
    """``reported``, with dates as 'YYYY-MM-DD': the JSON boundary (``summary --json``, the
    worklist's and the cohort's JSON)."""
    return _ready(value, key, as_text=True)


def _ready(value, key: str, as_text: bool):
    if isinstance(value, dict):
        return {str(k): _ready(v, str(k), as_text) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_ready(v, key, as_text) for v in value]
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
        if pd.isna(stamp):
            return None
        return stamp.strftime("%Y-%m-%d") if as_text else stamp
    return value


def _record(cls, values: Mapping):
    """``cls`` from the same-named values of a mapping, each as reported."""
    return cls(**{f.name: reported(values[f.name], f.name) for f in fields(cls)})


def _tuple(values) -> tuple | None:
    return None if values is None else tuple(values)


@dataclass(frozen=True)
class PatientDetails:
    """Who the review is of (``patient`` of the JSON)."""

    ref: str
    name: str | None = None
    birth_year: int | None = None
    condition: str | None = None

    @classmethod
    def of(cls, patient) -> PatientDetails:
        """From a stored patient (``db.models.Patient``, ``PatientInfo``) or a mapping with ``ref``."""
        if isinstance(patient, PatientDetails):
            return patient
        if isinstance(patient, Mapping):
            return cls(**patient)
        return cls(ref=patient.ref, name=patient.name, birth_year=patient.birth_year, condition=patient.condition)


@dataclass(frozen=True)
class Baseline:
    """The ``baseline_days`` before the first troche step (``periods.baseline``), as reported."""

    start: pd.Timestamp | None
    end: pd.Timestamp | None
    mean_pain: float | None  # None: missing (too few days with pain, or no troche step)
    diary_days: int
    days: int
    completeness: float | None
    pain_days: int
    missing: bool


@dataclass(frozen=True)
class Window:
    start: pd.Timestamp | None
    end: pd.Timestamp | None


@dataclass(frozen=True)
class SideEffectShare:
    """One side effect over a period: shares of the period's diary days (reported = severity >= 1)."""

    share_of_days: float
    max_severity: int
    severe_share_of_days: float


@dataclass(frozen=True)
class Adherence:
    """Doses and mg taken against prescribed over a period (``adherence.period_adherence``)."""

    doses_taken: float | None
    doses_prescribed: float | None
    mg_taken: float | None
    mg_prescribed: float | None
    doses_pct: float | None
    mg_pct: float | None


@dataclass(frozen=True)
class Infusion:
    date: pd.Timestamp
    where: str  # this window, previous window, onset days


@dataclass(frozen=True)
class VsPrevious:
    """A troche step against the previous one (review-metrics.md v3)."""

    difference: float | None
    ci: tuple[float, float] | None
    verdict: str  # better, worse, no clear difference, too early to judge, too few days
    previous_step_id: int | None
    qualifiers: tuple[str, ...]
    clinically_important: bool | None
    infusions: tuple[Infusion, ...]


@dataclass(frozen=True)
class StepSummary:
    """One titration step: its schedule, its period's figures and its response (``steps`` of the JSON)."""

    step_id: int
    start: pd.Timestamp
    end: pd.Timestamp
    dose_mg: float
    daily_dose_mg: float | None
    frequency: str
    max_per_day: float | None
    route: str
    days: int
    diary_days: int
    completeness: float | None
    mean_pain: float | None
    mean_sleep: float | None
    mean_mood: float | None
    mean_function: float | None
    peg: float | None
    side_effects: dict[str, SideEffectShare]
    response_window: Window
    response_pain: float | None
    response_diary_days: int
    response_pain_days: int
    response_ci: tuple[float, float] | None
    response_r1: float | None
    response_n_eff: float | None
    response_change: float | None
    response_change_pct: float | None
    responder: str | None
    early: bool
    vs_previous: VsPrevious | None
    adherence: Adherence | None  # troche steps only: the diary's doses are troche doses


@dataclass(frozen=True)
class VisitInterval:
    """From a visit to the day before the next (the last to the as-of date), ``visit_intervals`` of the JSON."""

    start: pd.Timestamp
    end: pd.Timestamp
    kind: str
    days: int
    diary_days: int
    completeness: float | None
    mean_pain: float | None
    mean_sleep: float | None
    mean_mood: float | None
    mean_function: float | None
    peg: float | None
    change_from_baseline: float | None
    change_from_baseline_pct: float | None
    responder: str | None
    reduction_ge_2_points: bool | None
    side_effects: dict[str, SideEffectShare]
    adherence: Adherence


@dataclass(frozen=True)
class LowestEffectiveDose:
    """``response.lowest_effective_dose``: a pointer for judgement, never a prescription."""

    dose_mg: float
    daily_dose_mg: float | None
    frequency: str
    step_start: pd.Timestamp
    step_id: int
    responder: str
    note: str


@dataclass(frozen=True)
class Completeness:
    """Diary days of a span of calendar days (``completeness_last_30_days`` of the JSON)."""

    start: pd.Timestamp
    end: pd.Timestamp
    days: int
    diary_days: int
    completeness: float | None


@dataclass(frozen=True)
class LastJudgedStep:
    """The most recent troche step with a verdict (review-metrics.md v3)."""

    step_id: int
    step_start: pd.Timestamp
    daily_dose_mg: float | None
    previous_daily_dose_mg: float | None
    vs_previous: VsPrevious | None


def side_effect_shares(shares: dict) -> dict[str, SideEffectShare]:
    return {str(effect): _record(SideEffectShare, share) for effect, share in shares.items()}


def adherence_of(counted: dict | None) -> Adherence | None:
    return None if counted is None else _record(Adherence, counted)


def visit_interval(stats: dict) -> VisitInterval:
    """A ``periods.visit_interval_stats`` entry as reported."""
    nested = {"side_effects": side_effect_shares(stats["side_effects"]), "adherence": adherence_of(stats["adherence"])}
    return VisitInterval(**{f.name: nested[f.name] if f.name in nested else reported(stats[f.name], f.name)
                            for f in fields(VisitInterval)})


def lowest_effective_dose(led: dict | None) -> LowestEffectiveDose | None:
    return None if led is None else _record(LowestEffectiveDose, led)


def completeness_of(span: dict) -> Completeness:
    return _record(Completeness, span)


def baseline_of(base: dict) -> Baseline:
    return _record(Baseline, base)


STEP_PERIOD_KEYS = ("days", "diary_days", "completeness", "mean_pain", "mean_sleep", "mean_mood", "mean_function",
                    "peg")


def step_summary(step, response: dict, daily, severity, prescription, thresholds: Thresholds) -> StepSummary:
    """A row of ``periods.steps_table`` with its period's figures and its row of the response table."""
    stats = period_stats(daily, severity, prescription, step.start, step.end, None, thresholds)
    is_troche = str(step.route).strip().lower() == HOME_ROUTE
    ci = None if pd.isna(response["ci_low"]) else (response["ci_low"], response["ci_high"])
    # The diary's doses are troche doses: an in-clinic step has no adherence to count.
    adherence = ((response["adherence"] if "adherence" in response  # counted once by trust.with_trust
                  else period_adherence(daily, prescription, step.start, step.end, step.step_id))
                 if is_troche else None)
    figures = {
        "step_id": step.step_id, "start": step.start, "end": step.end, "dose_mg": step.dose_mg,
        "daily_dose_mg": step.daily_dose_mg, "frequency": step.frequency, "max_per_day": step.max_per_day,
        "route": step.route, **{key: stats[key] for key in STEP_PERIOD_KEYS},
        "response_pain": response["response_pain"], "response_diary_days": response["response_diary_days"],
        "response_pain_days": response["response_pain_days"],
        "response_r1": response["response_r1"], "response_n_eff": response["response_n_eff"],
        "response_change": response["response_change"], "response_change_pct": response["response_change_pct"],
        "responder": response["responder"], "early": response["early"],
    }
    return StepSummary(
        **{key: reported(value, key) for key, value in figures.items()},
        side_effects=side_effect_shares(stats["side_effects"]),
        response_window=Window(reported(response["window_start"]), reported(response["window_end"])),
        response_ci=_tuple(reported(ci, "response_ci")), vs_previous=vs_previous(response),
        adherence=adherence_of(adherence))


def vs_previous(response: dict) -> VsPrevious | None:
    """Against the previous troche step (review-metrics.md v3); None on the first. ``infusions``
    names where an in-clinic administration fell: this window, previous window, onset days."""
    if response["verdict"] is None:
        return None
    ci = None if pd.isna(response["vs_ci_low"]) else (response["vs_ci_low"], response["vs_ci_high"])
    previous = response["previous_step_id"]
    # A step id is a whole number; the response table's column may hold it as a float (None on first steps).
    previous = previous if previous is None or pd.isna(previous) or isinstance(previous, str) else int(previous)
    return VsPrevious(
        difference=reported(response["vs_difference"], "difference"), ci=_tuple(reported(ci, "ci")),
        verdict=reported(response["verdict"], "verdict"), previous_step_id=reported(previous, "previous_step_id"),
        qualifiers=tuple(reported(list(response.get("qualifiers") or []), "qualifiers")),
        clinically_important=reported(response.get("clinically_important"), "clinically_important"),
        infusions=tuple(_record(Infusion, given) for given in (response.get("infusions") or [])))


def last_judged_step(response, responses: pd.DataFrame) -> LastJudgedStep | None:
    """A row of the response table (``trust.last_judged_step``) with the previous step's mg/day;
    None: no step judged yet."""
    if response is None:
        return None
    previous = responses[responses["step_id"] == response["previous_step_id"]]
    return LastJudgedStep(
        step_id=reported(response["step_id"]), step_start=reported(response["start"]),
        daily_dose_mg=reported(response["daily_dose_mg"]),
        previous_daily_dose_mg=reported(previous["daily_dose_mg"].iloc[0] if len(previous) else None),
        vs_previous=vs_previous(dict(response)))
