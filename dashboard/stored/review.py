"""A stored patient's Review, its JSON (what ``summary --json`` prints) and the pre-visit report's inputs.

The one place the review's frames are read from storage; ``analysis.review.review_of`` builds it.
Access is the caller's check (``dashboard.usecases``).
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from dashboard.analysis.review import Review, review_of
from dashboard.config import Thresholds
from dashboard.db import queries
from dashboard.db.flag_reviews import acknowledgements_frame
from dashboard.db.settings_store import load_thresholds
from dashboard.report import report_pdf


def patient_summary(session, patient_ref: str, *, as_of: date | None = None) -> dict:
    """The review's JSON for a stored patient, with the clinic's thresholds; LookupError if unknown."""
    return patient_review(session, patient_ref, as_of=as_of).to_dict()


def patient_review(session, patient_ref: str, *, as_of: date | None = None) -> Review:
    """The ``Review`` of a stored patient (what ``patient_summary`` prints, the note and the report
    read), with the clinic's thresholds; LookupError if unknown."""
    patient = queries.patient_by_ref(session, patient_ref)
    if patient is None:
        raise LookupError(f"no patient with reference {patient_ref!r}")
    return stored_review(session, patient, as_of=as_of or date.today(), thresholds=load_thresholds(session))


def stored_review(session, patient, *, as_of: date, thresholds: Thresholds) -> Review:
    """``review_of`` a stored patient (a ``db.models.Patient``)."""
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


def patient_report(session, patient_ref: str, *, as_of: date | None = None) -> bytes:
    """The report of a stored patient; LookupError if unknown."""
    review, visits, imports = report_data(session, patient_ref, as_of=as_of)
    return report_pdf(review, visits=visits, imports=imports)


def report_data(session, patient_ref: str, *, as_of: date | None = None) -> tuple[Review, pd.DataFrame, pd.DataFrame]:
    """What the report reads from storage (the Review, visits, imports), so the PDF can be drawn
    after the transaction has closed."""
    review = patient_review(session, patient_ref, as_of=as_of)
    patient = queries.patient_by_ref(session, patient_ref)
    return review, queries.visits_frame(session, patient.id), queries.imports_frame(session, patient_ref)
