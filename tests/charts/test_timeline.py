"""The review timeline tested as data: traces, shapes and annotations, not pixels."""

from __future__ import annotations

import html
import importlib
import json
import re
from datetime import date

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import palette
from dashboard.charts.timeline import PANELS, flag_rows, label_levels, step_labels, timeline

parts_module = importlib.import_module("dashboard.charts.timeline_parts")  # the constants the panels share
NAN = float("nan")
DAILY_MEASURES = ["pain", "pain_7d", "sleep", "mood", "function", "peg", "dose_taken_mg", "dose_prescribed_mg",
                  "bp_systolic", "bp_diastolic"]
FLAG_COLUMNS = ["rule", "name", "safety", "start", "end", "detail", "new", "acknowledged"]


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-{day}") if len(day) <= 2 else pd.Timestamp(day)


def daily(days: list[str], **columns: list[float]) -> pd.DataFrame:
    """A daily frame on the given days of March 2026; measures not given are NaN."""
    frame = pd.DataFrame({"diary_date": pd.to_datetime([ts(d) for d in days])})
    for name in [*DAILY_MEASURES, *[c for c in columns if c not in DAILY_MEASURES]]:
        frame[name] = np.asarray(columns.get(name, [NAN] * len(days)), dtype="float64")
    return frame


def frame(columns: list[str], rows: list[tuple] = (), dates: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame(list(rows), columns=columns)
    for col in dates:
        out[col] = pd.to_datetime(out[col])
    return out


def flags(*rows: tuple) -> pd.DataFrame:
    """Flag rows: (rule, name, safety, start, end, detail, new, acknowledged)."""
    return frame(FLAG_COLUMNS, list(rows), dates=("start", "end"))


NO_STEPS = frame(["start", "end", "dose_mg", "daily_dose_mg", "frequency", "route"], dates=("start", "end"))
NO_VISITS = frame(["date", "kind"], dates=("date",))
NO_EFFECTS = frame(["diary_date", "effect", "severity"], dates=("diary_date",))
NO_FLAGS = flags()


def build(days: pd.DataFrame, *, steps=NO_STEPS, visits=NO_VISITS, effects=NO_EFFECTS, flag_frame=NO_FLAGS, **kwargs):
    kwargs.setdefault("baseline", None)
    return timeline(days, steps, visits, effects, flag_frame, **kwargs)


def trace(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def values(seq) -> list:
    """Values as plotly draws them: NaN is nothing; float32 (what is sent) read to its 7 digits."""
    return [None if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v))
            else (round(float(v), 6) if isinstance(v, np.floating) else v) for v in list(seq)]


def dates(seq) -> list[pd.Timestamp]:
    return [pd.Timestamp(v) for v in seq]


def x_days(t, count: int | None = None) -> list[pd.Timestamp]:
    """A trace's x as plotly reads it: the x array, or ``x0`` + i × ``dx`` (ms) for each of ``count``
    points (by default one per y)."""
    if t.x is not None:
        return dates(t.x)
    count = len(t.y) if count is None else count
    return [pd.Timestamp(t.x0) + i * pd.Timedelta(milliseconds=t.dx) for i in range(count)]


def drawn(t, data: str = "y") -> dict[pd.Timestamp, float]:
    """The drawn points of a marker or bar trace, day -> value: plotly draws nothing where y is NaN."""
    return {day: value for day, value, y in zip(x_days(t), values(t[data]), values(t.y)) if y is not None}


def pen(fig, name: str) -> list[list[tuple[pd.Timestamp, float]]]:
    """A line as plotly draws it: the runs of days the pen joins, in order, each day with its value.

    The line's trace lifts the pen at every NaN; its bridges (a segment, then NaN) join the run
    ending on a segment's first day to the run starting on its last."""
    def runs(t) -> list[list[tuple[pd.Timestamp, float]]]:
        out = [[]]
        for day, value in zip(x_days(t), values(t.y)):
            if value is None:
                out.append([])
            else:
                out[-1].append((day, value))
        return [run for run in out if run]

    line = trace(fig, name)
    assert line.mode == "lines"
    drawn_runs = runs(line)
    for bridge in [t for t in fig.data if t.name == parts_module.BRIDGED.format(name)]:
        assert bridge.hoverinfo == "skip" and bridge.showlegend is False and bridge.line == line.line
        assert bridge.legendgroup == line.legendgroup
        for (first, y0), (last, y1) in (run for run in runs(bridge)):
            assert last - first == pd.Timedelta(days=2)  # bridges one missing day, nothing longer
            (before,) = [r for r in drawn_runs if r[-1] == (first, y0)]
            (after,) = [r for r in drawn_runs if r[0] == (last, y1)]
            drawn_runs = [r for r in drawn_runs if r is not before and r is not after]
            drawn_runs = sorted([*drawn_runs, before + after])
    return drawn_runs


def yref(panel: str) -> str:
    row = PANELS[panel][0]
    return f"y{row if row > 1 else ''}"


def strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


FULL = daily(["01", "02", "03"], pain=[6, 5, 4], pain_7d=[6, 5.5, 5], sleep=[4, 5, 6], mood=[5, 5, 6],
             function=[3, 4, 5], peg=[6, NAN, 5], dose_taken_mg=[25, 50, 25], dose_prescribed_mg=[25, 25, 25],
             bp_systolic=[130, NAN, 165], bp_diastolic=[85, NAN, 90],
             sleep_7d=[4, 4.5, 5], mood_7d=[5, 5, 5.333333], function_7d=[3, 3.5, 4])
ONE_EFFECT = frame(["diary_date", "effect", "severity"], [("2026-03-01", "nausea", 1)], dates=("diary_date",))
ONE_FLAG = flags(("bp_high", "High blood pressure", True, "2026-03-03", "2026-03-03", "165/90", True, False))


@pytest.mark.parametrize(("days", "effects", "flag_frame", "names"), [
    (FULL, ONE_EFFECT, ONE_FLAG,
     ["flag runs", "flags", "daily pain", "7-day mean", "prescribed", "taken", "above prescription",
      "sleep (daily)", "sleep", "mood (daily)", "mood", "function (daily)", "function", "PEG (weekly, 10 = worst)",
      "side effects", "systolic", "diastolic"]),
    # Without the 7-day columns the daily values are the lines.
    (FULL.drop(columns=["sleep_7d", "mood_7d", "function_7d"]).assign(peg=NAN, dose_taken_mg=[25, 25, NAN]),
     ONE_EFFECT, NO_FLAGS,
     ["no flags in this period", "daily pain", "7-day mean", "prescribed", "taken", "sleep", "mood", "function",
      "side effects", "systolic", "diastolic"]),
    (FULL.assign(bp_systolic=NAN, bp_diastolic=NAN, dose_prescribed_mg=NAN), NO_EFFECTS, NO_FLAGS,
     ["no flags in this period", "daily pain", "7-day mean", "taken", "sleep (daily)", "sleep", "mood (daily)", "mood",
      "function (daily)", "function", "PEG (weekly, 10 = worst)", "no side effects recorded",
      "no blood pressure recorded"]),  # empty, to keep the panel's axes
])
def test_trace_names_and_order(days, effects, flag_frame, names):
    fig = build(days, effects=effects, flag_frame=flag_frame)
    assert [t.name for t in fig.data] == names
    assert all(len(t.x) == 0 for t in fig.data if t.name.startswith("no "))


@pytest.mark.parametrize(("days", "pain", "runs"), [
    (["01", "02", "03"], [6, 5, 4], [["01", "02", "03"]]),
    (["01", "02", "04"], [6, 5, 4], [["01", "02", "04"]]),  # one missing day is bridged
    (["01", "02", "05"], [6, 5, 4], [["01", "02"], ["05"]]),  # two missing days break the line
    (["01", "05", "06", "10"], [6, 5, 4, 3], [["01"], ["05", "06"], ["10"]]),
    (["01", "03", "05", "06", "09", "11"], [6, 5, 4, 3, 2, 1], [["01", "03", "05", "06"], ["09", "11"]]),
    # Sparse lines go as days, not on the day grid, by the same rule.
    (["01", "03", "20"], [6, 5, 4], [["01", "03"], ["20"]]),
    (["01", "30"], [6, 5], [["01"], ["30"]]),
])
def test_the_seven_day_line_breaks_at_gaps_of_two_days_or_more(days, pain, runs):
    fig = build(daily(days, pain=pain, pain_7d=pain))
    assert pen(fig, "7-day mean") == [[(ts(d), pain[days.index(d)]) for d in run] for run in runs]
    span = (ts(days[-1]) - ts(days[0])).days + 1
    # On the day grid (4 bytes a day) unless the days as strings (13 bytes more each, breaks included) are fewer bytes.
    assert (trace(fig, "7-day mean").x is None) == (span * 4 < (len(days) + len(runs) - 1) * 17)
    # Markers need no break: only the days with a value are drawn.
    assert list(drawn(trace(fig, "daily pain"))) == [ts(d) for d in days]


def test_only_drawn_points_carry_values_rounded_to_two_decimals():
    days = daily(["01", "02", "03", "04"], pain=[6.123456, NAN, 4.0, NAN], pain_7d=[6.123456, 6.123456, 5.061728, NAN],
                 bp_systolic=[NAN, 141.0, NAN, NAN], bp_diastolic=[NAN, 91.0, NAN, NAN])
    fig = build(days)
    assert drawn(trace(fig, "daily pain")) == {ts("01"): 6.12, ts("03"): 4.0}
    assert values(trace(fig, "7-day mean").y) == [6.12, 6.12, 5.06]
    assert drawn(trace(fig, "systolic")) == {ts("02"): 141.0}


def test_seven_day_mean_is_the_input_column():
    fig = build(FULL)
    assert values(trace(fig, "7-day mean").y) == [6, 5.5, 5]
    assert trace(fig, "7-day mean").line.color == palette.BLUE


def test_sleep_mood_function_are_seven_day_lines_over_faint_daily_values():
    fig = build(FULL)
    assert values(trace(fig, "mood").y) == [5, 5, 5.33]
    assert list(drawn(trace(fig, "mood (daily)")).values()) == [5, 5, 6]
    assert trace(fig, "mood (daily)").mode == "markers" and trace(fig, "mood (daily)").showlegend is False
    assert trace(fig, "mood (daily)").marker.opacity < 1
    assert trace(fig, "mood").legendgroup == trace(fig, "mood (daily)").legendgroup


def test_peg_points_are_joined_across_the_week():
    days = daily(["01", "08", "15", "16"], pain=[5, 5, 5, 5], peg=[6, 5, NAN, 4])
    peg = trace(build(days), "PEG (weekly, 10 = worst)")
    assert drawn(peg) == {ts("01"): 6, ts("08"): 5, ts("16"): 4}
    assert peg.mode == "lines+markers" and peg.connectgaps is True  # no break between weekly points


@pytest.mark.parametrize(("taken", "prescribed", "within", "above"), [
    ([25, 50, 25], [25, 25, 25], {"01": 25, "03": 25}, {"02": 50}),
    ([25, 25, NAN], [25, 25, 50], {"01": 25, "02": 25}, {}),
    ([12.5, 25.0000000001, 30], [25, 25, NAN], {"01": 12.5, "02": 25.0, "03": 30}, {}),
    ([100, 100, 100], [50, 50, 75], {}, {"01": 100, "02": 100, "03": 100}),
])
def test_taken_doses_above_the_prescription_get_their_own_trace(taken, prescribed, within, above):
    fig = build(daily(["01", "02", "03"], dose_taken_mg=taken, dose_prescribed_mg=prescribed))
    for name, expected in (("taken", within), ("above prescription", above)):
        found = [t for t in fig.data if t.name == name]
        assert len(found) == (1 if expected else 0)
        if expected:
            assert {f"{d:%d}": v for d, v in drawn(found[0]).items()} == expected
            shown = {f"{d:%d}": v for d, v in drawn(found[0], "customdata").items()}  # the hover's prescribed mg
            assert shown == {d: values([prescribed[int(d) - 1]])[0] for d in expected}
    if above:
        assert trace(fig, "above prescription").marker.color == palette.VERMILLION
        assert trace(fig, "above prescription").marker.pattern.shape == "x"  # not by colour alone
    if within:
        assert trace(fig, "taken").marker.color == palette.SKY_BLUE


@pytest.mark.parametrize(("days", "prescribed", "expected"), [
    (["01", "02", "03"], [25, 25, 50], [[("01", 25), ("02", 25), ("03", 50)]]),
    (["01", "02", "06"], [25, 25, 50], [[("01", 25), ("02", 25)], [("06", 50)]]),  # the step line does not bridge a diary gap
    (["01", "02", "04"], [25, 25, 50], [[("01", 25), ("02", 25), ("04", 50)]]),  # but one missing day, as the 7-day line
    (["01", "02"], [NAN, 25], [[("02", 25)]]),
])
def test_prescribed_step_line(days, prescribed, expected):
    fig = build(daily(days, dose_prescribed_mg=prescribed))
    assert pen(fig, "prescribed") == [[(ts(d), v) for d, v in run] for run in expected]
    assert trace(fig, "prescribed").line.shape == "hv"


def test_heatmap_leaves_none_blank_so_mild_stands_out():
    effects = frame(["diary_date", "effect", "severity"], [
        ("2026-03-01", "nausea", 1), ("2026-03-02", "nausea", 0), ("2026-03-04", "nausea", 3),
        ("2026-03-02", "brain_fog", 2), ("2026-03-01", "brain_fog", 1), ("2026-03-01", "brain_fog", 2),
    ], dates=("diary_date",))
    heat = trace(build(daily(["01", "02", "04"], pain=[5, 5, 5]), effects=effects), "side effects")
    assert list(heat.y) == ["brain fog", "nausea"]
    assert x_days(heat, len(heat.z[0])) == [ts(d) for d in ("01", "02", "03", "04")]  # the un-rated 3rd stays blank
    assert [values(row) for row in heat.z] == [[2, 2, None, None], [1, None, None, 3]]  # 0 (none) is blank too
    assert (heat.zmin, heat.zmax) == (1, 3)
    assert list(heat.colorbar.ticktext) == ["mild", "moderate", "severe"]


def visit_lines(fig) -> list:
    return [s for s in fig.layout.shapes if s.type == "line" and s.yref == "paper"]


@pytest.mark.parametrize(("kind", "dash", "colour"), [
    ("in person", "dot", palette.GREY),
    ("telehealth", "dot", palette.GREY),
    ("infusion", "solid", palette.REDDISH_PURPLE),
])
def test_a_visit_is_one_line_across_every_panel(kind, dash, colour):
    visits = frame(["date", "kind"], [("2026-03-02", kind)], dates=("date",))
    fig = build(FULL, visits=visits)
    (line,) = visit_lines(fig)
    assert (line.xref, line.yref, line.y0, line.y1) == ("x", "paper", 0, 1)
    assert pd.Timestamp(line.x0) == pd.Timestamp(line.x1) == ts("02")
    assert (line.line.dash, line.line.color) == (dash, colour)
    assert ("infusion" in [a.text for a in fig.layout.annotations]) == (kind == "infusion")


def test_an_infusion_and_a_review_on_one_day_are_one_infusion_line():
    visits = frame(["date", "kind"], [("2026-03-02", "in person"), ("2026-03-02", "infusion"),
                                      ("2026-03-03", "telehealth")], dates=("date",))
    lines = visit_lines(build(FULL, visits=visits))
    assert [(pd.Timestamp(s.x0), s.line.color) for s in lines] == [(ts("02"), palette.REDDISH_PURPLE),
                                                                   (ts("03"), palette.GREY)]


def test_shapes_are_few_whatever_the_number_of_panels():
    visits = frame(["date", "kind"], [(f"2026-03-{d:02d}", "in person") for d in (1, 2, 3)], dates=("date",))
    gaps = frame(["start", "end"], [("2026-03-05", "2026-03-09"), ("2026-03-12", "2026-03-20")], dates=("start", "end"))
    fig = build(FULL, visits=visits, gaps=gaps, baseline=6.0, highlight=(date(2026, 3, 2), date(2026, 3, 2)))
    # 3 visits + 2 gaps + baseline line and relief band + 2 BP limits + the highlight band and its stem.
    assert len(fig.layout.shapes) == 3 + 2 + 2 + 2 + 2


@pytest.mark.parametrize(("steps", "labels"), [
    ([("2026-03-01", 25.0, 25.0, "daily", "troche")], ["start 25 mg/day"]),
    ([("2026-03-01", 25.0, 50.0, "twice daily", "troche"), ("2026-03-15", 50.0, 100.0, "twice daily", "troche")],
     ["start 50 mg/day", "50 → 100 mg/day"]),
    # Compared with the previous troche step, whatever the in-clinic sessions in between.
    ([("2026-03-15", 50.0, 100.0, "twice daily", "troche"), ("2026-03-01", 25.0, 25.0, "daily", "troche"),
      ("2026-03-10", 35.0, 35.0, "once", "IV")], ["25 → 100 mg/day", "start 25 mg/day", "IV 35 mg"]),
    ([("2026-03-01", 50.0, 50.0, "daily", "troche"), ("2026-03-15", 100.0, 50.0, "every other day", "troche")],
     ["start 50 mg/day", "50 mg/day, every other day"]),
    ([("2026-03-01", 100.0, 75.0, "every other day", "Troche "), ("2026-03-15", 12.5, NAN, "as needed", "troche")],
     ["start 75 mg/day", "12.5 mg as needed"]),
    ([("2026-03-01", 0.5, 0.5, "once", "IM")], ["IM 0.5 mg"]),
])
def test_step_labels_in_mg_per_day(steps, labels):
    table = frame(["start", "dose_mg", "daily_dose_mg", "frequency", "route"], steps, dates=("start",))
    assert list(step_labels(table)) == labels
    texts = [a.text for a in build(FULL, steps=table).layout.annotations]
    assert all(label in texts for label in labels)


def test_given_step_labels_are_used_and_escaped():
    table = frame(["start", "end", "dose_mg", "daily_dose_mg", "route", "label"],
                  [("2026-03-01", "2026-03-09", 30.0, 30.0, "troche", "30 → 50 mg"),
                   ("2026-03-10", "2026-03-20", 50.0, 50.0, "troche", "<i>custom</i>")], dates=("start", "end"))
    texts = [a.text for a in build(FULL, steps=table).layout.annotations]
    assert "30 → 50 mg" in texts and "&lt;i&gt;custom&lt;/i&gt;" in texts


@pytest.mark.parametrize(("starts", "widths", "levels"), [
    ([0, 100, 200], [50, 50, 50], [(0, False), (0, False), (0, False)]),  # far apart: one line
    ([0, 10, 20], [50, 50, 50], [(0, False), (1, False), (2, False)]),  # close: staggered
    ([0, 10, 60], [50, 50, 50], [(0, False), (1, False), (0, False)]),  # the top line is free again
    # Every line taken: shortened where that fits on a line, else left out, never drawn over another
    # (it used to go on the line free soonest, over the label there: issue 19).
    ([0, 5, 10, 15], [50, 50, 50, 50], [(0, False), (1, False), (2, False), None]),
    ([0, 5, 10, 30], [50, 50, 50, 50], [(0, True), (1, False), (2, False), (0, False)]),  # the first shortened
])
def test_close_step_labels_stagger(starts, widths, levels):
    day0 = pd.Timestamp("2026-03-01")
    assert label_levels([day0 + pd.Timedelta(days=s) for s in starts], [pd.Timedelta(days=w) for w in widths],
                        short_widths=[pd.Timedelta(days=20)] * len(widths)) == levels


def label_boxes(fig) -> list[tuple[float, float, float, str]]:
    """Each step label drawn in the pain panel: its left and right edge in px (at the narrowest
    plot the timeline assumes, a generous width per character) and its line."""
    start, end = (pd.Timestamp(v) for v in fig.layout.xaxis.range)
    lanes = max((len(re.sub("<[^>]+>", "", html.unescape(t)))
                 for t in (fig.layout[f"yaxis{PANELS['flags'][0]}"].ticktext or [])), default=0)
    plot_px = parts_module.FIGURE_PX - max(60, parts_module.LANE_CHAR_PX * lanes + 30) - 90
    boxes = []
    for a in fig.layout.annotations:
        if a.yref == "y" and a.xanchor == "left" and a.yanchor == "top" and a.y > 8:
            left = (pd.Timestamp(a.x) - start) / (end - start) * plot_px
            boxes.append((left, left + 6.0 * len(html.unescape(a.text)), a.y, a.text))
    return boxes


@pytest.mark.parametrize("period_days", [30, 120, 365, 1100])
def test_step_labels_never_overlap(period_days):
    """Steps every 3 to 10 days, labels like '30 → 50 mg/day' (issue 19: "30 → 50 mg/day50 → 75 mg/day"
    at as-of 30 Nov): no two labels on one line touch, at the narrowest plot, with long lane names."""
    rng = np.random.default_rng(period_days)
    day0, rows, dose = pd.Timestamp("2026-01-01"), [], 25.0
    day = day0
    while day < day0 + pd.Timedelta(days=period_days):
        rows.append((day.strftime("%Y-%m-%d"), dose, dose, "daily", "troche"))
        dose = max(25.0, dose + float(rng.choice([-25, 25, 50])))
        day += pd.Timedelta(days=int(rng.integers(3, 11)))
    table = frame(["start", "dose_mg", "daily_dose_mg", "frequency", "route"], rows, dates=("start",))
    lanes = flags(("no_benefit_escalation", "Dose raised without benefit", False, "2026-01-05", "2026-01-05", "",
                   True, False))
    fig = build(FULL, steps=table, flag_frame=lanes, period=(day0.date(), (day0 + pd.Timedelta(days=period_days)).date()))
    boxes = label_boxes(fig)
    assert boxes  # some are drawn
    for line in {y for _, _, y, _ in boxes}:
        row = sorted(b for b in boxes if b[2] == line)
        assert all(a[1] <= b[0] for a, b in zip(row, row[1:])), row


def test_step_labels_close_together_go_on_separate_lines_in_the_figure():
    table = frame(["start", "dose_mg", "daily_dose_mg", "frequency", "route"],
                  [("2026-03-01", 25.0, 25.0, "daily", "troche"), ("2026-03-02", 50.0, 50.0, "daily", "troche")],
                  dates=("start",))
    on_a_week = {a.text: a.y for a in build(FULL, steps=table).layout.annotations}
    assert on_a_week["start 25 mg/day"] == on_a_week["25 → 50 mg/day"]  # a day apart is far on a week's axis
    on_two_years = {a.text: a.y for a in build(FULL, steps=table, period=(date(2026, 3, 1), date(2028, 3, 1)))
                    .layout.annotations}
    assert on_two_years["start 25 mg/day"] > on_two_years["25 → 50 mg/day"]


def pain_shapes(fig) -> list:
    return [s for s in fig.layout.shapes if s.yref == yref("pain")]


@pytest.mark.parametrize("baseline", [7.3, 6.0, 4.0])
def test_baseline_line_and_relief_band(baseline):
    fig = build(FULL, baseline=baseline)
    (line,) = [s for s in pain_shapes(fig) if s.type == "line"]
    (band,) = [s for s in pain_shapes(fig) if s.type == "rect"]
    assert (line.y0, line.y1, line.line.dash) == (baseline, baseline, "dash")
    assert (band.y0, band.y1) == pytest.approx((baseline * 0.5, baseline * 0.7))
    assert f"baseline {baseline:.1f}" in [a.text for a in fig.layout.annotations]


@pytest.mark.parametrize("baseline", [None, NAN])
def test_no_baseline_no_band(baseline):
    fig = build(FULL, baseline=baseline)
    assert pain_shapes(fig) == []
    assert not any("relief" in (a.text or "") for a in fig.layout.annotations)


@pytest.mark.parametrize("limits", [(160, 100), (150, 95)])
def test_blood_pressure_threshold_lines(limits):
    fig = build(FULL, bp_limits=limits)
    lines = [s for s in fig.layout.shapes if s.yref == yref("bp") and s.type == "line"]
    assert [(s.y0, s.line.color) for s in lines] == [(limits[0], palette.VERMILLION), (limits[1], palette.BLUE)]
    assert drawn(trace(fig, "systolic")) == {ts("01"): 130, ts("03"): 165}


def test_empty_panels_say_what_is_missing():
    fig = build(daily(["01", "02"], pain=[5, 4]), baseline=5.0)
    texts = [a.text for a in fig.layout.annotations]
    for text in ("no blood pressure recorded", "no side effects recorded", "no ketamine doses recorded or prescribed",
                 "no sleep, mood, function or PEG recorded", "no flags in this period"):
        assert text in texts
    assert not [s for s in fig.layout.shapes if s.yref == yref("bp")]


MIXED_FLAGS = flags(
    ("pain_spike", "Pain spike", False, "2026-03-01", "2026-03-02", "<script>alert(1)</script> & more", False, False),
    ("bp_high", "High blood pressure", True, "2026-03-03", "2026-03-03", "systolic 165", True, False),
    ("low_mood", "Low mood", False, "2026-03-02", "2026-03-04", "mood 2, 1, 2", False, True),
    ("pain_spike", "Pain spike", False, "2026-03-05", "2026-03-05", "pain 9", False, False),
)


def test_flag_lanes_put_safety_first_named_for_humans():
    fig = build(FULL, flag_frame=MIXED_FLAGS)
    axis = fig.layout[f"yaxis{PANELS['flags'][0] if PANELS['flags'][0] > 1 else ''}"]
    assert [html.unescape(t).split("<span")[-1] for t in axis.ticktext] == [
        f' style="color:{palette.VERMILLION}">▲ High blood pressure</span> <b>NEW</b>', "◆ Pain spike", "◆ Low mood"]
    assert list(axis.tickvals) == [0, 1, 2]
    assert axis.range[0] > axis.range[1]  # the first lane on top


def flag_marks(fig) -> list[dict]:
    """Every flag marker with the style it is drawn in, lane by lane, each in date order."""
    marks = [{"y": y, "x": pd.Timestamp(x), "hover": hover, "colour": t.marker.color, "opacity": t.marker.opacity,
              "symbol": t.marker.symbol, "size": t.marker.size, "outline": t.marker.line.width}
             for t in fig.data if t.name == "flags" for x, y, hover in zip(t.x, t.y, t.hovertext)]
    return sorted(marks, key=lambda m: (m["y"], m["x"]))


def test_flag_markers_carry_status_and_escaped_hover():
    fig = build(FULL, flag_frame=MIXED_FLAGS)
    marks = flag_marks(fig)
    assert [m["y"] for m in marks] == [0, 1, 1, 2]  # lane by lane
    assert [m["colour"] for m in marks] == [palette.VERMILLION, palette.BLUE, palette.BLUE, palette.BLUE]
    assert [m["opacity"] for m in marks] == [1.0, 1.0, 1.0, 0.3]  # the acknowledged run faded
    # Not by colour alone: safety a triangle, course a diamond, acknowledged hollow (issue 19).
    assert [m["symbol"] for m in marks] == ["triangle-up", "diamond", "diamond", "diamond-open"]
    assert marks[0]["size"] > marks[1]["size"] and marks[0]["outline"] > marks[1]["outline"] == 0  # the new one
    assert marks[1]["hover"] == ("<b>Pain spike</b><br>01 Mar 2026 – 02 Mar 2026<br>"
                                 "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more")
    assert marks[0]["hover"].endswith("new since the last visit")
    assert marks[3]["hover"].endswith("acknowledged")
    runs = sorted(((y, pd.Timestamp(b), x, t.marker.color, t.marker.opacity) for t in fig.data if t.name == "flag runs"
                   for y, b, x in zip(t.y, t.base, t.x)), key=lambda r: (r[0], r[1]))
    assert all(t.orientation == "h" for t in fig.data if t.name == "flag runs")
    assert [r[0] for r in runs] == [0, 1, 1, 2]
    assert runs[1][1] == ts("01") - pd.Timedelta(hours=12)
    assert runs[1][2] == pd.Timedelta(days=2).total_seconds() * 1000  # two whole days
    assert [r[3:] for r in runs] == [(palette.VERMILLION, 1.0), (palette.BLUE, 1.0), (palette.BLUE, 1.0),
                                     (palette.BLUE, 0.3)]


def test_flag_styles_are_sent_once_per_trace_not_per_run():
    """Issue 25: the figure carries the runs' points; each look (colour, symbol, size) is said once."""
    many = flags(*[("pain_spike", "Pain spike", False, f"2026-03-{d:02d}", f"2026-03-{d:02d}", "", d % 3 == 0, d % 2 == 0)
                   for d in range(1, 29)])
    fig = build(FULL, flag_frame=many, period=PERIOD)
    flag_traces = [t for t in fig.data if t.name in ("flags", "flag runs")]
    assert len(flag_traces) <= 6 and sum(len(t.y) for t in flag_traces if t.name == "flags") == 28
    for t in flag_traces:
        styles = [t.marker.color, t.marker.opacity] + ([t.marker.symbol, t.marker.size, t.marker.line.width]
                                                      if t.name == "flags" else [])
        assert all(isinstance(s, (str, int, float)) for s in styles), t.name


def test_no_raw_rule_key_reaches_the_figure():
    rules = flags(*[(rule, name, safety, "2026-03-02", "2026-03-02", "", False, False) for rule, name, safety in (
        ("bp_high", "High blood pressure", True), ("dissociation_severe", "Severe dissociation", True),
        ("no_benefit_escalation", "Dose raised without benefit", False), ("diary_gap", None, False))])
    text = " ".join(strings(json.loads(build(FULL, flag_frame=rules, highlight=(date(2026, 3, 2),) * 2).to_json())))
    for key in ("bp_high", "dissociation_severe", "no_benefit_escalation", "diary_gap"):
        assert key not in text
    assert "Diary gap" in text  # a flag without a name gets a readable one


def test_flag_rows_default_missing_status_columns():
    old_style = frame(["rule", "start", "end", "detail"], [("bladder", "2026-03-01", None, "x")],
                      dates=("start", "end"))
    (run,) = flag_rows(old_style)
    assert (run.name, run.safety, run.new, run.acknowledged, run.end) == ("Bladder", False, False, False, ts("01"))


@pytest.mark.parametrize("payload", ["<img src=x onerror=alert(1)>", "<b>bold</b>", "<a href='javascript:x'>x</a>"])
def test_html_from_data_is_escaped_in_the_figure_json(payload):
    flag_frame = flags((f"rule{payload}", f"name{payload}", True, "2026-03-01", "2026-03-01", payload, False, False))
    effects = frame(["diary_date", "effect", "severity"], [("2026-03-01", payload, 2)], dates=("diary_date",))
    steps = frame(["start", "end", "dose_mg", "daily_dose_mg", "route", "label"],
                  [("2026-03-01", "2026-03-03", 25.0, 25.0, "troche", payload)], dates=("start", "end"))
    fig = build(FULL, flag_frame=flag_frame, effects=effects, steps=steps, highlight=(date(2026, 3, 1),) * 2)
    text = strings(json.loads(fig.to_json()))
    assert not [s for s in text if payload in s]
    assert html.escape(payload) in text  # the step label, shown as typed, not interpreted


PERIOD = (date(2026, 3, 1), date(2026, 3, 31))


def test_the_date_axis_spans_the_review_period():
    old_flag = flags(("co_sedative", "Co-sedative", True, "2023-01-01", "2026-03-31", "oxycodone", False, False))
    early_days = pd.concat([daily(["2026-02-01"], pain=[9]), FULL])
    fig = build(early_days, flag_frame=old_flag, period=PERIOD)
    bottom = fig.layout[f"xaxis{len(PANELS)}"]
    two_days = pd.Timedelta(days=2)
    assert bottom.type == "date"
    assert dates(bottom.range) == [ts("01") - two_days, ts("31") + two_days]
    assert all(fig.layout[f"xaxis{r if r > 1 else ''}"].matches == f"x{len(PANELS)}" for r in range(1, len(PANELS)))
    assert x_days(trace(fig, "daily pain")) == [ts("01"), ts("02"), ts("03")]  # before the period: not sent
    assert pd.Timestamp(trace(fig, "flag runs").base[0]) == ts("01") - two_days - pd.Timedelta(hours=12)


def test_without_a_period_the_axis_covers_the_data():
    fig = build(FULL.assign(bp_systolic=NAN, bp_diastolic=NAN))
    assert dates(fig.layout[f"xaxis{len(PANELS)}"].range) == [ts("01") - pd.Timedelta(days=2),
                                                              ts("03") + pd.Timedelta(days=2)]


def rects(fig, colour: str) -> list:
    return [s for s in fig.layout.shapes if s.type == "rect" and s.fillcolor == colour]


def test_gaps_are_shaded_whole_days_through_every_panel():
    gaps = frame(["start", "end"], [("2026-03-05", "2026-03-09")], dates=("start", "end"))
    (band,) = rects(build(FULL, gaps=gaps), palette.GAP_GREY)
    half = pd.Timedelta(hours=12)
    assert (pd.Timestamp(band.x0), pd.Timestamp(band.x1)) == (ts("05") - half, ts("09") + half)
    assert (band.xref, band.yref, band.y0, band.y1, band.layer) == ("x", "paper", 0, 1, "below")


@pytest.mark.parametrize(("start", "end", "width_days"), [
    ("2026-03-10", "2026-03-10", 1),  # a day is more than 0.8 % of 33 days
    ("2026-03-01", "2026-03-20", 20),
])
def test_highlight_shades_whole_days(start, end, width_days):
    fig = build(FULL, highlight=(ts(start).date(), ts(end).date()), period=PERIOD)
    band, stem = rects(fig, palette.YELLOW)
    assert pd.Timestamp(band.x1) - pd.Timestamp(band.x0) == pd.Timedelta(days=width_days)
    assert (band.yref, band.y0, band.y1) == ("paper", 0, 1)
    assert (stem.ysizemode, stem.yanchor, stem.x0) == ("pixel", 1, band.x0)


def test_a_one_day_highlight_on_three_years_keeps_a_visible_width_and_is_named():
    period = (date(2024, 1, 1), date(2026, 12, 31))
    selected = flags(("bp_high", "High blood pressure", True, "2025-06-01", "2025-06-01", "172/95", False, False))
    fig = build(FULL, flag_frame=selected, highlight=(date(2025, 6, 1), date(2025, 6, 1)), period=period)
    band, _ = rects(fig, palette.YELLOW)
    width = pd.Timestamp(band.x1) - pd.Timestamp(band.x0)
    assert width >= (pd.Timestamp(period[1]) - pd.Timestamp(period[0])) * 0.008
    assert pd.Timestamp(band.x0) + width / 2 == pd.Timestamp("2025-06-01")  # centred on the day
    (label,) = [a for a in fig.layout.annotations if a.text.startswith("selected")]
    assert label.text == "selected: High blood pressure, 01 Jun 2025"


def test_without_highlight_or_gaps_there_is_no_shading():
    assert [s for s in build(FULL).layout.shapes if s.type == "rect" and s.yref == "paper"] == []


def test_a_three_year_patient_builds_in_one_go(monkeypatch):
    """Shapes and annotations are handed over once, not added one by one."""
    import plotly.graph_objects as go

    calls = []
    for name in ("add_shape", "add_vline", "add_vrect", "add_hline", "add_hrect", "add_annotation", "add_trace"):
        monkeypatch.setattr(go.Figure, name, lambda *a, _n=name, **k: calls.append(_n))
    days = pd.date_range("2024-01-01", "2026-12-31", freq="D")
    big = daily([d.strftime("%Y-%m-%d") for d in days], pain=list(np.linspace(2, 8, len(days))))
    visits = frame(["date", "kind"], [(d, "in person") for d in days[::28]], dates=("date",))
    fig = build(big, visits=visits, period=(days[0].date(), days[-1].date()))
    assert calls == []
    assert len(visit_lines(fig)) == len(visits)
    assert parts_module.PANEL_GAP_PX > 0


def test_a_long_diary_draws_daily_values_as_lines_and_keeps_high_readings_as_markers():
    """Past DENSE_DAYS drawn days, markers (one SVG element each) give way to a thin line with
    the same values; blood pressure at or above its limit stays a marker, and days above
    prescription stay bars over the taken doses' stepped area."""
    n = parts_module.DENSE_DAYS + 20
    days = pd.date_range("2024-01-01", periods=n, freq="D")
    pain = np.where(np.arange(n) % 2 == 0, 4.0, 6.0)
    systolic = np.full(n, 130.0)
    systolic[[5, 300]] = [165.0, 171.0]
    taken = np.full(n, 50.0)
    taken[7] = 150.0
    long = pd.DataFrame({"diary_date": days})
    for name in DAILY_MEASURES:
        long[name] = NAN
    long = long.assign(pain=pain, mood=pain, mood_7d=np.full(n, 5.0), bp_systolic=systolic, bp_diastolic=np.full(n, 80.0),
                       dose_taken_mg=taken, dose_prescribed_mg=np.full(n, 50.0))
    fig = build(long, period=(days[0].date(), days[-1].date()))
    daily_pain = trace(fig, "daily pain")
    assert daily_pain.mode == "lines" and values(daily_pain.y)[:3] == [4, 6, 4]
    assert trace(fig, "mood (daily)").mode == "lines"
    assert trace(fig, "systolic").mode == "lines"
    high = trace(fig, "systolic ≥ 160")
    assert high.mode == "markers" and drawn(high) == {days[5]: 165.0, days[300]: 171.0}
    assert not [t for t in fig.data if t.name and t.name.startswith("diastolic ≥")]  # none at or above 100
    taken_area = trace(fig, "taken")
    assert taken_area.type == "scatter" and taken_area.fill == "tozeroy" and taken_area.line.shape == "hv"
    assert drawn(trace(fig, "above prescription")) == {days[7]: 150.0}
    markers = sum(len(t.y) for t in fig.data if t.type == "scatter" and t.mode and "markers" in t.mode)
    assert markers < 10  # the two high readings, not a marker a day


def test_a_short_diary_keeps_a_marker_a_day():
    fig = build(FULL)
    assert trace(fig, "daily pain").mode == "markers" and trace(fig, "systolic").mode == "markers"
    assert not [t for t in fig.data if t.name and "≥" in t.name]


def test_the_peg_title_only_when_peg_is_drawn():
    titles = lambda fig: [a.text for a in fig.layout.annotations if a.xref == "paper" and a.x == 0]  # noqa: E731
    assert any("PEG weekly" in t for t in titles(build(FULL)))
    without = titles(build(FULL.assign(peg=NAN)))
    assert "Sleep, mood, function: 7-day means (10 = best)" in without
    assert not any("PEG" in t for t in without)


def test_visits_infusions_and_gaps_are_in_the_legend():
    visits = frame(["date", "kind"], [("2026-03-02", "in person"), ("2026-03-03", "infusion")], dates=("date",))
    gaps = frame(["start", "end"], [("2026-03-05", "2026-03-09")], dates=("start", "end"))
    legend = [t for t in build(FULL, visits=visits, gaps=gaps).data if t.showlegend is not False]
    entries = {t.name: t for t in legend}
    assert entries["visit"].line.dash == "dot" and entries["visit"].line.color == palette.GREY
    assert entries["infusion in clinic"].line.color == palette.REDDISH_PURPLE
    assert entries["no diary entry"].marker.color == palette.GAP_GREY
    assert "visit" not in {t.name for t in build(FULL).data}  # no visit drawn, none in the legend


def test_severe_side_effect_days_carry_a_mark_as_well_as_the_darkest_colour():
    effects = frame(["diary_date", "effect", "severity"], [("2026-03-01", "brain_fog", 3), ("2026-03-02", "nausea", 1),
                                                          ("2026-03-03", "nausea", 3)], dates=("diary_date",))
    marks = trace(build(FULL, effects=effects), "severe side effect (✕)")
    assert marks.marker.symbol == "x"
    assert list(zip(marks.x, marks.y)) == [("2026-03-01", "brain fog"), ("2026-03-03", "nausea")]


def test_demo_step_labels_never_touch_at_as_of_30_november(demo_url):
    """Every demo patient's timeline at as-of 30 Nov 2026 (the walkthrough saw DEMO-006's
    "30 → 50 mg/day50 → 75 mg/day"): labels on one line never touch at the narrowest plot."""
    from dashboard.stored.review import patient_review
    from dashboard.charts.timeline import review_timeline
    from dashboard.db import queries
    from dashboard.db.session import session_scope
    from dashboard.demo import STORIES

    with session_scope(demo_url) as session:
        for story in STORIES:
            review = patient_review(session, story.ref, as_of=date(2026, 11, 30))
            visits = queries.visits_frame(session, queries.patient_by_ref(session, story.ref).id)
            boxes = label_boxes(review_timeline(review, visits))
            for line in {y for _, _, y, _ in boxes}:
                row = sorted(b for b in boxes if b[2] == line)
                assert all(a[1] <= b[0] for a, b in zip(row, row[1:])), (story.ref, row)
