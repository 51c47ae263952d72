"""The review timeline: every panel on one date axis, so cause and effect line up.

Panels, top to bottom: pain (daily, 7-day mean, baseline and relief band, flags), ketamine
dose (prescribed step line and doses taken), function, side-effect severity, blood
pressure. Steps are labelled where they change, visits are dotted lines across all panels,
in-clinic infusions a coloured line, diary gaps shaded and never bridged by a line.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.charts import palette as c
from dashboard.charts.palette import escaped, mg, with_gap_breaks
from dashboard.charts.side_effects import severity_heatmap

DAY = pd.Timedelta(days=1)
HALF_DAY = pd.Timedelta(hours=12)
TOLERANCE = 1e-9  # summed decimal doses (12.5 + 12.5) must not tip the over-prescription test
HOME_ROUTE = "troche"
PAIN_TOP = 10.5
PANELS = {  # row: (title, share of the height); proportions of the design target
    "pain": (1, "Pain (0–10): daily, 7-day mean, baseline", 0.31),
    "dose": (2, "Ketamine troche: prescribed mg/day and taken", 0.16),
    "function": (3, "Sleep, mood, function (0–10, 10 = best; PEG 10 = worst)", 0.19),
    "side_effects": (4, "Side effects (0 none – 3 severe)", 0.19),
    "bp": (5, "Blood pressure (mmHg)", 0.15),
}
FUNCTION_LINES = (("sleep", "sleep", c.REDDISH_PURPLE), ("mood", "mood", c.BLUISH_GREEN),
                  ("function", "function", c.ORANGE), ("peg", "PEG", c.BLACK))
ON_DAY = "%{x|%d %b %Y}: %{y:.1f}"
FLAG_LABEL_QUIET_DAYS = 45
MG_ON_DAY = "%{x|%d %b %Y}: %{y:g} mg"


def timeline(daily: pd.DataFrame, steps: pd.DataFrame, visits: pd.DataFrame, side_effect_days: pd.DataFrame,
             flags: pd.DataFrame, *, baseline: float | None, bp_limits: tuple[float, float] = (160, 100),
             gaps: pd.DataFrame | None = None, highlight: tuple[date, date] | None = None,
             relief_pct: tuple[float, float] = (30.0, 50.0)) -> go.Figure:
    """The patient's course on one date axis.

    daily: diary_date, pain, pain_7d, sleep, mood, function, peg, dose_taken_mg,
    dose_prescribed_mg (the day's prescribed maximum, NaN without a step), bp_systolic,
    bp_diastolic. steps: start, end, dose_mg, route[, label]. visits: date, kind ('in person',
    'telehealth', 'infusion'). side_effect_days: diary_date, effect, severity (the day's max,
    0-3). flags: rule, start, end, detail. gaps: start, end (first and last day without an
    entry). highlight: a date range to shade, e.g. the flag the clinician asked to see.
    The relief band spans 30-50 % below baseline (Farrar et al. 2001; IMMPACT 2008).
    """
    fig = make_subplots(rows=len(PANELS), cols=1, shared_xaxes=True, vertical_spacing=0.045,
                        row_heights=[share for _, _, share in PANELS.values()],
                        subplot_titles=[title for _, title, _ in PANELS.values()])
    fig.update_annotations(font_size=13)  # the panel titles, the only annotations so far
    days = with_gap_breaks(daily, "diary_date", unit=DAY)
    _pain_panel(fig, days, baseline, relief_pct)
    _flags(fig, flags)
    _dose_panel(fig, days)
    _function_panel(fig, days)
    _side_effect_panel(fig, side_effect_days, daily["diary_date"])
    _bp_panel(fig, days, bp_limits)
    _mark_steps(fig, steps)
    _mark_visits(fig, visits)
    _shade(fig, gaps, highlight)
    marks = [steps.get("start"), visits.get("date"), flags.get("start"),
             None if gaps is None else gaps["end"], None if highlight is None else pd.Series(highlight)]
    return _layout(fig, pd.to_datetime(pd.concat([daily["diary_date"], *[m for m in marks if m is not None]])))


def step_labels(steps: pd.DataFrame) -> pd.Series:
    """'start 25 mg' for a route's first step, then '25 → 50 mg': what changed, where it changed.

    Routes are separate sequences (an in-clinic IV session does not end the home troche
    step), so a non-troche step names its route.
    """
    ordered = steps.sort_values("start")
    route = ordered["route"].fillna("").astype(str).str.strip()
    previous = ordered["dose_mg"].groupby(route.str.lower()).shift(1)
    labels = [f"start {mg(dose)} mg" if pd.isna(prev) else f"{mg(prev)} → {mg(dose)} mg"
              for dose, prev in zip(ordered["dose_mg"], previous)]
    prefixes = ["" if r.lower() in (HOME_ROUTE, "") else f"{r} " for r in route]
    return pd.Series([p + t for p, t in zip(prefixes, labels)], index=ordered.index).reindex(steps.index)


def _row(panel: str) -> dict:
    return {"row": PANELS[panel][0], "col": 1}


def _empty(fig: go.Figure, panel: str, text: str) -> None:
    """Say what is missing where it would be, instead of an empty grid that looks like zeros."""
    row = PANELS[panel][0]
    domain = fig.layout[f"yaxis{row if row > 1 else ''}"].domain
    fig.add_annotation(text=text, x=0.5, y=sum(domain) / 2, xref="paper", yref="paper", showarrow=False,
                       font={"color": c.GREY, "size": 13})
    # plotly draws no axes for a panel without traces, which would take the shared date axis with it.
    fig.add_trace(go.Scatter(x=[], y=[], name=text, showlegend=False, hoverinfo="skip"), **_row(panel))
    fig.update_yaxes(showticklabels=False, ticks="", **_row(panel))


def _pain_panel(fig: go.Figure, days: pd.DataFrame, baseline: float | None, relief_pct: tuple[float, float]) -> None:
    if days["pain"].notna().any():
        fig.add_trace(go.Scatter(x=days["diary_date"], y=days["pain"], name="daily pain", mode="markers",
                                 marker={"color": c.GREY, "size": 4}, hovertemplate=ON_DAY), **_row("pain"))
        if "pain_7d" in days and days["pain_7d"].notna().any():
            fig.add_trace(go.Scatter(x=days["diary_date"], y=days["pain_7d"], name="7-day mean", mode="lines",
                                     line={"color": c.BLUE, "width": 2.5}, hovertemplate=ON_DAY), **_row("pain"))
    else:
        _empty(fig, "pain", "no pain recorded")
    if baseline is None or pd.isna(baseline):
        return
    low, high = sorted(relief_pct)
    fig.add_hrect(y0=baseline * (1 - high / 100), y1=baseline * (1 - low / 100), fillcolor=c.BLUISH_GREEN,
                  opacity=0.12, line_width=0, layer="below", exclude_empty_subplots=False,
                  annotation_text=f"{low:g}–{high:g} % relief", annotation_position="bottom left",
                  annotation_font={"color": c.BLUISH_GREEN, "size": 11}, **_row("pain"))
    fig.add_hline(y=baseline, line_dash="dash", line_color=c.BLUISH_GREEN, line_width=1,
                  exclude_empty_subplots=False, annotation_text=f"baseline {baseline:.1f}",
                  annotation_position="top left", annotation_font={"size": 11}, **_row("pain"))


def _day(value) -> str:
    return "" if pd.isna(value) else f"{pd.Timestamp(value):%d %b %Y}"


def flag_labels(flags: pd.DataFrame, quiet_days: int = FLAG_LABEL_QUIET_DAYS) -> list[str]:
    """A flag's name is written once per rule in any ``quiet_days`` window; the other markers
    keep their hover text. Twenty 'pain_spike' labels in a row are noise, not information."""
    last: dict[str, pd.Timestamp] = {}
    labels = []
    for rule, start in zip(flags["rule"], pd.to_datetime(flags["start"])):
        shown = rule not in last or start - last[rule] >= pd.Timedelta(days=quiet_days)
        if shown:
            last[rule] = start
        labels.append(escaped(rule) if shown else "")
    return labels


def _flags(fig: go.Figure, flags: pd.DataFrame) -> None:
    """Flags sit at the top of the pain panel, on two staggered levels so neighbours stay legible."""
    if flags.empty:
        return
    ordered = flags.sort_values("start")
    custom = [[escaped(f.rule), _day(f.start), _day(f.end), escaped(f.detail)] for f in ordered.itertuples()]
    fig.add_trace(go.Scatter(
        x=ordered["start"], y=[9.0 - 0.8 * (i % 2) for i in range(len(ordered))], name="flags",
        mode="markers+text", text=flag_labels(ordered), textposition="bottom right",
        textfont={"color": c.VERMILLION, "size": 10},
        marker={"symbol": "triangle-down", "size": 11, "color": c.VERMILLION},
        customdata=custom, hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]} – %{customdata[2]}"
                                         "<br>%{customdata[3]}<extra></extra>"), **_row("pain"))


def _dose_panel(fig: go.Figure, days: pd.DataFrame) -> None:
    prescribed, taken = days["dose_prescribed_mg"], days["dose_taken_mg"]
    if prescribed.isna().all() and taken.isna().all():
        _empty(fig, "dose", "no ketamine doses recorded or prescribed")
        return
    if prescribed.notna().any():
        fig.add_trace(go.Scatter(x=days["diary_date"], y=prescribed, name="prescribed", mode="lines",
                                 line={"color": c.ORANGE, "width": 2.5, "shape": "hv"}, hovertemplate=MG_ON_DAY),
                      **_row("dose"))
    over = taken > prescribed + TOLERANCE
    bar_width = DAY.total_seconds() * 1000 * 0.7
    bars = (("taken", taken.notna() & ~over, c.SKY_BLUE), ("above prescription", over, c.VERMILLION))
    for name, rows, colour in bars:
        if rows.any():
            fig.add_trace(go.Bar(x=days.loc[rows, "diary_date"], y=taken[rows], name=name, marker_color=colour,
                                 width=bar_width, customdata=prescribed[rows],
                                 hovertemplate="%{x|%d %b %Y}: %{y:g} mg taken, %{customdata:g} mg prescribed"),
                          **_row("dose"))
    fig.update_yaxes(title_text="mg/day", rangemode="tozero", **_row("dose"))


def _function_panel(fig: go.Figure, days: pd.DataFrame) -> None:
    drawn = [(col, name, colour) for col, name, colour in FUNCTION_LINES if col in days and days[col].notna().any()]
    for col, name, colour in drawn:
        dash = "dash" if col == "peg" else "solid"
        fig.add_trace(go.Scatter(x=days["diary_date"], y=days[col], name=name, mode="lines",
                                 line={"color": colour, "width": 1.5, "dash": dash}, hovertemplate=ON_DAY),
                      **_row("function"))
    if not drawn:
        _empty(fig, "function", "no sleep, mood or function recorded")
    fig.update_yaxes(range=[0, PAIN_TOP], **_row("function"))


def _side_effect_panel(fig: go.Figure, side_effect_days: pd.DataFrame, diary_dates: pd.Series) -> None:
    if side_effect_days.empty:
        _empty(fig, "side_effects", "no side effects recorded")
        return
    heatmap = severity_heatmap(side_effect_days, diary_dates)
    domain = fig.layout[f"yaxis{PANELS['side_effects'][0]}"].domain
    heatmap.colorbar.update(len=domain[1] - domain[0], y=sum(domain) / 2, yanchor="middle", x=1.01)
    fig.add_trace(heatmap, **_row("side_effects"))
    fig.update_yaxes(autorange="reversed", **_row("side_effects"))


def _bp_panel(fig: go.Figure, days: pd.DataFrame, bp_limits: tuple[float, float]) -> None:
    readings = (("bp_systolic", "systolic", c.VERMILLION), ("bp_diastolic", "diastolic", c.BLUE))
    if all(days[col].isna().all() for col, _, _ in readings):
        _empty(fig, "bp", "no blood pressure recorded")
        return
    for (col, name, colour), limit in zip(readings, bp_limits):
        if days[col].notna().any():
            fig.add_trace(go.Scatter(x=days["diary_date"], y=days[col], name=name, mode="markers",
                                     marker={"color": colour, "size": 6}, hovertemplate="%{x|%d %b %Y}: %{y:g} mmHg"),
                          **_row("bp"))
        # The threshold the bp_high flag uses (ketamine raises blood pressure; FDA 2023, ASRA/AAPM 2018).
        fig.add_hline(y=limit, line_dash="dash", line_color=colour, line_width=1, opacity=0.6,
                      exclude_empty_subplots=False, annotation_text=f"{limit:g}", annotation_position="right",
                      annotation_font={"color": colour, "size": 10}, **_row("bp"))
    recorded = pd.concat([days[col] for col, _, _ in readings]).dropna()
    top, bottom = max(*bp_limits, recorded.max()), min(*bp_limits, recorded.min())
    fig.update_yaxes(range=[max(bottom - 20, 0), top + 15], **_row("bp"))


def _mark_steps(fig: go.Figure, steps: pd.DataFrame) -> None:
    """Label each step where it starts; a label close to the one before moves down a line to stay legible."""
    if steps.empty:
        return
    given = steps["label"] if "label" in steps else pd.Series(None, index=steps.index, dtype="object")
    labels = given.where(given.notna(), step_labels(steps))
    level, previous = 0, None
    for start, label in sorted(zip(steps["start"], labels), key=lambda pair: pair[0]):
        level = 1 - level if previous is not None and start - previous < pd.Timedelta(days=21) else 0
        fig.add_annotation(x=start, y=PAIN_TOP - 0.1 - 0.55 * level, text=escaped(label), showarrow=False,
                           xanchor="left", yanchor="top", font={"size": 10}, **_row("pain"))
        previous = start


def _mark_visits(fig: go.Figure, visits: pd.DataFrame) -> None:
    for visit in visits.dropna(subset=["date"]).itertuples():
        infusion = str(visit.kind).strip().lower() == "infusion"
        fig.add_vline(x=visit.date, line_dash="solid" if infusion else "dot", line_width=1.5 if infusion else 1,
                      line_color=c.REDDISH_PURPLE if infusion else c.GREY, layer="below",
                      exclude_empty_subplots=False, row="all", col=1)
        if infusion:
            # At the foot of the panel: the top belongs to the step labels.
            fig.add_annotation(x=visit.date, y=0.2, text="infusion", showarrow=False, xanchor="left",
                               yanchor="bottom", font={"size": 10, "color": c.REDDISH_PURPLE}, **_row("pain"))


def _shade(fig: go.Figure, gaps: pd.DataFrame | None, highlight: tuple[date, date] | None) -> None:
    """Shade whole days: a one-day flag still gets a visible band."""
    spans = [] if gaps is None else [(g.start, g.end, c.GAP_GREY, 0.7) for g in gaps.itertuples()]
    if highlight is not None:
        spans.append((highlight[0], highlight[1], c.YELLOW, 0.35))
    for start, end, colour, opacity in spans:
        fig.add_vrect(x0=pd.Timestamp(start) - HALF_DAY, x1=pd.Timestamp(end) + HALF_DAY, fillcolor=colour,
                      opacity=opacity, line_width=0, layer="below", exclude_empty_subplots=False, row="all", col=1)


def _layout(fig: go.Figure, dates: pd.Series) -> go.Figure:
    """One explicit date range: an empty bottom panel must not turn the shared axis into numbers."""
    dates = dates.dropna()
    if not dates.empty:
        fig.update_xaxes(type="date", range=[dates.min() - 3 * DAY, dates.max() + 3 * DAY])
    fig.update_yaxes(range=[0, PAIN_TOP], **_row("pain"))
    fig.update_layout(template="simple_white", height=960, margin={"l": 60, "r": 110, "t": 40, "b": 60},
                      barmode="overlay", hovermode="closest",
                      legend={"orientation": "h", "x": 0, "y": -0.04, "yanchor": "top", "font": {"size": 12}})
    return fig
