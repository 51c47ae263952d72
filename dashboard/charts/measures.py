"""Validated instruments over time, drawn below the timeline on the same date axis.

One panel per instrument present (PHQ-9, GAD-7, PROMIS pain intensity and interference, MME/day),
each on its own scale: an instrument is never redrawn on the 0-10 pain scale. The x range is
the timeline's (the review period with the same padding) and the left and right margins are
the timeline's; the timeline's left margin grows with its flag lanes' names (plotly's
automargin), so the same names are set on a hidden axis here (``left_labels``) and plotly gives
both figures the same left edge: a date sits at the same place in both. PHQ-9 carries its severity
bands at 5, 10, 15 and 20 (Kroenke et al. 2001, J Gen Intern Med 16:606-613).

Text from files (the names an app gave its codes) is never put into the figure: every label
is the registry's (``dashboard.measures``), so nothing a file holds is rendered as HTML.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import palette as c
from dashboard.charts.timeline import PAD
from dashboard.measures import INSTRUMENTS, PHQ9_BANDS

PANEL_PX, GAP_PX = 120, 40
COLOURS = tuple(colour for colour in c.OKABE_ITO if colour != c.YELLOW)  # yellow is too faint on white
BAND_COLOURS = ("rgba(0,0,0,0)", "rgba(230,159,0,0.10)", "rgba(230,159,0,0.18)", "rgba(213,94,0,0.18)",
                "rgba(213,94,0,0.28)")


def left_labels(figure: go.Figure) -> list[tuple[str, int | None]]:
    """The y tick labels of another figure (the timeline's lane names), with their font size."""
    out = []
    for key in figure.layout:
        axis = figure.layout[key] if key.startswith("yaxis") else None
        if axis is not None and axis.ticktext:
            out += [(text, axis.tickfont.size) for text in axis.ticktext]
    return out


def measures_figure(charted: pd.DataFrame, period: tuple[pd.Timestamp, pd.Timestamp],
                    align: list[tuple[str, int | None]] = ()) -> go.Figure:
    """``analysis.measures.charted`` (diary_date, instrument, value) to one figure; panels top to
    bottom in the registry's order. ``align``: ``left_labels`` of the figure drawn above."""
    present = [key for key in INSTRUMENTS if key in set(charted["instrument"])]
    start, end = pd.Timestamp(period[0]) - PAD, pd.Timestamp(period[1]) + PAD
    plot_px = PANEL_PX * max(len(present), 1) + GAP_PX * max(len(present) - 1, 0)
    layout = {"template": {"layout": c.TEMPLATE_LAYOUT}, "height": plot_px + 90, "hovermode": "closest",
              "margin": {"l": 60, "r": 90, "t": 30, "b": 50}, "showlegend": False}
    traces, shapes, annotations = [], [], []
    for i, key in enumerate(present):
        spec = INSTRUMENTS[key]
        top = 1 - i * (PANEL_PX + GAP_PX) / plot_px
        domain = [max(top - PANEL_PX / plot_px, 0), top]
        n = "" if i == 0 else str(i + 1)
        rows = charted[charted["instrument"] == key].sort_values("diary_date")
        traces.append(go.Scatter(
            x=list(rows["diary_date"]), y=list(rows["value"]), name=spec.name, mode="lines+markers",
            xaxis=f"x{n}", yaxis=f"y{n}", line={"color": COLOURS[i % len(COLOURS)]},
            hovertemplate=f"{spec.name}: %{{y:g}}{' ' + spec.unit if spec.unit else ''}<br>%{{x|%d %b %Y}}<extra></extra>"))
        is_last = i == len(present) - 1
        layout[f"xaxis{n}"] = {"anchor": f"y{n}", "domain": [0, 1], "type": "date",
                               "range": [start.isoformat(), end.isoformat()],
                               **({} if is_last else {"showticklabels": False})}
        high = rows["value"].max() if spec.high is None or spec.high > 1000 else spec.high
        layout[f"yaxis{n}"] = {"anchor": f"x{n}", "domain": domain, "title": {"text": spec.unit or ""},
                               "range": [spec.low if spec.low is not None else 0, high * 1.08 if high else 1]}
        title = f"{spec.name} <span style='color:rgb(110,110,110)'>({spec.scale})</span>" if spec.scale else spec.name
        annotations.append({"text": title, "x": 0, "xref": "paper", "xanchor": "left", "y": top, "yref": "paper",
                            "yanchor": "bottom", "showarrow": False, "font": {"size": 13}})
        if key == "phq9":
            for (low, band_high, label), colour in zip(PHQ9_BANDS, BAND_COLOURS):
                shapes.append({"type": "rect", "xref": f"x{n} domain", "yref": f"y{n}", "x0": 0, "x1": 1,
                               "y0": low, "y1": band_high, "fillcolor": colour, "line": {"width": 0}, "layer": "below"})
                annotations.append({"text": label, "xref": f"x{n} domain", "yref": f"y{n}", "x": 1.005,
                                    "xanchor": "left", "y": (low + band_high) / 2, "showarrow": False,
                                    "font": {"size": 10, "color": "rgb(90,90,90)"}})
    if align and present:
        # Invisible labels of the figure above on a hidden axis: the same left margin as it.
        n = str(len(present) + 1)
        traces.append(go.Scatter(x=[start], y=[0], xaxis="x", yaxis=f"y{n}", mode="markers", hoverinfo="skip",
                                 marker={"opacity": 0}, showlegend=False, name="alignment"))
        size = max((s for _, s in align if s), default=None)
        layout[f"yaxis{n}"] = {"anchor": "x", "overlaying": "y", "side": "left", "tickvals": list(range(len(align))),
                               "ticktext": [t for t, _ in align], "range": [-0.5, len(align) - 0.5],
                               "tickfont": {"color": "rgba(0,0,0,0)", **({"size": size} if size else {})},
                               "showline": False, "ticks": "", "fixedrange": True}
    layout["shapes"], layout["annotations"] = shapes, annotations
    if not present:
        layout["xaxis"] = {"type": "date", "range": [start.isoformat(), end.isoformat()]}
    return go.Figure(data=traces, layout=layout)
