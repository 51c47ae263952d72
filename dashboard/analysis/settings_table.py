"""The clinic's thresholds as the settings page lists them: human labels, values with their
units, the default, the allowed values, who may change each and where the default comes from.
The records are ``config.THRESHOLDS``; nothing here decides who may change what (``access``)."""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from dashboard.config import THRESHOLDS, Threshold, Thresholds

COLUMNS = {"setting": "Setting", "value": "Value", "default": "Default", "allowed": "Allowed",
           "who": "Who may change it", "source": "Source of the default"}


def with_unit(threshold: Threshold, value: int | float | str) -> str:
    """A value as a clinician reads it: ``14 days``, ``160 mmHg``, ``moderate`` (a category is its word)."""
    if threshold.choices:
        return str(value)
    unit = threshold.unit
    return f"{value:g} %" if unit == "%" else f"{value:g} {unit}"


def allowed_words(threshold: Threshold) -> str:
    """The allowed values: ``one of minimal, moderate, substantial`` or ``0 to 90 days``."""
    if threshold.choices:
        return "one of " + ", ".join(threshold.choices)
    return f"{threshold.low:g} to {with_unit(threshold, threshold.high)}"


def settings_table(current: Thresholds) -> pd.DataFrame:
    """One row per threshold, in the table's order; every cell a string."""
    values = asdict(current)
    rows = [{"setting": t.label, "value": with_unit(t, values[t.key]) + ("" if values[t.key] == t.default
                                                                          else " (changed)"),
             "default": with_unit(t, t.default), "allowed": allowed_words(t), "who": t.who.capitalize(),
             "source": t.source} for t in THRESHOLDS]
    return pd.DataFrame(rows, columns=list(COLUMNS), dtype="object").rename(columns=COLUMNS)
