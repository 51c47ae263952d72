"""Safety since the last visit: the second question of every visit, "is it safe?".

review-metrics.md v2, "Safety since the last visit". The signals are the ones the FDA's 2023
warning on compounded ketamine and the ASRA/AAPM/ASA consensus (Cohen et al. 2018, Reg Anesth
Pain Med 43:521-546) ask prescribers to watch: blood pressure, bladder and urinary symptoms
(ketamine cystitis), dissociation, taking more than prescribed, and co-sedatives (opioids,
benzodiazepines). "No blood pressure reading" is said, not hidden: 0 readings is a finding.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashboard.analysis.daily import day, in_period
from dashboard.analysis.safety_flags import CO_SEDATIVE_CLASSES, bladder_columns
from dashboard.analysis.measures import labs_since
from dashboard.analysis.side_effects import SEVERE
from dashboard.config import Thresholds
from dashboard.medications import drug_class, ingredient


@dataclass(frozen=True)
class SafetySinceLastVisit:
    """``safety_since_last_visit`` of ``summary --json``; counts are of days or readings in the interval."""

    last_visit: pd.Timestamp | None  # None: no visit yet, the interval is the whole review period
    start: pd.Timestamp | None
    end: pd.Timestamp
    max_systolic: float | None
    max_diastolic: float | None
    high_readings: int
    bp_days: int
    bladder_days: int
    bladder_max: int | None
    severe_dissociation_days: int
    over_prescribed_days: int
    max_excess_mg: float | None
    co_sedatives: list[str] = field(default_factory=list)
    # v3, "How much the diary covers": calendar days of the interval (both ends counted), days with
    # any diary entry among them, and their share (None when the interval has no days).
    days: int = 0
    diary_days: int = 0
    coverage: float | None = None
    # v3, "Liver and bladder tests": the latest of each lab code in the interval (``LabResult``).
    labs: list = field(default_factory=list)

    def json(self) -> dict:
        keys = ("last_visit", "max_systolic", "max_diastolic", "high_readings", "bp_days", "bladder_days",
                "bladder_max", "severe_dissociation_days", "over_prescribed_days", "max_excess_mg", "co_sedatives",
                "days", "diary_days", "coverage")
        return {**{key: getattr(self, key) for key in keys}, "labs": [lab.json() for lab in self.labs]}

    def too_sparse(self, thresholds: Thresholds) -> bool:
        """Coverage below ``coverage_min_share``: a count of 0 cannot be read as "none"."""
        return self.coverage is None or round(self.coverage, 9) < thresholds.coverage_min_share


def safety_since_last_visit(*, diary: pd.DataFrame, severity: pd.DataFrame, over_days: pd.DataFrame,
                            comedications: pd.DataFrame, last_visit: pd.Timestamp | None,
                            period_start: pd.Timestamp | None, as_of: date,
                            thresholds: Thresholds, labs: pd.DataFrame | None = None) -> SafetySinceLastVisit:
    """From the last visit (or the start of the review period) to the as-of date, both included.

    ``diary``: entries (each BP pair is one reading); ``severity``: daily side-effect severity
    (wide); ``over_days``: ``adherence.over_prescribed_days``; ``labs``: ``measures.lab_results``.
    """
    end = day(as_of)
    start = day(last_visit) if last_visit is not None else (None if period_start is None else day(period_start))
    lower = start if start is not None else pd.Timestamp.min.normalize()
    entries = in_period(diary, lower, end)
    readings = entries.dropna(subset=["bp_systolic", "bp_diastolic"], how="all")
    high = ((readings["bp_systolic"] >= thresholds.bp_systolic_high)
            | (readings["bp_diastolic"] >= thresholds.bp_diastolic_high))
    days = severity[(severity.index >= lower) & (severity.index <= end)]
    bladder_cols = bladder_columns(days)
    bladder = days[bladder_cols].max(axis=1).dropna() if bladder_cols else pd.Series(dtype="float64")
    dissociation = days["dissociation"] if "dissociation" in days else pd.Series(dtype="float64")
    over = in_period(over_days, lower, end)
    over = over[over["over"]]
    # Without a visit and a review period the interval starts at the first entry: nothing before it to count.
    first = start if start is not None else (entries["diary_date"].min() if len(entries) else end)
    days_in = max(int((end - day(first)).days) + 1, 0)
    diary_days = int(entries["diary_date"].nunique())
    return SafetySinceLastVisit(
        last_visit=None if last_visit is None else day(last_visit), start=start, end=end,
        max_systolic=_max(readings["bp_systolic"]), max_diastolic=_max(readings["bp_diastolic"]),
        high_readings=int(high.sum()), bp_days=int(readings["diary_date"].nunique()),
        bladder_days=int((bladder >= 1).sum()),
        bladder_max=int(bladder.max()) if (bladder >= 1).any() else None,
        severe_dissociation_days=int((dissociation >= SEVERE).sum()),
        over_prescribed_days=int(over["diary_date"].nunique()),
        max_excess_mg=_max(over["taken_mg"] - over["max_mg"]),
        co_sedatives=co_sedatives_active(entries, comedications, lower, end),
        days=days_in, diary_days=diary_days, coverage=diary_days / days_in if days_in else None,
        labs=[] if labs is None else labs_since(labs, start, end),
    )


def co_sedatives_active(entries: pd.DataFrame, comedications: pd.DataFrame, start, end) -> list[str]:
    """Opioids and benzodiazepines named in the interval's diary entries or active in it in the
    co-medication records, as 'name (class)', one per drug (review-metrics.md v3, "one line per
    drug": the ingredient decides, and the latest mention's name is the one shown)."""
    found: dict[str, tuple] = {}

    def seen(when, name: str, cls: str) -> None:
        key = ingredient(name)
        if key not in found or (when, name) >= found[key][:2]:
            found[key] = (when, name, cls)

    for when, text in zip(entries["diary_date"], entries["other_medication"]):
        if text is None or pd.isna(text):
            continue
        cls = drug_class(str(text))
        if cls in CO_SEDATIVE_CLASSES:
            seen(day(when), str(text).strip(), cls)
    start, end = day(start), day(end)
    for rec in comedications.itertuples(index=False):
        # A record of unknown start (a MedicationStatement without a date) is known on the review day.
        started = end if pd.isna(rec.start_date) else day(rec.start_date)
        if started > end:
            continue
        ended = rec.end_date if not pd.isna(rec.end_date) else (
            None if str(rec.status or "").lower() == "active" else started)
        if ended is not None and day(ended) < start:
            continue
        cls = rec.drug_class if rec.drug_class in CO_SEDATIVE_CLASSES else drug_class(
            rec.name, None if rec.rxnorm is None or pd.isna(rec.rxnorm) else str(rec.rxnorm))
        if cls in CO_SEDATIVE_CLASSES:
            seen(started, str(rec.name), cls)
    return sorted(f"{name} ({cls})" for _, name, cls in found.values())


def _max(values: pd.Series) -> float | None:
    value = values.max()
    return None if pd.isna(value) else float(value)
