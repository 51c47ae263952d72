"""Cohort figures: data frames from ``analysis.cohort`` in, ``go.Figure`` out.

Every group is labelled with its number of patients; a group under ``MIN_GROUP`` keeps its
label (so its absence is not mistaken for zero) but draws nothing and says "n < 5".
Group names can be condition text typed at the clinic, so they are escaped for plotly.
"""

from __future__ import annotations

import textwrap

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.cohort import CATEGORIES, CATEGORY_LABELS, NOT_JUDGED, TOO_SMALL
from dashboard.charts import palette as c
from dashboard.charts.palette import effect_name, escaped
from dashboard.charts.palette import COURSE_MARK, SAFETY_MARK

# Best to worst, dark to light, worse in the warning colour: readable in black and white too.
CATEGORY_COLOURS = {"substantial": c.BLUE, "moderate": c.SKY_BLUE, "minimal": "#B9DDF1", "none": c.LIGHT_GREY,
                    "worse": c.VERMILLION, NOT_JUDGED: "#EEEEEE"}
TOO_SMALL_WORDS = f"{TOO_SMALL}: too few to read"


def group_label(group: str, n: int, too_small: bool) -> str:
    """'Fibromyalgia (n=7)', or '… (n=3) · n < 5: too few to read'; a long name wraps."""
    label = f"{'<br>'.join(escaped(part) for part in textwrap.wrap(str(group), 45) or [''])} (n={int(n)})"
    return f"{label} · {TOO_SMALL_WORDS}" if too_small else label


def responder_bars(table: pd.DataFrame, title: str = "") -> go.Figure:
    """One 100 % bar per group (``responders_by``): the share of its patients in each responder
    category at their latest troche step, the count written in the bar."""
    labels = [group_label(g, n, s) for g, n, s in zip(table["group"], table["n"], table["too_small"])]
    traces = []
    for category in (*CATEGORIES, NOT_JUDGED):
        counts = table[category]
        traces.append(go.Bar(
            y=labels, x=table[f"{category}_share"], orientation="h", name=CATEGORY_LABELS[category],
            marker={"color": CATEGORY_COLOURS[category], "line": {"color": "white", "width": 1}},
            text=[f"{int(k)}" if pd.notna(k) and k > 0 else "" for k in counts], textposition="inside",
            customdata=counts, hovertemplate="%{y}<br>" + CATEGORY_LABELS[category] + ": %{customdata} patient(s), "
                                             "%{x:.0%}<extra></extra>"))
    fig = go.Figure(data=traces)
    fig.update_layout(
        barmode="stack", height=130 + 40 * max(len(labels), 1), margin={"l": 10, "r": 10, "t": 70, "b": 50},
        title={"text": title, "font": {"size": 14}},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom", "traceorder": "normal"},
        **c.TEMPLATE_LAYOUT)
    fig.update_xaxes(range=[0, 1], tickformat=".0%", title_text="share of the group's patients")
    fig.update_yaxes(autorange="reversed", type="category")
    return fig


def side_effect_heatmap(table: pd.DataFrame) -> go.Figure:
    """Side effects (rows) by dose band (columns): the mean share of diary days reported, with
    each cell's n; a cell under ``MIN_GROUP`` patients is blank and says so."""
    bands = list(dict.fromkeys(table["band"]))
    effects = sorted(dict.fromkeys(table["effect"]))
    wide = table.set_index(["effect", "band"])
    z, text = [], []
    for effect in effects:
        z_row, text_row = [], []
        for band in bands:
            row = wide.loc[(effect, band)] if (effect, band) in wide.index else None
            if row is None:
                z_row.append(None)
                text_row.append("")
            elif row["too_small"]:
                z_row.append(None)
                text_row.append(f"n={int(row['n'])}<br>{TOO_SMALL}")
            else:
                z_row.append(float(row["reported_share"]))
                text_row.append(f"{row['reported_share']:.0%}<br>n={int(row['n'])}")
        z.append(z_row)
        text.append(text_row)
    fig = go.Figure(go.Heatmap(
        z=z, x=[escaped(b) for b in bands], y=[effect_name(e) for e in effects], text=text,
        texttemplate="%{text}", zmin=0, zmax=max(0.5, max((v for r in z for v in r if v is not None), default=0)),
        colorscale=[(0.0, "#FFF5EB"), (1.0, c.VERMILLION)], xgap=2, ygap=2, hoverongaps=False,
        colorbar={"title": {"text": "diary days"}, "tickformat": ".0%", "thickness": 10},
        hovertemplate="%{y} at %{x}: reported on %{z:.0%} of diary days<extra></extra>"))
    fig.update_layout(height=140 + 40 * max(len(effects), 1), margin={"l": 10, "r": 10, "t": 50, "b": 40},
                      title={"text": "Side effects by dose band: mean share of diary days reported (any severity)",
                             "font": {"size": 14}}, **c.TEMPLATE_LAYOUT)
    fig.update_xaxes(type="category", title_text="daily troche dose", showline=False, ticks="")
    fig.update_yaxes(type="category", autorange="reversed", showline=False, ticks="")
    return fig


def flag_rate_bars(table: pd.DataFrame) -> go.Figure:
    """Flag runs per 100 patient-months by rule, safety rules first, marked ▲ and hatched as well as
    in the warning colour (readable without telling colours apart, as the timeline's lanes)."""
    shown = table[~table["too_small"]]
    labels = [f"{SAFETY_MARK if s else COURSE_MARK} {escaped(name)}" for name, s in zip(shown["name"], shown["safety"])]
    fig = go.Figure(go.Bar(
        y=labels, x=shown["per_100_patient_months"], orientation="h",
        marker={"color": [c.VERMILLION if s else c.GREY for s in shown["safety"]],
                "pattern": {"shape": ["/" if s else "" for s in shown["safety"]], "fgcolor": c.BLACK,
                            "fgopacity": 0.35}},
        text=[f"{r:.1f} ({int(k)} flag{'s' if k != 1 else ''}, {int(p)} patient{'s' if p != 1 else ''})"
              for r, k, p in zip(shown["per_100_patient_months"], shown["runs"], shown["patients_with"])],
        textposition="outside", cliponaxis=False,
        hovertemplate="%{y}: %{x:.1f} per 100 patient-months<extra></extra>"))
    n = int(table["n"].iloc[0]) if len(table) else 0
    months = shown["patient_months"].iloc[0] if len(shown) else None
    title = (f"Flags per 100 patient-months (n={n} patients, {months:.0f} patient-months); "
             f"{SAFETY_MARK} safety flags red and hatched, {COURSE_MARK} course flags grey"
             if months is not None else f"Flags per 100 patient-months (n={n} patients) · {TOO_SMALL_WORDS}")
    fig.update_layout(height=120 + 28 * max(len(labels), 1), margin={"l": 10, "r": 40, "t": 50, "b": 40},
                      title={"text": title, "font": {"size": 14}}, showlegend=False, **c.TEMPLATE_LAYOUT)
    top = shown["per_100_patient_months"].max() if len(shown) else 0
    # Room to the right for the counts written beside the longest bar.
    fig.update_xaxes(title_text="flags per 100 patient-months", range=[0, 1.45 * top if top > 0 else 1])
    fig.update_yaxes(autorange="reversed", type="category")
    return fig
