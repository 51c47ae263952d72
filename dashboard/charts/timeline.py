"""The review timeline: every panel on one date axis, so cause and effect line up.

Panels, top to bottom: flags (one lane per rule that fired, safety first), pain (daily, 7-day
mean, baseline and relief band, step labels), ketamine dose (prescribed maximum and doses
taken), sleep/mood/function and PEG, side-effect severity, blood pressure. Visits are dotted
lines across all panels, in-clinic infusions a coloured line, diary gaps shaded and never
bridged by a line, the flag the clinician selected a yellow band.

Built in one go (STYLE.md, "Figures built in one go"): traces, shapes and annotations are
collected as plain dicts and handed to plotly once. A shape added with ``add_vline(row="all")``
re-validates every shape before it, which made a three-year patient take seconds.

This module assembles the figure and draws the marks across every panel (visits, diary gaps,
the selected flag); the panels are ``timeline_panels``, the pieces they share ``timeline_parts``.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from dashboard.analysis.periods import held_visits
from dashboard.charts import palette as c
from dashboard.charts.palette import escaped

from dashboard.charts.timeline_panels import (
    FlagRun,
    _bp_panel,
    _dose_panel,
    _flag_lanes,
    _function_panel,
    _pain_panel,
    _side_effect_panel,
    _step_labels,
    _when,
    flag_rows,
    label_levels,
    step_labels,
)
from dashboard.charts.timeline_parts import (
    DAY,
    FIGURE_PX,
    HALF_DAY,
    HIGHLIGHT_MIN_SHARE,
    PAD,
    PANEL_GAP_PX,
    PANELS,
    SELECTED_LABEL_PX,
    Days,
    Parts,
    _ref,
)

# Re-exported: the panels' and the pieces' names that readers import from here.
__all__ = ["PAD", "PANELS", "flag_rows", "label_levels", "review_timeline", "step_labels", "timeline",
           "timeline_flags"]

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


# Marks across every panel -----------------------------------------------------------------

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
