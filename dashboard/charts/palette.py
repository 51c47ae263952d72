"""The charts' shared conventions: colours, the severity scale, gaps and untrusted text.

Colours are the Okabe–Ito palette (Okabe & Ito 2008, "Color Universal Design"), which
readers with the common colour-vision deficiencies can still tell apart.
"""

from __future__ import annotations

import html

import numpy as np
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

# Side-effect severity 1 mild .. 3 severe (CTCAE-style grades): one hue from light to dark,
# so "more" always reads as "darker" whatever the reader's colour vision. 0 (none) is not on
# the scale: it is left blank, so that a mild day stands out against nothing.
SEVERITY_SCALE = [(0.0, "#F9BE85"), (0.5, VERMILLION), (1.0, "#6B2A00")]
SEVERITY_WORDS = ("none", "mild", "moderate", "severe")

# Safety is told apart by shape as well as by colour, for readers who cannot tell vermillion
# from the course colour: the timeline's flag markers and lane names, the cohort's flag bars.
SAFETY_MARK, COURSE_MARK = "▲", "◆"


def escaped(value: object) -> str:
    """Text from data made safe for plotly, whose labels and hovers render HTML tags.

    Flag details, step labels and side-effect names can come from what a patient typed.
    """
    return "" if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)) else html.escape(str(value))


def effect_name(value: object) -> str:
    """A side effect as a clinician writes it ('brain fog', never the key 'brain_fog'), made safe."""
    return escaped(str(value).replace("_", " ").strip())


def mg(value: float) -> str:
    """A dose number as a clinician writes it: 50 (not 50.0), 12.5."""
    return f"{float(value):g}"


def gap_breaks(x: np.ndarray, *, min_missing: int = 2) -> np.ndarray:
    """Positions in sorted whole-unit ``x`` (day numbers) after which ``min_missing`` or more
    units are missing: where a line must lift the pen."""
    return np.flatnonzero(np.diff(x) > min_missing) + 1


def with_gap_breaks(frame: pd.DataFrame, x: str, *, unit: pd.Timedelta | int, min_missing: int = 2) -> pd.DataFrame:
    """Rows sorted by ``x`` with an all-NaN row wherever ``min_missing`` or more steps are missing.

    Plotly joins consecutive points; the NaN row makes it lift the pen, so a line never
    pretends to know how the patient was during a diary gap. A single missing day is
    bridged: it reads as a missed entry, not a gap.
    """
    ordered = frame.sort_values(x, kind="stable").reset_index(drop=True)
    if len(ordered) < 2:
        return ordered
    positions = gap_breaks(((ordered[x] - ordered[x].iloc[0]) / unit).to_numpy(dtype="float64"),
                           min_missing=min_missing)
    if not len(positions):
        return ordered
    # The break row sits on the day after the last one with a value, all other columns missing.
    breaks = pd.DataFrame({x: (ordered[x].iloc[positions - 1] + unit).to_numpy()}, index=positions - 0.5)
    return pd.concat([ordered, breaks]).sort_index(kind="stable").reset_index(drop=True)


# The look of plotly's "simple_white" template, reduced to what these figures use: assigning
# the full template re-validates every trace type's defaults, a sixth of a figure's build time.
AXIS_STYLE = {"automargin": True, "showgrid": False, "showline": True, "linecolor": "rgb(36,36,36)",
              "ticks": "outside", "zeroline": False, "title": {"standoff": 15}}
TEMPLATE_LAYOUT = {"font": {"color": "rgb(36,36,36)"}, "paper_bgcolor": "white", "plot_bgcolor": "white",
                   "hoverlabel": {"align": "left"}, "colorway": list(OKABE_ITO),
                   "xaxis": AXIS_STYLE, "yaxis": AXIS_STYLE}
