"""Visit-aligned overlay: pain by days since each visit.

Lining intervals up at their visit shows whether the latest change is doing better than the
earlier ones at the same distance from the visit, which calendar dates hide. Only the latest
interval and the one before are drawn as lines; the older ones are summarised as their mean
and spread per day since the visit, so the comparison stays readable after ten visits.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import palette as c
from dashboard.charts.palette import with_gap_breaks

LATEST_WIDTH, PREVIOUS_WIDTH, OLDER_WIDTH = 3.5, 2.0, 1.2
OLDER_BAND = "rgba(153,153,153,0.25)"  # palette GREY, translucent
HOVER = "%{customdata}, day %{x}: pain %{y:.1f}<extra></extra>"


def interval_name(start, latest: bool) -> str:
    """The legend entry: the visit the interval starts with, as a clinician would say it."""
    return f"visit {pd.Timestamp(start):%d %b %Y}" + (" (latest)" if latest else "")


def older_summary(older: pd.DataFrame) -> pd.DataFrame:
    """Per day since the visit: the mean daily pain of the older intervals, its standard
    deviation across them (0 where one interval has the day) and how many intervals count."""
    grouped = older.groupby("days_since_visit")["pain"]
    summary = pd.DataFrame({"mean": grouped.mean(), "sd": grouped.std().fillna(0.0), "n": grouped.count()})
    return summary.reset_index().astype({"days_since_visit": "int64"})


def _interval_line(rows: pd.DataFrame, name: str, colour: str, width: float) -> dict:
    rows = with_gap_breaks(rows[["days_since_visit", "pain", "diary_date"]], "days_since_visit", unit=1)
    return {"type": "scatter", "x": rows["days_since_visit"].to_numpy(),
            "y": np.round(rows["pain"].to_numpy(dtype="float64"), 2),
            "mode": "lines", "name": name, "line": {"color": colour, "width": width},
            "customdata": [f"{d:%d %b %Y}" if pd.notna(d) else "" for d in rows["diary_date"]],
            "hovertemplate": HOVER}


def _older_traces(older: pd.DataFrame) -> list[dict]:
    """Mean line over a band of mean ± 1 SD; the band's edges lift the pen at gaps like the mean."""
    spread = with_gap_breaks(older_summary(older), "days_since_visit", unit=1)
    count = older["interval_start"].nunique()
    low = np.round((spread["mean"] - spread["sd"]).clip(lower=0).to_numpy(dtype="float64"), 2)
    high = np.round((spread["mean"] + spread["sd"]).clip(upper=10).to_numpy(dtype="float64"), 2)
    name = f"{count} earlier intervals: mean ± SD"
    days = spread["days_since_visit"].to_numpy()
    band = {"type": "scatter", "x": days, "mode": "lines", "line": {"width": 0}, "legendgroup": "older",
            "hoverinfo": "skip", "showlegend": False}
    return [
        {**band, "y": low, "name": f"{name} (low)"},
        {**band, "y": high, "name": f"{name} (high)", "fill": "tonexty", "fillcolor": OLDER_BAND},
        {"type": "scatter", "x": days, "y": np.round(spread["mean"].to_numpy(dtype="float64"), 2),
         "mode": "lines", "name": name, "legendgroup": "older", "line": {"color": c.GREY, "width": OLDER_WIDTH},
         "customdata": spread["n"].fillna(0).astype(int).to_numpy(),
         "hovertemplate": "day %{x}: mean pain %{y:.1f} over %{customdata} intervals<extra></extra>"},
    ]


def visit_overlay(aligned: pd.DataFrame) -> go.Figure:
    """Pain against days since the visit: the latest interval (blue, thick) and the one before
    (orange) as lines named by their visit dates; older intervals as one grey mean line over a
    band of ± 1 standard deviation.

    aligned: interval_start (datetime64, the visit), days_since_visit (int), pain (daily
    value), is_latest (bool, true on the interval since the last visit), diary_date.
    Lines break where 2 or more days have no entry, as on the timeline.
    """
    if "diary_date" not in aligned:
        since = pd.to_timedelta(aligned["days_since_visit"], "D")
        aligned = aligned.assign(diary_date=aligned["interval_start"] + since)
    latest = sorted(set(aligned.loc[aligned["is_latest"].astype(bool), "interval_start"]))
    earlier = sorted(set(aligned["interval_start"]) - set(latest))
    previous, older = earlier[-1:], earlier[:-1]
    traces = []
    if len(older) >= 2:
        traces += _older_traces(aligned[aligned["interval_start"].isin(older)])
    elif older:  # a single older interval is a line, not a summary
        traces.append(_interval_line(aligned[aligned["interval_start"] == older[0]], interval_name(older[0], False),
                                     c.LIGHT_GREY, OLDER_WIDTH))
    for start in previous:
        traces.append(_interval_line(aligned[aligned["interval_start"] == start], interval_name(start, False),
                                     c.ORANGE, PREVIOUS_WIDTH))
    for start in latest:  # added last, so drawn on top
        traces.append(_interval_line(aligned[aligned["interval_start"] == start], interval_name(start, True),
                                     c.BLUE, LATEST_WIDTH))
    # Traces and layout as plain dicts, validated once by the figure: property-by-property
    # updates cost most of a warm rerun's figure time (issue 12).
    return go.Figure(data=traces, layout={
        "template": {"layout": c.TEMPLATE_LAYOUT}, "height": 420, "margin": {"l": 60, "r": 20, "t": 50, "b": 50},
        "hovermode": "closest", "title": {"text": "Pain since each visit (daily, 0–10)", "font": {"size": 14}},
        "legend": {"traceorder": "reversed"},
        "xaxis": {"title": {"text": "days since visit"}, "rangemode": "tozero"},
        "yaxis": {"title": {"text": "pain (0–10)"}, "range": [0, 10.5]}})
