"""Side-effect figures: the timeline's severity heatmap and side effects by titration step.

The lowest effective dose (review-metrics.md) must also be tolerable, so the clinician
reads the benefit of a step next to what it cost: the share of diary days each effect was
reported (severity >= 1), with steps where it was ever severe (3) hatched.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import palette as c
from dashboard.charts.palette import effect_name, escaped

SEVERE = 3  # CTCAE grade 3
SEVERE_PATTERN = "/"
DAY_MS = 86_400_000  # plotly's date axes count in milliseconds


def severity_matrix(side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> pd.DataFrame:
    """Effects (rows, alphabetical) × every calendar day of the diary (columns): the day's worst severity.

    Days not rated stay NaN (blank), so a diary gap is never painted as 'none'.
    """
    dates = pd.concat([diary_dates, side_effect_days["diary_date"]]).dropna()
    calendar = pd.date_range(dates.min(), dates.max(), freq="D").as_unit("ns")
    rated = side_effect_days.dropna(subset=["severity"])
    effects, row = np.unique(rated["effect"].astype(str).to_numpy(), return_inverse=True)
    column = ((pd.to_datetime(rated["diary_date"]) - calendar[0]) // pd.Timedelta(days=1)).to_numpy()
    worst = np.full((len(effects), len(calendar)), np.nan)
    np.fmax.at(worst, (row, column), rated["severity"].to_numpy(dtype="float64"))
    return pd.DataFrame(worst, index=pd.Index(effects, name="effect"), columns=calendar)


def severity_heatmap(side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> dict:
    """Severity by effect and day, 1 mild - 3 severe on one sequential scale (darker is worse),
    as a heatmap trace's properties (validated once, by the figure that takes it).

    side_effect_days: diary_date, effect, severity (the day's max, 0-3). A day rated 0
    (none) is blank like a day not rated: painting "none" would bury the mild days.
    """
    matrix = severity_matrix(side_effect_days, diary_dates)
    return {
        # Every calendar day, so the columns go as the first day and a one-day step, and the
        # severities (whole numbers 1-3 or blank) as float32: a third of the bytes (issue 12).
        "type": "heatmap", "name": "side effects", "z": matrix.where(matrix >= 1).to_numpy(dtype="float32"),
        "x0": f"{matrix.columns[0]:%Y-%m-%d}", "dx": DAY_MS,
        "y": [effect_name(e) for e in matrix.index],
        "zmin": 1, "zmax": SEVERE, "colorscale": c.SEVERITY_SCALE,
        "ygap": 2, "hoverongaps": False,
        "hovertemplate": "%{y}, %{x|%d %b %Y}: severity %{z} (1 mild, 2 moderate, 3 severe)<extra></extra>",
        "colorbar": {"tickvals": list(range(1, SEVERE + 1)), "ticktext": list(c.SEVERITY_WORDS[1:]), "thickness": 10}}


def side_effects_by_step(table: pd.DataFrame) -> go.Figure:
    """Grouped bars: steps along x (in the table's order), one bar per effect, height = share of diary days.

    table: step_label (unique per step, e.g. '25 → 50 mg'), effect, share_of_days (0-1),
    max_severity (0-3). A step without a row for an effect has no bar for it.
    """
    repeated = table[table.duplicated(["step_label", "effect"])]
    if not repeated.empty:
        first = repeated.iloc[0]
        raise ValueError(f"side_effects_by_step: step_label {first['step_label']!r} has effect {first['effect']!r} "
                         "more than once; each step needs its own label")
    steps = list(dict.fromkeys(table["step_label"]))
    labels = [escaped(s) for s in steps]
    traces = []
    for i, (effect, rows) in enumerate(table.groupby("effect", sort=True)):
        rows = rows.set_index("step_label").reindex(steps)
        severity = rows["max_severity"]
        traces.append({
            "type": "bar", "x": labels, "y": rows["share_of_days"].to_numpy(dtype="float64"), "name": effect_name(effect),
            "marker": {"color": c.OKABE_ITO[i % len(c.OKABE_ITO)],
                       "pattern": {"shape": [SEVERE_PATTERN if s >= SEVERE else "" for s in severity.fillna(0)]}},
            "customdata": [c.SEVERITY_WORDS[int(s)] if pd.notna(s) else "" for s in severity],
            "hovertemplate": "%{x}: %{y:.0%} of diary days, worst %{customdata}"})
    annotations = []
    if (table["max_severity"] >= SEVERE).any():
        annotations.append({"text": "hatched: severe (3) on at least one day", "x": 1, "y": 1.02, "xref": "paper",
                            "yref": "paper", "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 11, "color": "rgb(90,90,90)"}})
    # Plain dicts validated once by the figure, and the page's own light template rather than
    # plotly's named one: building property by property was most of this chart's time (issue 12).
    return go.Figure(data=traces, layout={
        "template": {"layout": c.TEMPLATE_LAYOUT}, "height": 400, "barmode": "group",
        "margin": {"l": 60, "r": 20, "t": 60, "b": 50}, "annotations": annotations,
        "title": {"text": "Side effects by dose step: share of diary days reported", "font": {"size": 14}},
        "legend": {"title": {"text": "side effect"}},
        "xaxis": {"title": {"text": "titration step"}, "type": "category"},
        "yaxis": {"title": {"text": "diary days"}, "tickformat": ".0%", "rangemode": "tozero"}})
