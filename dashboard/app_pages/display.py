"""Tables as a person reads them: a missing value is an empty cell, never the word "None".

Streamlit draws a missing cell as a grey "None", which reads as a value ("locked until None").
"""

from __future__ import annotations

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
