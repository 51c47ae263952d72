"""Tables as a person reads them: a missing value is an empty cell, never the word "None".

Streamlit draws a missing cell as a grey "None", which reads as a value ("locked until None").
"""

from __future__ import annotations

import json

import pandas as pd


def blank_missing(table: pd.DataFrame, *, time_format: str = "%Y-%m-%d %H:%M") -> pd.DataFrame:
    """Text and date-time columns with a missing value as text, the missing cells empty; other
    columns (numbers, yes/no) as they are."""
    out = table.copy()
    for column in out.columns:
        values = out[column]
        if not values.isna().any():
            continue
        if pd.api.types.is_datetime64_any_dtype(values):
            out[column] = [("" if pd.isna(v) else f"{v:{time_format}}") for v in values]
        elif values.dtype == object or pd.api.types.is_string_dtype(values):
            out[column] = ["" if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in values]
    return out


def readable_detail(detail: object) -> str:
    """An audit row's detail (JSON) as a person reads it: ``key: value`` pairs separated by "; ",
    a missing or empty value left out, a list as its items, a nested object in brackets.
    ``{"as_of": null, "format": "json", "patient": "DEMO-001"}`` reads "format: json; patient: DEMO-001".
    Text that is not a JSON object is shown as it is."""
    if not isinstance(detail, str) or not detail:
        return ""
    try:
        value = json.loads(detail)
    except ValueError:
        return detail
    return _readable(value) if isinstance(value, dict) else detail


def _readable(value) -> str:
    if isinstance(value, dict):
        return "; ".join(f"{key}: {_readable(v) if not isinstance(v, dict) else '(' + _readable(v) + ')'}"
                         for key, v in value.items() if not _empty(v))
    if isinstance(value, list):
        return ", ".join(_readable(v) for v in value if not _empty(v))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def _empty(value) -> bool:
    return value is None or value == "" or value == [] or value == {} or (
        isinstance(value, dict) and all(_empty(v) for v in value.values()))


# The review page's main column at 1366 px with the sidebar open is ~986 px wide (1366 less the
# 300 px sidebar and 2 × 2.5rem padding, review_first_screen.COMPACT). Source Sans at Streamlit's
# table font (14 px) averages ~6.4 px a character; a cell has 8 px of padding either side
# (measured in Chromium on the step table, tests/e2e/artifacts/review-*-whole-page.png).
TABLE_PX, CHAR_PX, CELL_PAD_PX, CHECKBOX_PX = 980, 6.4, 16, 56


def fitted_widths(table: pd.DataFrame) -> dict[str, int]:
    """Each column's width in px: its header or its longest cell, whichever is wider, so nothing
    is clipped; yes/no columns (drawn as checkboxes) need only their header."""
    widths = {}
    for column in table.columns:
        values = table[column]
        longest = 0 if pd.api.types.is_bool_dtype(values) else max((len(str(v)) for v in values), default=0)
        need = max(len(str(column)), longest) * CHAR_PX + CELL_PAD_PX
        widths[column] = int(max(need, CHECKBOX_PX if pd.api.types.is_bool_dtype(values) else 0) + 0.999)
    return widths

