"""A stored patient's review, and its JSON: what ``summary --json`` prints.

Shape and definitions: shared/spec/review-metrics.md. ``Review.to_dict`` writes the JSON:
dates become 'YYYY-MM-DD', missing values None (never 0, never NaN), and floats are rounded to
2 decimals (``reported.json_ready``), at the JSON boundary and in the typed records the page,
note and report word, so no figure is shown differently from the JSON.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.reported import json_ready, truncated  # noqa: F401 - this module's public helpers
from dashboard.analysis.review import Review, build_review, review_of
from dashboard.config import Thresholds


def build_summary(*, patient, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                  visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date,
                  **more) -> dict:
    """Everything the review shows for one patient as of a date: ``build_review(...).to_dict()``."""
    return build_review(patient=patient, diary=diary, side_effects=side_effects, steps=steps, visits=visits,
                        comedications=comedications, thresholds=thresholds, as_of=as_of, **more).to_dict()


def patient_summary(session, patient_ref: str, *, as_of: date | None = None, user=None) -> dict:
    """``build_summary`` for a stored patient, with the clinic's thresholds; LookupError if unknown.

    With ``user``, PermissionError unless the patient is shared with them (``dashboard.access``).
    """
    return patient_review(session, patient_ref, as_of=as_of, user=user).to_dict()


def patient_review(session, patient_ref: str, *, as_of: date | None = None, user=None) -> Review:
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


def stored_review(session, patient, *, as_of: date, thresholds: Thresholds) -> Review:
    """``review_of`` a stored patient (a ``db.models.Patient``); access is the caller's check."""
    from dashboard.db import queries
    from dashboard.db.flag_reviews import acknowledgements_frame

    frames = {
        "diary": queries.diary_frame(session, patient.id),
        "side_effects": queries.side_effects_frame(session, patient.id),
        "steps": queries.titration_frame(session, patient.id),
        "visits": queries.visits_frame(session, patient.id),
        "comedications": queries.comedications_frame(session, patient.id),
        "acknowledgements": acknowledgements_frame(session, patient.id),
        "measures": queries.measures_frame(session, patient.id),
    }
    return review_of(patient, frames, thresholds=thresholds, as_of=as_of)
