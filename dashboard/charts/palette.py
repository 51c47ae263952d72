"""The charts' shared conventions: colours, the severity scale, gaps and untrusted text.

Colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), which
readers with the common colour-vision deficiencies can still tell apart.
"""

from __future__ import annotations

import html

import pandas as pd

ORANGE = "#E69F00"
SKY_BLUE = "#56B4E9"
BLUISH_GREEN = "#009E73"
YELLOW = "#F0E442"
BLUE = "#0072B2"
VERMILLION = "#D55E00"
REDDISH_PURPLE = "#CC79A7"
BLACK = "#000000"
OKABE_ITO = (ORANGE, SKY_BLUE, BLUISH_GREEN, YELLOW, BLUE, VERMILLION, REDDISH_PURPLE, BLACK)

# Neutral greys for context (single days, visits, gaps, earlier intervals): they recede
# behind the coloured series the clinician is reading.
GREY = "#999999"
LIGHT_GREY = "#BBBBBB"
GAP_GREY = "#DDDDDD"

# Side-effect severity 0 none .. 3 severe (CTCAE-style grades): one hue from pale to dark,
# so "more" always reads as "darker" whatever the reader's colour vision.
SEVERITY_SCALE = [(0.0, "#FBF3EA"), (1 / 3, "#FDD5A8"), (2 / 3, VERMILLION), (1.0, "#6B2A00")]
SEVERITY_WORDS = ("none", "mild", "moderate", "severe")


def escaped(value: object) -> str:
    """Text from data made safe for plotly, whose labels and hovers render HTML tags.

    Flag details, step labels and side-effect names can come from what a patient typed.
    """
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else html.escape(str(value))


def mg(value: float) -> str:
    """A dose number as a clinician writes it: 50 (not 50.0), 12.5."""
    return f"{float(value):g}"


def with_gap_breaks(frame: pd.DataFrame, x: str, *, unit: pd.Timedelta | int, min_missing: int = 2) -> pd.DataFrame:
    """Rows sorted by ``x`` with an all-NaN row wherever ``min_missing`` or more steps are missing.

    Plotly joins consecutive points; the NaN row makes it lift the pen, so a line never
    pretends to know how the patient was during a diary gap. A single missing day is
    bridged: it reads as a missed entry, not a gap.
    """
    ordered = frame.sort_values(x).reset_index(drop=True)
    if len(ordered) < 2:
        return ordered
    jump = ordered[x].diff() > unit * min_missing
    if not jump.any():
        return ordered
    after_last_day = (ordered[x].shift(1)[jump] + unit).astype(ordered[x].dtype)
    breaks = pd.DataFrame({x: after_last_day.to_numpy()}, index=ordered.index[jump] - 0.5)
    merged = pd.concat([ordered, breaks]).sort_index()
    return merged.reset_index(drop=True)
