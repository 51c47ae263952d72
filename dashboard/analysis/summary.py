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
from dashboard.analysis.review import build_review
from dashboard.config import Thresholds


def build_summary(*, patient, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                  visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date,
                  **more) -> dict:
    """Everything the review shows for one patient as of a date: ``build_review(...).to_dict()``."""
    return build_review(patient=patient, diary=diary, side_effects=side_effects, steps=steps, visits=visits,
                        comedications=comedications, thresholds=thresholds, as_of=as_of, **more).to_dict()
