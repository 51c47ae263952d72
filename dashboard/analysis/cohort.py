"""What the clinic learns across patients: each patient's review, aggregated.

Every figure starts from the per-patient ``Review`` (``analysis.review.build_review``, the
model ``summary --json`` prints), so the cohort view can never judge a patient differently
from their own review; this module only groups and counts. Pure pandas: no Streamlit, no
database. Who is in the cohort is ``dashboard.access.cohort_patient_ids``'s decision.

Every aggregate row carries ``n`` (the patients behind it). A group of fewer than
``MIN_GROUP`` patients is ``too_small`` and its figures are missing (NaN), never shown.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.analysis.adherence import troche_steps
from dashboard.analysis.flag_rules import RULES
from dashboard.analysis.reported import json_ready

# Below five patients a share moves by 20 points or more with one patient and a median is one
# person's course: too small to read as a pattern (and, clinic-wide, too close to one person).
MIN_GROUP = 5
TOO_SMALL = f"n < {MIN_GROUP}"

# Daily troche dose bands (mg/day), lower bound included: "50–<100" holds 50 and 75, not 100.
# They follow the clinic's titration practice: common maintenance doses of 50–150 mg/day, and
# 150–300 mg/day or more for refractory pain. Oral and sublingual ketamine doses in chronic pain
# vary widely between reports (Blonk et al. 2010, Eur J Pain 14:466-472), so the bands are for
# reading the clinic's experience, never a dosing recommendation.
DOSE_BANDS: tuple[tuple[float, float, str], ...] = (
    (0.0, 50.0, "<50 mg/day"),
    (50.0, 100.0, "50–<100 mg/day"),
    (100.0, 150.0, "100–<150 mg/day"),
    (150.0, 300.0, "150–<300 mg/day"),
    (300.0, float("inf"), "≥300 mg/day"),
)
BAND_ORDER = [label for _, _, label in DOSE_BANDS]
NO_DAILY_DOSE = "daily dose not known"

# Responder categories (review-metrics.md; Farrar 2001, IMMPACT 2008), best first.
CATEGORIES = ("substantial", "moderate", "minimal", "none", "worse")
NOT_JUDGED = "not judged"  # no baseline, or no pain recorded in the response window
CATEGORY_LABELS = {"substantial": "Substantial (≥50 % less pain)", "moderate": "Moderate (30–<50 %)",
                   "minimal": "Minimal (15–<30 %)", "none": "No response (<15 %)", "worse": "Worse (≥15 % more pain)",
                   NOT_JUDGED: "Not judged (no baseline or no pain recorded)"}
NO_CONDITION = "condition not recorded"
DAYS_PER_MONTH = 365.25 / 12
ALL_PATIENTS = "All patients"


def dose_band(daily_dose_mg: float | None) -> str:
    """The band of a daily dose (mg/day); a schedule without a daily amount has none."""
    if daily_dose_mg is None or pd.isna(daily_dose_mg):
        return NO_DAILY_DOSE
    return next(label for low, high, label in DOSE_BANDS if low <= daily_dose_mg < high)


# --- one patient: read from their review ------------------------------------------------------

def patient_record(review) -> dict:
    """One patient's line of the cohort, read from their ``Review``.

    ``days_to_lowest_effective_dose``: days from the start of the patient's first troche step to
    the start of the step their review names as the lowest effective dose (review-metrics.md:
    the troche step of lowest mg/day whose response reaches the "moderate" category, a setting,
    while no side effect was severe on more than 10 % of its diary days; the earliest step at
    that dose). Missing when no step reached it (yet). 0 when the first step was already effective.
    """
    troche = troche_steps(review.step_table).sort_values("start")
    latest = None if troche.empty else troche.iloc[-1]
    led = review.lowest_effective_dose
    days_to_led = None
    if led is not None and not troche.empty:
        days_to_led = int((led.step_start - troche["start"].iloc[0]).days)
    start, end = review.period
    condition = review.patient.condition
    return {
        "ref": review.patient.ref,
        "condition": condition.strip() if isinstance(condition, str) and condition.strip() else NO_CONDITION,
        "latest_daily_dose_mg": None if latest is None else latest["daily_dose_mg"],
        "band": None if latest is None else dose_band(latest["daily_dose_mg"]),
        "responder": None if latest is None else (latest["responder"] or NOT_JUDGED),
        "early": None if latest is None else bool(latest["early"]),
        "days_to_lowest_effective_dose": days_to_led,
        "observed_days": int((end - start).days) + 1,
    }


def patient_effects(review) -> pd.DataFrame:
    """Per dose band and side effect: the patient's diary days on troche steps in that band, and
    the days the effect was reported (severity >= 1) and severe (3). Steps where the effect was
    never rated do not count for it (review-metrics.md: an effect not recorded is missing, not 0)."""
    table = review.effects_by_step
    frame = pd.DataFrame({
        "band": [dose_band(v) for v in table["daily_dose_mg"]], "effect": table["effect"].astype("object"),
        "diary_days": table["diary_days"].astype("int64"), "days_reported": table["days_reported"].astype("int64"),
        "severe_days": table["severe_days"].astype("int64"),
    })
    return frame.groupby(["band", "effect"], as_index=False, sort=False)[
        ["diary_days", "days_reported", "severe_days"]].sum()


def patient_flags(review) -> pd.DataFrame:
    """Flag runs per rule in the patient's review period (acknowledged ones count: they happened)."""
    counts = review.flags.groupby("rule").size()
    return pd.DataFrame({"rule": counts.index.astype("object"), "runs": counts.to_numpy(dtype="int64")})


# --- the cohort ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Cohort:
    """The cohort's figures; every frame has ``n`` and ``too_small`` per row."""

    n_patients: int
    patients: pd.DataFrame  # one line per patient (patient_record); ``ref`` only where the user may open it
    responders_by_condition: pd.DataFrame
    responders_by_band: pd.DataFrame
    lowest_effective_dose: pd.DataFrame
    side_effects: pd.DataFrame
    flags: pd.DataFrame


def build_cohort(reviews, *, openable_refs=frozenset()) -> Cohort:
    """The cohort from its patients' reviews. ``openable_refs``: the patients the user may open
    (``dashboard.access``); every other patient's reference is dropped here."""
    records = [patient_record(r) for r in reviews]
    patients = pd.DataFrame(records, columns=RECORD_COLUMNS)
    patients["ref"] = patients["ref"].where(patients["ref"].isin(list(openable_refs)), None)
    effects = _stack([patient_effects(r).assign(patient=i) for i, r in enumerate(reviews)], EFFECT_COLUMNS)
    flags = _stack([patient_flags(r).assign(patient=i) for i, r in enumerate(reviews)], FLAG_COLUMNS)
    return Cohort(
        n_patients=len(patients), patients=patients,
        responders_by_condition=responders_by(patients, "condition"),
        responders_by_band=responders_by(patients, "band"),
        lowest_effective_dose=time_to_lowest_effective_dose(patients),
        side_effects=side_effect_rates(effects),
        flags=flag_rates(flags, patients["observed_days"]),
    )


RECORD_COLUMNS = ["ref", "condition", "latest_daily_dose_mg", "band", "responder", "early",
                  "days_to_lowest_effective_dose", "observed_days"]
EFFECT_COLUMNS = ["band", "effect", "diary_days", "days_reported", "severe_days", "patient"]
FLAG_COLUMNS = ["rule", "runs", "patient"]


def _stack(parts: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame({c: pd.Series(dtype="object") for c in columns})
    return pd.concat(parts, ignore_index=True)


def _hide_small(table: pd.DataFrame, figures: list[str]) -> pd.DataFrame:
    """``too_small`` where n < MIN_GROUP, and those rows' figures missing (the one place the rule is applied)."""
    small = table["n"] < MIN_GROUP
    table = table.assign(too_small=small)
    for column in figures:
        table[column] = table[column].astype("float64").mask(small)
    return table


def responders_by(patients: pd.DataFrame, by: str) -> pd.DataFrame:
    """Responder categories at each patient's latest troche step, per ``by`` (condition or band):
    ``n``, then per category the count and the share of the group, and how many of the latest
    steps are still early (judged on their last 7 days, review-metrics.md)."""
    judged = patients[patients["responder"].notna()]
    order = BAND_ORDER + [NO_DAILY_DOSE] if by == "band" else sorted(judged[by].unique(), key=str.casefold)
    counts = pd.crosstab(judged[by], judged["responder"]).reindex(index=order, columns=[*CATEGORIES, NOT_JUDGED],
                                                                  fill_value=0)
    table = counts.rename_axis(index="group", columns=None).reset_index()
    table["n"] = counts.sum(axis=1).to_numpy(dtype="int64")
    table["early"] = judged.groupby(by)["early"].sum().reindex(order, fill_value=0).to_numpy(dtype="int64")
    table = table[table["n"] > 0].reset_index(drop=True)
    for category in (*CATEGORIES, NOT_JUDGED):
        table[f"{category}_share"] = table[category] / table["n"]
    figures = [*CATEGORIES, NOT_JUDGED, "early", *(f"{c}_share" for c in (*CATEGORIES, NOT_JUDGED))]
    return _hide_small(table, figures)


def time_to_lowest_effective_dose(patients: pd.DataFrame) -> pd.DataFrame:
    """Per condition and for all patients: ``n`` (patients with a troche step), how many reached
    a lowest effective dose, and the median and range of days to it among them (see
    ``patient_record``). Patients not there (yet) are counted, not given a time."""
    treated = patients[patients["band"].notna()]
    groups = [(ALL_PATIENTS, treated)] + [(name, part) for name, part in
                                          sorted(treated.groupby("condition"), key=lambda g: g[0].casefold())]
    rows = []
    for name, part in groups:
        days = part["days_to_lowest_effective_dose"].dropna().astype("float64")
        rows.append({"group": name, "n": len(part), "reached": len(days), "not_reached": len(part) - len(days),
                     "median_days": days.median() if len(days) else np.nan,
                     "min_days": days.min() if len(days) else np.nan, "max_days": days.max() if len(days) else np.nan})
    table = pd.DataFrame(rows, columns=["group", "n", "reached", "not_reached", "median_days", "min_days", "max_days"])
    return _hide_small(table.astype({"n": "int64"}), ["reached", "not_reached", "median_days", "min_days", "max_days"])


def side_effect_rates(effects: pd.DataFrame) -> pd.DataFrame:
    """Per dose band and side effect: ``n`` (patients with diary days in the band on which the
    effect was rated), the mean over those patients of the share of their diary days it was
    reported (severity >= 1) and severe (3). Each patient weighs once, however long they kept
    a diary in the band, as in the review each day weighs once however many entries it has."""
    if effects.empty:
        table = pd.DataFrame({"band": [], "effect": [], "n": [], "reported_share": [], "severe_share": []})
        return _hide_small(table.astype({"n": "int64"}), ["reported_share", "severe_share"])
    rated = effects[effects["diary_days"] > 0]
    per_patient = rated.assign(reported=rated["days_reported"] / rated["diary_days"],
                               severe=rated["severe_days"] / rated["diary_days"])
    table = per_patient.groupby(["band", "effect"]).agg(
        n=("patient", "nunique"), reported_share=("reported", "mean"), severe_share=("severe", "mean")).reset_index()
    table["_band"] = table["band"].map({b: i for i, b in enumerate([*BAND_ORDER, NO_DAILY_DOSE])})
    table = table.sort_values(["_band", "effect"]).drop(columns="_band").reset_index(drop=True)
    return _hide_small(table.astype({"n": "int64"}), ["reported_share", "severe_share"])


def flag_rates(flags: pd.DataFrame, observed_days: pd.Series) -> pd.DataFrame:
    """Per rule (flag_rules.RULES order, safety first): flag runs, patients with one, and runs per
    100 patient-months of review period (baseline start to the as-of date; a month is
    365.25/12 days). ``n`` is every patient in the cohort: all contribute time."""
    months = float(observed_days.sum()) / DAYS_PER_MONTH
    rows = []
    for key, rule in RULES.items():
        fired = flags[flags["rule"] == key]
        runs = int(fired["runs"].sum()) if len(fired) else 0
        rows.append({"rule": key, "name": rule.name, "safety": rule.safety, "n": len(observed_days),
                     "patient_months": months, "runs": runs, "patients_with": int(fired["patient"].nunique()),
                     "per_100_patient_months": 100 * runs / months if months else np.nan})
    table = pd.DataFrame(rows, columns=["rule", "name", "safety", "n", "patient_months", "runs", "patients_with",
                                        "per_100_patient_months"])
    return _hide_small(table.astype({"n": "int64"}), ["patient_months", "runs", "patients_with",
                                                       "per_100_patient_months"])


def cohort_json(cohort: Cohort, *, as_of, scope: str) -> dict:
    """The figures as ``cohort --json`` prints them: the aggregate tables only (no patient line,
    no reference), a figure of a group under ``MIN_GROUP`` as null beside ``too_small``."""
    tables = {name: getattr(cohort, name).to_dict("records") for name in (
        "responders_by_band", "responders_by_condition", "lowest_effective_dose", "side_effects", "flags")}
    return json_ready({"as_of": as_of, "scope": scope, "patients": cohort.n_patients, "min_group": MIN_GROUP,
                       "dose_bands": BAND_ORDER, **tables})
