"""The review timeline: every panel on one date axis, so cause and effect line up.

Panels, top to bottom: flags (one lane per rule that fired, safety first), pain (daily, 7-day
mean, baseline and relief band, step labels), ketamine dose (prescribed maximum and doses
taken), sleep/mood/function and PEG, side-effect severity, blood pressure. Visits are dotted
lines across all panels, in-clinic infusions a coloured line, diary gaps shaded and never
bridged by a line, the flag the clinician selected a yellow band.

Built in one go (STYLE.md, "Figures built in one go"): traces, shapes and annotations are
collected as plain dicts and handed to plotly once. A shape added with ``add_vline(row="all")``
re-validates every shape before it, which made a three-year patient take seconds.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.periods import held_visits
from dashboard.charts import palette as c
from dashboard.charts.palette import effect_name, escaped, gap_breaks, mg
from dashboard.charts.side_effects import SEVERE, severity_heatmap

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


def timeline(daily: pd.DataFrame, steps: pd.DataFrame, visits: pd.DataFrame, side_effect_days: pd.DataFrame,
             flags: pd.DataFrame, *, baseline: float | None, bp_limits: tuple[float, float] = (160, 100),
             gaps: pd.DataFrame | None = None, highlight: tuple[date, date] | None = None,
             relief_pct: tuple[float, float] = (30.0, 50.0), period: tuple[date, date] | None = None,
             min_font_px: float = 0.0, figure_px: float = FIGURE_PX) -> go.Figure:
    """The patient's course on one date axis.

    daily: diary_date, pain, pain_7d, sleep, mood, function (and sleep_7d, mood_7d,
    function_7d when computed), peg, dose_taken_mg, dose_prescribed_mg (the day's prescribed
    maximum, NaN without a step), bp_systolic, bp_diastolic. steps: start, end, dose_mg,
    daily_dose_mg, frequency, route[, label]. visits: date, kind ('in person', 'telehealth',
    'infusion'). side_effect_days: diary_date, effect, severity (the day's max, 0-3). flags:
    rule, name, safety, start, end, detail, new, acknowledged (dates already clipped to the
    review period). gaps: start, end (first and last day without an entry). highlight: the
    dates of the flag the clinician selected. period: baseline start to as-of date; the date
    axis spans exactly it (without it, whatever the data spans). min_font_px: no text smaller
    (the printed report's floor, ``report.chart``), on a figure at least ``figure_px`` wide.
    The relief band spans 30-50 % below baseline (Farrar et al. 2001; IMMPACT 2008).
    """
    start, end = _span(period, daily, steps, visits, flags, gaps, highlight)
    parts = Parts(start - PAD, end + PAD, min_font=min_font_px, figure_px=figure_px)
    daily = daily[daily["diary_date"].between(parts.start, parts.end)]
    days = Days.of(daily)
    flag_runs = flag_rows(flags)
    _flag_lanes(parts, flag_runs)
    _pain_panel(parts, days, baseline, relief_pct)
    _step_labels(parts, steps)
    _dose_panel(parts, days)
    _function_panel(parts, days)
    _side_effect_panel(parts, side_effect_days, daily["diary_date"])
    _bp_panel(parts, days, bp_limits)
    _visits(parts, visits)
    _gaps(parts, gaps)
    _highlight(parts, highlight, flag_runs)
    return _figure(parts)


def review_timeline(review, visits: pd.DataFrame, *, highlight: tuple[date, date] | None = None,
                    **text) -> go.Figure:
    """The timeline of a ``Review`` (the page's and the report's one figure): visits up to its
    as-of date, limits and relief band from its thresholds, the axis spanning its period."""
    limits = review.thresholds
    visits = held_visits(visits)  # a booked visit is a plan, not drawn as one that happened
    return timeline(
        review.daily, review.steps, visits[visits["date"] <= review.period[1]], review.side_effect_days, timeline_flags(review.flags),
        baseline=review.baseline.mean_pain, bp_limits=(limits.bp_systolic_high, limits.bp_diastolic_high),
        gaps=review.gaps, highlight=highlight,
        relief_pct=(limits.responder_moderate_pct, limits.responder_substantial_pct), period=review.period, **text,
    )


def timeline_flags(status: pd.DataFrame) -> pd.DataFrame:
    """Flags as the timeline draws them: dates clipped to the review period; runs wholly before it
    are left to the flag list, which keeps their true dates."""
    kept = status[status["shown_end"] >= status["shown_start"]]
    return kept.assign(start=kept["shown_start"], end=kept["shown_end"])[
        ["rule", "name", "safety", "start", "end", "detail", "new", "acknowledged"]].reset_index(drop=True)


def _ref(axis: str, panel: str) -> str:
    row = PANELS[panel][0]
    return axis if row == 1 else f"{axis}{row}"


def _span(period, daily, steps, visits, flags, gaps, highlight) -> tuple[pd.Timestamp, pd.Timestamp]:
    """The review period when given; otherwise every dated mark, so nothing falls off the axis."""
    if period is not None:
        return pd.Timestamp(period[0]), pd.Timestamp(period[1])
    marks = [daily["diary_date"], steps.get("start"), visits.get("date"), flags.get("start"), flags.get("end"),
             None if gaps is None else gaps["end"], None if highlight is None else pd.Series(highlight)]
    dates = pd.to_datetime(pd.concat([m for m in marks if m is not None and len(m)], ignore_index=True)).dropna()
    if dates.empty:
        today = pd.Timestamp.today().normalize()
        return today - 7 * DAY, today
    return dates.min(), dates.max()


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


# Flags ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class FlagRun:
    lane: int  # 0 at the top: safety rules first
    name: str  # human, never the rule key
    safety: bool
    start: pd.Timestamp
    end: pd.Timestamp
    detail: str
    new: bool
    acknowledged: bool


def _flag(record: dict, key: str) -> bool:
    value = record.get(key, False)
    return bool(value) if value is not None and not (pd.api.types.is_scalar(value) and pd.isna(value)) else False


def flag_rows(flags: pd.DataFrame) -> list[FlagRun]:
    """The flag runs as the lanes draw them, lane by lane, each in date order: a lane per rule,
    safety rules first, then in the order the rules first appear in ``flags``.

    A flag without ``name`` gets its rule key made readable ('Bp high'), never the raw key.
    """
    records = flags.to_dict("records")
    lanes: dict[str, int] = {}
    for safety in (True, False):
        for record in records:
            if _flag(record, "safety") == safety:
                lanes.setdefault(record["rule"], len(lanes))
    runs = []
    for record in records:
        name = record.get("name")
        if not isinstance(name, str) or not name.strip():
            name = str(record["rule"]).replace("_", " ").capitalize()
        start = pd.Timestamp(record["start"])
        end = start if pd.isna(record.get("end")) else pd.Timestamp(record["end"])
        runs.append(FlagRun(lanes[record["rule"]], name, _flag(record, "safety"), start, end,
                            escaped(record.get("detail")), _flag(record, "new"), _flag(record, "acknowledged")))
    return sorted(runs, key=lambda run: (run.lane, run.start))


def _when(start: pd.Timestamp, end: pd.Timestamp) -> str:
    return _day(start) if start == end else f"{_day(start)} – {_day(end)}"


def _flag_hover(run: FlagRun) -> str:
    status = "new since the last visit" if run.new else ("acknowledged" if run.acknowledged else "")
    return "<br>".join(line for line in (f"<b>{escaped(run.name)}</b>", _when(run.start, run.end), run.detail, status)
                       if line)


def lane_label(run: FlagRun, new: bool) -> str:
    """A lane's tick label: its marker's shape (▲ safety, ◆ course), the rule's human name, safety
    also in vermillion, NEW while a run since the last visit is not acknowledged."""
    text = f"{SAFETY_MARK if run.safety else COURSE_MARK} {escaped(run.name)}"
    text = f'<span style="color:{c.VERMILLION}">{text}</span>' if run.safety else text
    return f"{text} <b>NEW</b>" if new else text


def _flag_lanes(parts: Parts, runs: list[FlagRun]) -> None:
    """A bar from a run's first to its last day and a marker at its middle that keeps a one-day
    run visible (and carries the hover).
    Safety a vermillion triangle, course flags a blue diamond (shape and colour, for colour-blind
    readers); acknowledged runs hollow and faded, new ones larger and outlined."""
    runs = [r for r in runs if r.end >= parts.start and r.start <= parts.end]
    firsts = {r.lane: r for r in reversed(runs)}  # lane -> its first run (for the name)
    lanes = sorted(firsts)
    parts.lane_chars = max((len(r.name) + 6 for r in firsts.values()), default=0)  # "▲ " and " NEW"
    parts.heights["flags"] = LANE_PX * max(len(lanes), 1) + LANE_PAD_PX
    if not runs:
        _empty(parts, "flags", "no flags in this period")
        return
    row = {lane: i for i, lane in enumerate(lanes)}
    y = [row[r.lane] for r in runs]
    colour = [c.VERMILLION if r.safety else c.BLUE for r in runs]
    opacity = [0.3 if r.acknowledged else 1.0 for r in runs]
    starts = [max(r.start, parts.start) for r in runs]
    ends = [min(r.end, parts.end) for r in runs]
    parts.add("flags", {
        "type": "bar", "orientation": "h", "name": "flag runs", "showlegend": False, "hoverinfo": "skip",
        "y": y, "base": [(s - HALF_DAY).isoformat() for s in starts], "width": 0.5,
        "x": [(e - s + DAY) / pd.Timedelta(milliseconds=1) for s, e in zip(starts, ends)],
        "marker": {"color": colour, "opacity": opacity, "line": {"width": 0}}})
    parts.add("flags", {
        "type": "scatter", "mode": "markers", "name": "flags", "showlegend": False,
        "x": [(s + (e - s) / 2).isoformat() for s, e in zip(starts, ends)], "y": y,
        "hovertext": [_flag_hover(r) for r in runs], "hovertemplate": "%{hovertext}<extra></extra>",
        "marker": {"symbol": [(SAFETY_SYMBOL if r.safety else COURSE_SYMBOL) + ("-open" if r.acknowledged else "")
                              for r in runs], "color": colour, "opacity": opacity,
                   "size": [12 if r.new else 9 for r in runs],
                   "line": {"color": c.BLACK, "width": [1.5 if r.new else 0 for r in runs]}}})
    new = {r.lane for r in runs if r.new and not r.acknowledged}
    parts.axis("flags", tickvals=list(range(len(lanes))), range=[len(lanes) - 0.4, -0.6], ticks="",
               ticktext=[lane_label(firsts[lane], lane in new) for lane in lanes], tickfont={"size": 11})


# Pain, steps, dose, function -------------------------------------------------------------

def _pain_panel(parts: Parts, days: Days, baseline: float | None, relief_pct: tuple[float, float]) -> None:
    parts.axis("pain", range=[0, PAIN_TOP])
    if not days.has("pain"):
        _empty(parts, "pain", "no pain recorded")
    else:
        _daily(parts, "pain", days, "pain", "daily pain", c.GREY, size=4, hovertemplate=ON_DAY)
        if days.has("pain_7d"):
            _lines(parts, "pain", days, "pain_7d", "7-day mean", line={"color": c.BLUE, "width": 2.5},
                   hovertemplate=ON_DAY)
    if baseline is None or pd.isna(baseline):
        return
    low, high = sorted(relief_pct)
    across = {"xref": f"{_ref('x', 'pain')} domain", "x0": 0, "x1": 1, "yref": _ref("y", "pain"), "layer": "below"}
    parts.shapes.append({"type": "rect", **across, "y0": baseline * (1 - high / 100), "y1": baseline * (1 - low / 100),
                         "fillcolor": c.BLUISH_GREEN, "opacity": 0.12, "line": {"width": 0}})
    parts.shapes.append({"type": "line", **across, "y0": baseline, "y1": baseline,
                         "line": {"color": c.BLUISH_GREEN, "dash": "dash", "width": 1}})
    at_left = {"x": 0.005, "xref": f"{_ref('x', 'pain')} domain", "xanchor": "left", "yanchor": "bottom"}
    parts.note("pain", f"{low:g}–{high:g} % relief", y=baseline * (1 - high / 100), **at_left,
               font={"color": c.BLUISH_GREEN, "size": 11})
    parts.note("pain", f"baseline {baseline:.1f}", y=baseline, **at_left, font={"size": 11})


def step_labels(steps: pd.DataFrame) -> pd.Series:
    """What changed, where it changed, in mg/day (review-metrics.md, "Doses").

    Troche steps: 'start 25 mg/day', then '50 → 100 mg/day' against the previous troche step's
    ``daily_dose_mg``; a schedule change at the same daily dose names the new schedule.
    Other routes (IV or IM in clinic) are sessions, not days: 'IV 35 mg'. A step without a
    daily dose (as needed without a maximum) gives its dose and schedule.
    """
    labels, before = {}, None  # before: the previous troche step's mg/day, None before the first
    for i, step in steps.sort_values("start", kind="stable").iterrows():
        route = "" if pd.isna(step.get("route")) else str(step["route"]).strip()
        per_day, schedule = step.get("daily_dose_mg", float("nan")), step.get("frequency")
        schedule = "" if pd.isna(schedule) else str(schedule)
        if route.lower() not in (HOME_ROUTE, ""):
            labels[i] = f"{route} {mg(step['dose_mg'])} mg"
            continue
        if pd.isna(per_day):
            labels[i] = f"{mg(step['dose_mg'])} mg {schedule}".strip()
        elif before is None:
            labels[i] = f"start {mg(per_day)} mg/day"
        elif pd.isna(before) or before == per_day:
            labels[i] = f"{mg(per_day)} mg/day" + (f", {schedule}" if before == per_day and schedule else "")
        else:
            labels[i] = f"{mg(before)} → {mg(per_day)} mg/day"
        before = per_day
    return pd.Series(labels, dtype="object").reindex(steps.index)


def label_levels(starts: list[pd.Timestamp], widths: list[pd.Timedelta], levels: int = LABEL_LEVELS,
                 short_widths: list[pd.Timedelta] | None = None) -> list[tuple[int, bool] | None]:
    """Where each label goes, placed in date order: (line, shortened) on the highest line where the
    label before it has ended. When no line is free, the label before it on some line is shortened
    (``short_widths``) if that frees the line; else the label is left out (None). Labels never overlap.
    """
    last: list[int | None] = [None] * levels  # the label drawn last on each line
    placed: list[list | None] = []
    for i, start in enumerate(starts):
        def ends(j: int | None) -> pd.Timestamp:
            if j is None:
                return pd.Timestamp.min
            return starts[j] + (short_widths[j] if placed[j][1] else widths[j])
        level = next((n for n in range(levels) if start >= ends(last[n])), None)
        if level is None and short_widths is not None:
            for n in range(levels):  # shorten the label in the way, if that makes room
                j = last[n]
                if not placed[j][1] and start >= starts[j] + short_widths[j]:
                    placed[j][1], level = True, n
                    break
        if level is None:
            placed.append(None)
            continue
        placed.append([level, False])
        last[level] = i
    return [None if p is None else (p[0], p[1]) for p in placed]


def short_label(label: str) -> str:
    """A step label cut to its new dose: '50 → 75 mg/day' -> '75 mg/day', 'start 25 mg/day' -> '25 mg/day'."""
    return label.split("→")[-1].strip() if "→" in label else label.removeprefix("start ").strip()


def _step_labels(parts: Parts, steps: pd.DataFrame) -> None:
    labels = step_labels(steps)
    if "label" in steps:  # a label the caller chose wins
        labels = steps["label"].where(steps["label"].notna(), labels)
    per_px = (parts.end - parts.start) / parts.plot_px
    shown = sorted((start, str(label), route) for start, label, route in zip(steps["start"], labels, steps["route"])
                   if parts.start <= start <= parts.end)
    size = parts.font(10)
    width = lambda text: per_px * (LABEL_CHAR_PX * size / 10 * len(text) + 8)  # noqa: E731 - text and padding
    places = label_levels([s for s, _, _ in shown], [width(label) for _, label, _ in shown],
                          short_widths=[width(short_label(label)) for _, label, _ in shown])
    for (start, label, route), place in zip(shown, places):
        if place is None:
            continue
        level, short = place
        home = pd.isna(route) or str(route).strip().lower() in (HOME_ROUTE, "")
        parts.note("pain", escaped(short_label(label) if short else label), x=start.strftime("%Y-%m-%d"),
                   y=PAIN_TOP - 0.05 - LABEL_STEP * size / 10 * level, xanchor="left", yanchor="top",
                   bgcolor="rgba(255,255,255,0.75)", font={"size": size, "color": c.BLACK if home else c.REDDISH_PURPLE})


def _dose_panel(parts: Parts, days: Days) -> None:
    if not days.has("dose_prescribed_mg") and not days.has("dose_taken_mg"):
        _empty(parts, "dose", "no ketamine doses recorded or prescribed")
        return
    if days.has("dose_prescribed_mg"):
        _lines(parts, "dose", days, "dose_prescribed_mg", "prescribed", hovertemplate=MG_ON_DAY,
               line={"color": c.ORANGE, "width": 2.5, "shape": "hv"})
    taken, prescribed = days.values["dose_taken_mg"], days.values["dose_prescribed_mg"]
    with np.errstate(invalid="ignore"):
        over = taken > prescribed + TOLERANCE
    bar_width = DAY.total_seconds() * 1000 * 0.7
    for name, rows, colour in (("taken", ~np.isnan(taken) & ~over, c.SKY_BLUE),
                               ("above prescription", over, c.VERMILLION)):
        if name == "taken" and rows.any() and _dense(days, "dose_taken_mg"):
            # Every day's dose as one stepped area (the days above prescription stay bars on top).
            points, _ = days.line("dose_taken_mg")
            parts.add("dose", {"type": "scatter", "mode": "lines", **points, "name": name, "fill": "tozeroy",
                               "line": {"color": c.SKY_BLUE, "width": 0.5, "shape": "hv"},
                               "fillcolor": c.SKY_BLUE, "hovertemplate": "%{x|%d %b %Y}: %{y:g} mg taken"})
            continue
        if rows.any():
            parts.add("dose", {
                "type": "bar", **days.sent("dose_taken_mg", rows, customdata=prescribed), "name": name,
                # Above the prescription: crosshatched as well as vermillion (not by colour alone).
                "marker": {"color": colour, **({"pattern": {"shape": "x", "fgcolor": c.BLACK, "size": 4}}
                                               if name == "above prescription" else {})}, "width": bar_width,
                "hovertemplate": "%{x|%d %b %Y}: %{y:g} mg taken, %{customdata:g} mg prescribed"})
    parts.axis("dose", title={"text": "mg/day"}, rangemode="tozero")


def _function_panel(parts: Parts, days: Days) -> None:
    """7-day means over faint daily values; PEG (weekly, 10 = worst) as points joined across the week."""
    drawn = [col for col, _ in FUNCTION_LINES if days.has(col)]
    for col, colour in FUNCTION_LINES:
        if col not in drawn:
            continue
        style = {"legendgroup": col, "hovertemplate": ON_DAY}
        if not days.has(f"{col}_7d"):  # no 7-day mean computed: the daily values are the line
            _lines(parts, "function", days, col, col, line={"color": colour, "width": 1.5}, **style)
            continue
        _daily(parts, "function", days, col, f"{col} (daily)", colour, size=3, opacity=0.35, showlegend=False,
               **style)
        _lines(parts, "function", days, f"{col}_7d", col, line={"color": colour, "width": 2}, **style)
    if days.has("peg"):
        parts.titles["function"] = f"{PANELS['function'][1]} · {PEG_TITLE}" if drawn else PEG_TITLE
        # Weekly: the week's points are joined whatever lies between them.
        parts.add("function", {**_points(days.sent("peg"), "PEG (weekly, 10 = worst)", hovertemplate=ON_DAY,
                                         line={"color": c.BLACK, "width": 1.2, "dash": "dot"},
                                         marker={"color": c.BLACK, "size": 6, "symbol": "square"}),
                               "mode": "lines+markers", "connectgaps": True})
    elif not drawn:
        _empty(parts, "function", "no sleep, mood, function or PEG recorded")
        parts.titles["function"] = "Sleep, mood, function, PEG"
    parts.axis("function", range=[0, PAIN_TOP])


def _side_effect_panel(parts: Parts, side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> None:
    shown = side_effect_days[side_effect_days["diary_date"].between(parts.start, parts.end)]
    effects = shown["effect"].nunique()
    parts.heights["side_effects"] = max(LANE_PX * effects + LANE_PAD_PX, 70)
    if shown.empty:
        _empty(parts, "side_effects", "no side effects recorded")
        return
    heatmap = severity_heatmap(shown, diary_dates)
    heatmap["colorbar"].update(x=1.01, title={"text": "severity", "font": {"size": 10}})
    parts.add("side_effects", heatmap)
    # Severe days carry a mark as well as the darkest colour: readable without telling colours apart.
    severe = shown[shown["severity"] >= SEVERE].drop_duplicates(["diary_date", "effect"])
    if not severe.empty:
        parts.add("side_effects", {
            "type": "scatter", "mode": "markers", "name": "severe side effect (✕)", "legendgroup": "severe",
            "x": pd.to_datetime(severe["diary_date"]).dt.strftime("%Y-%m-%d").to_numpy(),
            "y": [effect_name(e) for e in severe["effect"]], "hoverinfo": "skip",
            "marker": {"symbol": SEVERE_SYMBOL, "size": 7, "color": c.BLACK, "line": {"color": "white", "width": 1}}})
    parts.axis("side_effects", autorange="reversed", ticks="")


def _bp_panel(parts: Parts, days: Days, bp_limits: tuple[float, float]) -> None:
    readings = (("bp_systolic", "systolic", c.VERMILLION), ("bp_diastolic", "diastolic", c.BLUE))
    if not any(days.has(col) for col, _, _ in readings):
        _empty(parts, "bp", "no blood pressure recorded")
        return
    across = {"xref": f"{_ref('x', 'bp')} domain", "x0": 0, "x1": 1, "yref": _ref("y", "bp")}
    for (col, name, colour), limit in zip(readings, bp_limits):
        if days.has(col):
            hover = "%{x|%d %b %Y}: %{y:g} mmHg"
            if _dense(days, col):  # the readings as a line, and those at or above the limit as markers
                _daily(parts, "bp", days, col, name, colour, size=5, hovertemplate=hover, legendgroup=col)
                with np.errstate(invalid="ignore"):
                    high = days.values[col] >= limit
                if high.any():
                    parts.add("bp", _points(days.sent(col, high), f"{name} ≥ {limit:g}", legendgroup=col,
                                            showlegend=False, marker={"color": colour, "size": 5},
                                            hovertemplate=hover))
            else:
                parts.add("bp", _points(days.sent(col), name, marker={"color": colour, "size": 5},
                                        hovertemplate=hover))
        # The threshold the bp_high flag uses (ketamine raises blood pressure; FDA 2023, ASRA/AAPM 2018).
        parts.shapes.append({"type": "line", **across, "y0": limit, "y1": limit, "opacity": 0.6,
                             "line": {"color": colour, "dash": "dash", "width": 1}})
        parts.note("bp", f"{limit:g}", x=1.0, xref=f"{_ref('x', 'bp')} domain", y=limit, xanchor="left",
                   font={"color": colour, "size": 10})
    recorded = np.concatenate([days.points(col)[1] for col, _, _ in readings])
    top, bottom = max(*bp_limits, recorded.max()), min(*bp_limits, recorded.min())
    parts.axis("bp", range=[max(bottom - 20, 0), top + 15])


# Marks across every panel -----------------------------------------------------------------

def _day(value) -> str:
    return "" if pd.isna(value) else f"{pd.Timestamp(value):%d %b %Y}"


def _visits(parts: Parts, visits: pd.DataFrame) -> None:
    """One line per visit day from the bottom panel to the top one (an infusion wins the day)."""
    infusion_days: dict[pd.Timestamp, bool] = {}
    for when, kind in zip(pd.to_datetime(visits["date"]), visits["kind"]):
        if pd.notna(when) and parts.start <= when <= parts.end:
            day = when.normalize()
            infusion_days[day] = infusion_days.get(day, False) or str(kind).strip().lower() == "infusion"
    for infusion in sorted(set(infusion_days.values())):  # the kinds of line drawn, in the legend
        parts.add("bp", {"type": "scatter", "mode": "lines", "x": [None], "y": [None], "hoverinfo": "skip",
                         "name": "infusion in clinic" if infusion else "visit",
                         "line": {"color": c.REDDISH_PURPLE, "width": 1.5} if infusion else
                         {"color": c.GREY, "width": 1.5, "dash": "dot"}})
    for day, infusion in sorted(infusion_days.items()):
        x = day.strftime("%Y-%m-%d")
        parts.shapes.append({
            "type": "line", "xref": "x", "yref": "paper", "x0": x, "x1": x, "y0": 0, "y1": 1, "layer": "below",
            "line": {"color": c.REDDISH_PURPLE if infusion else c.GREY, "width": 1.5 if infusion else 1,
                     "dash": "solid" if infusion else "dot"}})
        if infusion:
            # At the foot of the pain panel: the top belongs to the step labels.
            parts.note("pain", "infusion", x=x, y=0.2, xanchor="left", yanchor="bottom",
                       font={"size": 10, "color": c.REDDISH_PURPLE})


def _band(x0, x1, colour: str, opacity: float, **extra) -> dict:
    return {"type": "rect", "xref": "x", "yref": "paper", "y0": 0, "y1": 1, "layer": "below",
            "x0": x0.isoformat(), "x1": x1.isoformat(), "fillcolor": colour, "opacity": opacity,
            "line": {"width": 0}, **extra}


def _gaps(parts: Parts, gaps: pd.DataFrame | None) -> None:
    """Whole days without an entry, shaded through every panel."""
    if gaps is None or gaps.empty:
        return
    drawn = False
    for start, end in zip(pd.to_datetime(gaps["start"]), pd.to_datetime(gaps["end"])):
        if end >= parts.start and start <= parts.end:
            parts.shapes.append(_band(max(start, parts.start) - HALF_DAY, min(end, parts.end) + HALF_DAY,
                                      c.GAP_GREY, 0.7))
            drawn = True
    if drawn:
        parts.add("bp", {"type": "scatter", "mode": "markers", "x": [None], "y": [None], "hoverinfo": "skip",
                         "name": "no diary entry", "marker": {"symbol": "square", "size": 12, "color": c.GAP_GREY}})


def _highlight(parts: Parts, highlight: tuple[date, date] | None, runs: list[FlagRun]) -> None:
    """The selected flag's days as a band at least ``HIGHLIGHT_MIN_SHARE`` of the axis wide, and a
    label above the panels naming it, so a one-day flag on a three-year axis cannot be missed."""
    if highlight is None:
        return
    start, end = pd.Timestamp(highlight[0]), pd.Timestamp(highlight[1])
    x0, x1 = start - HALF_DAY, end + HALF_DAY
    shortfall = (parts.end - parts.start) * HIGHLIGHT_MIN_SHARE - (x1 - x0)
    if shortfall > pd.Timedelta(0):
        x0, x1 = x0 - shortfall / 2, x1 + shortfall / 2
    band = _band(x0, x1, c.YELLOW, 0.5, line={"color": c.ORANGE, "width": 1})
    # The band continues above the panels, in pixels, to the label that names it.
    stem = {**band, "ysizemode": "pixel", "yanchor": 1, "y0": 0, "y1": SELECTED_LABEL_PX}
    parts.shapes += [band, stem]
    names = [escaped(r.name) + ", " for r in runs if (r.start, r.end) == (start, end)]
    share = ((x0 + (x1 - x0) / 2) - parts.start) / (parts.end - parts.start)
    parts.annotations.append({
        "text": f"selected: {names[0] if names else ''}{_when(start, end)}", "x": (x0 + (x1 - x0) / 2).isoformat(),
        "xref": "x", "y": 1, "yref": "paper", "yshift": SELECTED_LABEL_PX, "yanchor": "bottom", "showarrow": False,
        "xanchor": "left" if share < 0.25 else ("right" if share > 0.75 else "center"),
        "font": {"size": 12, "color": c.BLACK}, "bgcolor": "rgba(240,228,66,0.6)", "bordercolor": c.ORANGE})


# Assembly ----------------------------------------------------------------------------------

def _domains(heights: dict[str, int]) -> tuple[dict[str, list[float]], int]:
    """Each panel's vertical share of the plot area, top to bottom, and the area's height in px."""
    total = sum(heights.values()) + PANEL_GAP_PX * (len(heights) - 1)
    domains, top = {}, float(total)
    for panel in PANELS:
        bottom = top - heights[panel]
        domains[panel] = [max(bottom / total, 0.0), top / total]
        top = bottom - PANEL_GAP_PX
    return domains, total


def _figure(parts: Parts) -> go.Figure:
    domains, plot_px = _domains(parts.heights)
    bottom_x = _ref("x", "bp")
    layout = {"template": {"layout": c.TEMPLATE_LAYOUT}, "height": plot_px + 150, "hovermode": "closest",
              "barmode": "overlay", "margin": {"l": 60, "r": 90, "t": 36, "b": 100},
              "legend": {"orientation": "h", "x": 0, "y": -60 / plot_px, "yanchor": "top", "font": {"size": 12}}}
    titles = []
    for panel, (row, _, _) in PANELS.items():
        title = parts.titles[panel]
        x, y = _ref("x", panel), _ref("y", panel)
        layout[f"xaxis{'' if row == 1 else row}"] = {
            "anchor": y, "domain": [0, 1], "type": "date", "range": [parts.start.isoformat(), parts.end.isoformat()],
            **({} if x == bottom_x else {"matches": bottom_x, "showticklabels": False})}
        layout[f"yaxis{'' if row == 1 else row}"] = {"anchor": x, "domain": domains[panel],
                                                     **parts.yaxes.get(panel, {})}
        titles.append({"text": title, "x": 0, "xref": "paper", "xanchor": "left", "y": domains[panel][1],
                       "yref": "paper", "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
    for trace in parts.traces:
        if trace.get("type") == "heatmap":  # the severity scale beside its own panel
            low, high = domains["side_effects"]
            trace["colorbar"].update(y=(low + high) / 2, len=max(high - low, 0.08), yanchor="middle")
    layout["shapes"] = parts.shapes
    layout["annotations"] = titles + parts.annotations
    if parts.min_font:
        _floor_fonts(layout, parts.traces, parts.min_font)
    return go.Figure(data=parts.traces, layout=layout)


def _floor_fonts(layout: dict, traces: list[dict], floor: float) -> None:
    """Every text of the figure at least ``floor`` px: plotly's default (ticks, axis titles,
    legend), annotations, lane names, the severity scale; the bottom margin grows with the legend."""
    layout["font"] = {**layout.get("font", {}), "size": max(12, floor)}
    layout["template"]["layout"] = {**layout["template"]["layout"], "font": {
        **layout["template"]["layout"].get("font", {}), "size": max(12, floor)}}
    layout["legend"]["font"]["size"] = max(layout["legend"]["font"]["size"], floor)
    layout["margin"]["b"] = int(layout["margin"]["b"] * max(1.0, floor / 12))
    for note in layout["annotations"]:
        note["font"] = {**note.get("font", {}), "size": max(note.get("font", {}).get("size", 12), floor)}
    for key, axis in layout.items():
        if key.startswith(("xaxis", "yaxis")) and "tickfont" in axis:
            axis["tickfont"] = {**axis["tickfont"], "size": max(axis["tickfont"].get("size", 12), floor)}
    for trace in traces:
        bar = trace.get("colorbar")
        if bar is not None:
            bar["tickfont"] = {"size": floor}
            bar.setdefault("title", {})["font"] = {"size": floor}
