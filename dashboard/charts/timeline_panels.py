"""The timeline's panels (``dashboard.charts.timeline`` assembles them): the flag lanes, pain
with its step labels, the ketamine dose, sleep/mood/function and PEG, side effects and blood
pressure, each adding its traces, shapes and annotations to ``Parts``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from dashboard.charts import palette as c
from dashboard.charts.palette import effect_name, escaped, mg
from dashboard.charts.side_effects import SEVERE, severity_heatmap
from dashboard.charts.timeline_parts import (
    COURSE_MARK,
    COURSE_SYMBOL,
    DAY,
    FUNCTION_LINES,
    HALF_DAY,
    HOME_ROUTE,
    LABEL_CHAR_PX,
    LABEL_LEVELS,
    LABEL_STEP,
    LANE_PAD_PX,
    LANE_PX,
    MG_ON_DAY,
    ON_DAY,
    PAIN_TOP,
    PANELS,
    PEG_TITLE,
    SAFETY_MARK,
    SAFETY_SYMBOL,
    SEVERE_SYMBOL,
    TOLERANCE,
    Days,
    Parts,
    _daily,
    _dense,
    _empty,
    _lines,
    _points,
    _ref,
)


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


def _day(value) -> str:
    return "" if pd.isna(value) else f"{pd.Timestamp(value):%d %b %Y}"


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
    # One trace per look (safety or course, acknowledged, new), its style said once: the browser is
    # sent the runs' points, not a colour, symbol and size per run (issue 25).
    for safety, acknowledged in ((True, False), (True, True), (False, False), (False, True)):
        group = [r for r in runs if r.safety == safety and r.acknowledged == acknowledged]
        if not group:
            continue
        starts = [max(r.start, parts.start) for r in group]
        ends = [min(r.end, parts.end) for r in group]
        look = {"color": c.VERMILLION if safety else c.BLUE, "opacity": 0.3 if acknowledged else 1.0}
        parts.add("flags", {
            "type": "bar", "orientation": "h", "name": "flag runs", "showlegend": False, "hoverinfo": "skip",
            "y": [row[r.lane] for r in group], "base": [(s - HALF_DAY).isoformat() for s in starts], "width": 0.5,
            "x": [(e - s + DAY) / pd.Timedelta(milliseconds=1) for s, e in zip(starts, ends)],
            "marker": {**look, "line": {"width": 0}}})
        for new in (True, False):
            marks = [(r, s, e) for r, s, e in zip(group, starts, ends) if r.new == new]
            if not marks:
                continue
            parts.add("flags", {
                "type": "scatter", "mode": "markers", "name": "flags", "showlegend": False,
                "x": [(s + (e - s) / 2).isoformat() for _r, s, e in marks], "y": [row[r.lane] for r, _s, _e in marks],
                "hovertext": [_flag_hover(r) for r, _s, _e in marks], "hovertemplate": "%{hovertext}<extra></extra>",
                "marker": {**look, "symbol": (SAFETY_SYMBOL if safety else COURSE_SYMBOL) + ("-open" if acknowledged else ""),
                           "size": 12 if new else 9, "line": {"color": c.BLACK, "width": 1.5 if new else 0}}})
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
