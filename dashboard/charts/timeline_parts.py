"""The timeline's pieces (``dashboard.charts.timeline`` assembles them): its constants, the
``Parts`` every panel adds to, the daily values as arrays (``Days``) and how a series is sent to
the browser in the fewest bytes, and the drawing of one series (markers, lines, an empty panel).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from dashboard.charts import palette as c
from dashboard.charts.palette import gap_breaks

DAY = pd.Timedelta(days=1)
HALF_DAY = pd.Timedelta(hours=12)
PAD = 2 * DAY  # either side of the period, so the first and last day's marks are not cut in half
TOLERANCE = 1e-9  # summed decimal doses (12.5 + 12.5) must not tip the over-prescription test
HOME_ROUTE = "troche"
PAIN_TOP = 10.5
PANEL_GAP_PX = 42  # room for a panel's title above it
PANELS = {  # panel: (row, title, height in px); the flags and side-effect lanes grow with their rows
    "pain": (1, "Pain (0–10, 10 = worst): daily, 7-day mean, baseline", 270),
    "flags": (2, "Flags: ▲ safety, ◆ course (hollow, faded: acknowledged; outlined: new since the last visit)", 0),
    "dose": (3, "Ketamine troche: prescribed maximum mg/day and taken", 130),
    "function": (4, "Sleep, mood, function: 7-day means (10 = best)", 170),  # PEG added when drawn
    "side_effects": (5, "Side effects: light mild, mid moderate, dark severe (✕); blank: none or not rated", 0),
    "bp": (6, "Blood pressure (mmHg)", 120),
}
LANE_PX, LANE_PAD_PX = 22, 18
FUNCTION_LINES = (("sleep", c.REDDISH_PURPLE), ("mood", c.BLUISH_GREEN), ("function", c.ORANGE))
PEG_TITLE = "PEG weekly (10 = worst)"
SAFETY_SYMBOL, COURSE_SYMBOL = "triangle-up", "diamond"  # shape as well as colour tells safety apart
SAFETY_MARK, COURSE_MARK = c.SAFETY_MARK, c.COURSE_MARK  # the same shapes in the lanes' names
SEVERE_SYMBOL = "x"  # on each severe side-effect day, over the darkest colour
ON_DAY = "%{x|%d %b %Y}: %{y:.1f}"
MG_ON_DAY = "%{x|%d %b %Y}: %{y:g} mg"
# Step labels: a label is at most about this wide per character at 10 px, on a figure at least
# this wide (the review page's main column at 1366 px is ~986 px; the report draws it wider), less
# the margins: the left one holds the flag lanes' names (11 px, ``LANE_CHAR_PX`` a character).
# Labels that would touch stagger down; one that finds no free line is shortened to its new dose,
# and left out (the dose panel still shows the step) rather than drawn over another.
LABEL_CHAR_PX, FIGURE_PX, LABEL_LEVELS, LABEL_STEP = 6.2, 900, 3, 0.6
LANE_CHAR_PX, RIGHT_MARGIN_PX = 6.8, 90
# A daily series with more drawn days than this is drawn as a thin line, not a marker (or a bar)
# a day: at ~1,200 px of plot, markers of longer series merge into a band, and each is an SVG
# element the browser lays out; a 3-year diary's ~9,000 elements took over a second to draw in
# Chromium, most of the page's time (issues 8 and 12). A line draws the same values in one path.
DENSE_DAYS = 400
HIGHLIGHT_MIN_SHARE = 0.008  # a one-day flag on a three-year axis still gets ~7 px
SELECTED_LABEL_PX = 34  # above the top panel's title


@dataclass
class Parts:
    """What the panels contribute, collected before plotly sees any of it."""

    start: pd.Timestamp  # the x range, padding included
    end: pd.Timestamp
    traces: list = field(default_factory=list)
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    yaxes: dict[str, dict] = field(default_factory=dict)
    heights: dict[str, int] = field(default_factory=lambda: {k: px for k, (_, _, px) in PANELS.items()})
    titles: dict[str, str] = field(default_factory=lambda: {k: title for k, (_, title, _) in PANELS.items()})
    lane_chars: int = 0  # the longest flag lane name, which sets the left margin
    min_font: float = 0.0  # no text smaller than this (px): the printed report's floor
    figure_px: float = FIGURE_PX  # the narrowest the figure is drawn

    def font(self, size: float) -> float:
        return max(size, self.min_font)

    @property
    def plot_px(self) -> float:
        """The narrowest the plot area is drawn: the figure less its margins."""
        lane_px = LANE_CHAR_PX * self.font(11) / 11
        return self.figure_px - max(60.0, lane_px * self.lane_chars + 30) - RIGHT_MARGIN_PX

    def add(self, panel: str, trace: dict) -> None:
        self.traces.append({**trace, "xaxis": _ref("x", panel), "yaxis": _ref("y", panel)})

    def note(self, panel: str, text: str, **where) -> None:
        """Text inside a panel at data coordinates (x, y) or, by default, at its centre."""
        spot = {"xref": f"{_ref('x', panel)} domain", "yref": f"{_ref('y', panel)} domain", "x": 0.5, "y": 0.5}
        if "x" in where:
            spot["xref"] = _ref("x", panel)
        if "y" in where:
            spot["yref"] = _ref("y", panel)
        self.annotations.append({**spot, **where, "text": text, "showarrow": where.get("showarrow", False)})

    def axis(self, panel: str, **settings) -> None:
        self.yaxes.setdefault(panel, {}).update(settings)


def _ref(axis: str, panel: str) -> str:
    row = PANELS[panel][0]
    return axis if row == 1 else f"{axis}{row}"


DAY_MS = 86_400_000  # plotly's date axes count in milliseconds


@dataclass(frozen=True)
class Days:
    """The daily frame as arrays, so each series is cut from them without another pandas pass.

    What goes to the browser is what is drawn, in the fewest bytes (issue 12: ≤ 300 kB for a
    three-year patient): y values rounded to two decimals and sent as float32 (hovers show at
    most two decimals); a series is sent on its day grid (``x0``, ``dx`` = one day, NaN where
    nothing is drawn, which plotly leaves out) when that is smaller than sending each drawn
    day as a 'YYYY-MM-DD' string, as a sparse series (blood pressure, PEG) is.
    """

    number: np.ndarray  # days since 1970-01-01, ascending
    day: np.ndarray  # the same days as datetime64[D], which plotly sends as 'YYYY-MM-DD'
    values: dict[str, np.ndarray]

    @classmethod
    def of(cls, daily: pd.DataFrame) -> Days:
        ordered = daily if daily["diary_date"].is_monotonic_increasing else daily.sort_values("diary_date")
        days = ordered["diary_date"].to_numpy(dtype="datetime64[D]")
        values = {col: ordered[col].to_numpy(dtype="float64") for col in ordered.columns
                  if col != "diary_date" and pd.api.types.is_numeric_dtype(ordered[col])}
        return cls(days.astype("int64"), days, values)

    def has(self, col: str) -> bool:
        return col in self.values and not np.isnan(self.values[col]).all()

    def points(self, col: str) -> tuple[np.ndarray, np.ndarray]:
        """The days with a value and the value, rounded as hovers show it."""
        values = self.values.get(col, np.full(len(self.number), np.nan))
        kept = ~np.isnan(values)
        return self.day[kept], np.round(values[kept], 2)

    def sent(self, col: str, rows: np.ndarray | None = None, **also: np.ndarray) -> dict:
        """A marker or bar series as trace properties: the days with a value (of ``rows`` when
        given) and their values; ``also``: per-point arrays of the same days (``customdata``)."""
        values = self.values.get(col, np.full(len(self.number), np.nan))
        kept = ~np.isnan(values) if rows is None else rows & ~np.isnan(values)
        return on_days(self.number[kept], {"y": values[kept], **{k: v[kept] for k, v in also.items()}})

    def line(self, col: str) -> tuple[dict, dict | None]:
        """A line's points and, when it is sent on its day grid, its bridges.

        The pen is lifted where two or more days have no value and a single missing day is
        bridged, as ``palette.with_gap_breaks`` does. On the day grid a NaN lifts the pen on
        any missing day, so each one-day gap gets a bridge: a segment from the day before to
        the day after, drawn by a second trace in the line's style (``BRIDGED``). Sent as days,
        the line carries a missing value on the day after the last one where the pen lifts.
        """
        values = self.values.get(col, np.full(len(self.number), np.nan))
        kept = ~np.isnan(values)
        number, y = self.number[kept], sent_values(values[kept])
        at = gap_breaks(number)
        span = int(number[-1] - number[0]) + 1 if len(number) else 0
        if span * 4 >= (len(number) + len(at)) * (4 + 13):  # sparse: the days as strings are fewer bytes
            after = (number[at - 1] + 1).astype("datetime64[D]")
            return {"x": np.insert(number.astype("datetime64[D]"), at, after), "y": np.insert(y, at, np.nan)}, None
        points = on_days(number, {"y": y}, grid=True)
        one = np.flatnonzero(np.diff(number) == 2)  # one missing day between these and the next
        if not len(one):
            return points, None
        x = np.column_stack([number[one], number[one + 1], number[one + 1]]).ravel().astype("datetime64[D]")
        ys = np.column_stack([y[one], y[one + 1], np.full(len(one), np.nan, dtype="float32")]).ravel()
        return points, {"x": x, "y": ys}


def sent_values(values: np.ndarray) -> np.ndarray:
    """Values as the browser gets them: two decimals (hovers show at most two), float32."""
    return np.round(np.asarray(values, dtype="float64"), 2).astype("float32")


def on_days(number: np.ndarray, arrays: dict[str, np.ndarray], *, grid: bool = False) -> dict:
    """Per-day arrays (``number``: ascending day numbers, each with a value) as trace properties:
    on the day grid from the first to the last day (``x0``, ``dx``; NaN on the days between)
    when that is fewer bytes than the days as strings (or ``grid``), else the days as x."""
    if not len(number):
        return {"x": np.array([], dtype="datetime64[D]"), **{k: sent_values(v) for k, v in arrays.items()}}
    span = int(number[-1] - number[0]) + 1
    per_point = 4 * len(arrays)  # float32 bytes per day for each array
    if grid or span * per_point <= len(number) * (per_point + 13):  # 'YYYY-MM-DD' and its JSON quotes and comma
        at = (number - number[0]).astype("int64")
        grid = {}
        for key, values in arrays.items():
            grid[key] = np.full(span, np.nan, dtype="float32")
            grid[key][at] = sent_values(values)
        return {"x0": str(number[0].astype("datetime64[D]")), "dx": DAY_MS, **grid}
    return {"x": number.astype("datetime64[D]"), **{k: sent_values(v) for k, v in arrays.items()}}


BRIDGED = "{}, one missing day bridged"  # the name of a line's bridges (never shown: no legend, no hover)


def _lines(parts: Parts, panel: str, days: Days, col: str, name: str, **style) -> None:
    """A line and its bridges over single missing days, one legend entry for both."""
    points, bridges = days.line(col)
    style = {"legendgroup": col, **style}
    parts.add(panel, {"type": "scatter", "mode": "lines", **points, "name": name, **style})
    if bridges is not None:
        parts.add(panel, {**style, "type": "scatter", "mode": "lines", **bridges, "name": BRIDGED.format(name),
                          "showlegend": False, "hoverinfo": "skip", "hovertemplate": None})


def _points(sent: dict, name: str, **style) -> dict:
    return {"type": "scatter", "mode": "markers", **sent, "name": name, **style}


def _dense(days: Days, col: str) -> bool:
    return int((~np.isnan(days.values[col])).sum()) > DENSE_DAYS if col in days.values else False


def _daily(parts: Parts, panel: str, days: Days, col: str, name: str, colour: str, *, size: float,
           opacity: float = 1.0, **style) -> None:
    """A series of daily values: a marker a day, or past ``DENSE_DAYS`` a thin line (gaps kept)."""
    if not _dense(days, col):
        parts.add(panel, _points(days.sent(col), name, marker={"color": colour, "size": size, "opacity": opacity},
                                 **style))
        return
    _lines(parts, panel, days, col, name, line={"color": colour, "width": 1}, opacity=max(opacity, 0.5), **style)


def _empty(parts: Parts, panel: str, text: str) -> None:
    """Say what is missing where it would be, instead of an empty grid that looks like zeros."""
    parts.note(panel, text, font={"color": c.GREY, "size": 13})
    # plotly draws no axes for a panel without traces, and the bottom one carries the dates.
    parts.add(panel, {"type": "scatter", "x": [], "y": [], "name": text, "showlegend": False, "hoverinfo": "skip"})
    parts.axis(panel, showticklabels=False, ticks="")
