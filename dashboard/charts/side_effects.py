"""Side-effect figures: the timeline's severity heatmap and side effects by titration step.

The lowest effective dose (review-metrics.md) must also be tolerable, so the clinician
reads the benefit of a step next to what it cost: the share of diary days each effect was
reported (severity >= 1), with steps where it was ever severe (3) hatched.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import palette as c
from dashboard.charts.palette import escaped

SEVERE = 3  # CTCAE grade 3
SEVERE_PATTERN = "/"


def severity_matrix(side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> pd.DataFrame:
    """Effects (rows, alphabetical) × every calendar day of the diary (columns): the day's worst severity.

    Days not rated stay NaN (blank), so a diary gap is never painted as 'none'.
    """
    dates = pd.concat([diary_dates, side_effect_days["diary_date"]]).dropna()
    calendar = pd.date_range(dates.min(), dates.max(), freq="D").as_unit("ns")
    matrix = side_effect_days.pivot_table(index="effect", columns="diary_date", values="severity", aggfunc="max")
    matrix.columns = pd.DatetimeIndex(matrix.columns).as_unit("ns")
    return matrix.reindex(columns=calendar).astype("float64")


def severity_heatmap(side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> go.Heatmap:
    """Severity by effect and day, 0 none - 3 severe on one sequential scale (darker is worse).

    side_effect_days: diary_date, effect, severity (the day's max, 0-3).
    """
    matrix = severity_matrix(side_effect_days, diary_dates)
    return go.Heatmap(
        z=matrix.to_numpy(), x=matrix.columns, y=[escaped(e) for e in matrix.index], name="side effects",
        zmin=0, zmax=SEVERE, colorscale=c.SEVERITY_SCALE, ygap=2, hoverongaps=False,
        hovertemplate="%{y}, %{x|%d %b %Y}: severity %{z}<extra></extra>",
        colorbar={"tickvals": list(range(SEVERE + 1)), "ticktext": list(c.SEVERITY_WORDS), "thickness": 10})


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
    fig = go.Figure()
    for i, (effect, rows) in enumerate(table.groupby("effect", sort=True)):
        rows = rows.set_index("step_label").reindex(steps)
        severity = rows["max_severity"]
        fig.add_trace(go.Bar(
            x=[escaped(s) for s in steps], y=rows["share_of_days"], name=escaped(effect),
            marker={"color": c.OKABE_ITO[i % len(c.OKABE_ITO)],
                    "pattern": {"shape": [SEVERE_PATTERN if s >= SEVERE else "" for s in severity.fillna(0)]}},
            customdata=[c.SEVERITY_WORDS[int(s)] if pd.notna(s) else "" for s in severity],
            hovertemplate="%{x}: %{y:.0%} of diary days, worst %{customdata}"))
    if (table["max_severity"] >= SEVERE).any():
        fig.add_annotation(text="hatched: severe (3) on at least one day", x=1, y=1.02, xref="paper", yref="paper",
                           xanchor="right", yanchor="bottom", showarrow=False, font={"size": 11, "color": c.GREY})
    fig.update_layout(
        template="simple_white", height=400, barmode="group", margin={"l": 60, "r": 20, "t": 60, "b": 50},
        title={"text": "Side effects by dose step: share of diary days reported", "font": {"size": 14}},
        legend={"title": {"text": "side effect"}})
    fig.update_xaxes(title_text="titration step", type="category")
    fig.update_yaxes(title_text="diary days", tickformat=".0%", rangemode="tozero")
    return fig
