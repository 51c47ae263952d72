"""The review timeline tested as data: traces, shapes and annotations, not pixels."""

from __future__ import annotations

import html
import json

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import palette
from dashboard.charts.timeline import PANELS, step_labels, timeline

NAN = float("nan")
DAILY_MEASURES = ["pain", "pain_7d", "sleep", "mood", "function", "peg", "dose_taken_mg", "dose_prescribed_mg",
                  "bp_systolic", "bp_diastolic"]


def ts(day: str) -> pd.Timestamp:
    return pd.Timestamp(f"2026-03-{day}") if len(day) <= 2 else pd.Timestamp(day)


def daily(days: list[str], **columns: list[float]) -> pd.DataFrame:
    """A daily frame on the given days of March 2026; measures not given are NaN."""
    frame = pd.DataFrame({"diary_date": pd.to_datetime([ts(d) for d in days])})
    for name in DAILY_MEASURES:
        frame[name] = np.asarray(columns.get(name, [NAN] * len(days)), dtype="float64")
    return frame


def frame(columns: list[str], rows: list[tuple] = (), dates: tuple[str, ...] = ()) -> pd.DataFrame:
    out = pd.DataFrame(list(rows), columns=columns)
    for col in dates:
        out[col] = pd.to_datetime(out[col])
    return out


NO_STEPS = frame(["start", "end", "dose_mg", "route"], dates=("start", "end"))
NO_VISITS = frame(["date", "kind"], dates=("date",))
NO_EFFECTS = frame(["diary_date", "effect", "severity"], dates=("diary_date",))
NO_FLAGS = frame(["rule", "start", "end", "detail"], dates=("start", "end"))


def build(days: pd.DataFrame, *, steps=NO_STEPS, visits=NO_VISITS, effects=NO_EFFECTS, flags=NO_FLAGS, **kwargs):
    kwargs.setdefault("baseline", None)
    return timeline(days, steps, visits, effects, flags, **kwargs)


def trace(fig, name: str):
    (found,) = [t for t in fig.data if t.name == name]
    return found


def values(seq) -> list:
    return [None if v is None or (isinstance(v, float) and np.isnan(v)) else v for v in list(seq)]


def dates(seq) -> list[pd.Timestamp]:
    return [pd.Timestamp(v) for v in seq]


def yref(panel: str) -> str:
    row = PANELS[panel][0]
    return f"y{row if row > 1 else ''}"


FULL = daily(["01", "02", "03"], pain=[6, 5, 4], pain_7d=[6, 5.5, 5], sleep=[4, 5, 6], mood=[5, 5, 6],
             function=[3, 4, 5], peg=[6, 6, 5], dose_taken_mg=[25, 50, 25], dose_prescribed_mg=[25, 25, 25],
             bp_systolic=[130, NAN, 165], bp_diastolic=[85, NAN, 90])


ONE_EFFECT = frame(["diary_date", "effect", "severity"], [("2026-03-01", "nausea", 1)], dates=("diary_date",))
ONE_FLAG = frame(["rule", "start", "end", "detail"], [("bp_high", "2026-03-03", "2026-03-03", "165/90")],
                 dates=("start", "end"))


@pytest.mark.parametrize(("days", "effects", "flags", "names"), [
    (FULL, ONE_EFFECT, ONE_FLAG, ["daily pain", "7-day mean", "flags", "prescribed", "taken", "above prescription",
                                  "sleep", "mood", "function", "PEG", "side effects", "systolic", "diastolic"]),
    (FULL.assign(peg=NAN, dose_taken_mg=[25, 25, NAN]), ONE_EFFECT, NO_FLAGS,
     ["daily pain", "7-day mean", "prescribed", "taken", "sleep", "mood", "function", "side effects", "systolic",
      "diastolic"]),
    (FULL.assign(bp_systolic=NAN, bp_diastolic=NAN, dose_prescribed_mg=NAN), NO_EFFECTS, NO_FLAGS,
     ["daily pain", "7-day mean", "taken", "sleep", "mood", "function", "PEG",
      "no side effects recorded", "no blood pressure recorded"]),  # invisible, to keep the panel's axes
])
def test_trace_names_and_order(days, effects, flags, names):
    fig = build(days, effects=effects, flags=flags)
    assert [t.name for t in fig.data] == names
    assert [t.name for t in fig.data if t.showlegend is False] == [n for n in names if n.startswith("no ")]


@pytest.mark.parametrize(("days", "pain", "x"), [
    (["01", "02", "03"], [6, 5, 4], ["01", "02", "03"]),
    (["01", "02", "04"], [6, 5, 4], ["01", "02", "04"]),  # one missing day is bridged
    (["01", "02", "05"], [6, 5, 4], ["01", "02", "03", "05"]),  # two missing days break the line
    (["01", "05", "06", "10"], [6, 5, 4, 3], ["01", "02", "05", "06", "07", "10"]),
])
def test_pain_lines_break_at_gaps_of_two_days_or_more(days, pain, x):
    fig = build(daily(days, pain=pain, pain_7d=pain))
    expected_y = [pain[days.index(day)] if day in days else None for day in x]
    for name in ("daily pain", "7-day mean"):
        assert dates(trace(fig, name).x) == [ts(d) for d in x]
        assert values(trace(fig, name).y) == expected_y
    assert trace(fig, "7-day mean").mode == "lines"


def test_seven_day_mean_is_the_input_column():
    fig = build(FULL)
    assert values(trace(fig, "7-day mean").y) == [6, 5.5, 5]
    assert trace(fig, "7-day mean").line.color == palette.BLUE


@pytest.mark.parametrize(("taken", "prescribed", "within", "above"), [
    ([25, 50, 25], [25, 25, 25], {"01": 25, "03": 25}, {"02": 50}),
    ([25, 25, NAN], [25, 25, 50], {"01": 25, "02": 25}, {}),
    ([12.5, 25.0000000001, 30], [25, 25, NAN], {"01": 12.5, "02": 25.0000000001, "03": 30}, {}),
    ([100, 100, 100], [50, 50, 75], {}, {"01": 100, "02": 100, "03": 100}),
])
def test_taken_doses_above_the_prescription_get_their_own_trace(taken, prescribed, within, above):
    fig = build(daily(["01", "02", "03"], dose_taken_mg=taken, dose_prescribed_mg=prescribed))
    for name, expected in (("taken", within), ("above prescription", above)):
        found = [t for t in fig.data if t.name == name]
        assert len(found) == (1 if expected else 0)
        if expected:
            assert dict(zip([f"{d:%d}" for d in dates(found[0].x)], values(found[0].y))) == expected
    if above:
        assert trace(fig, "above prescription").marker.color == palette.VERMILLION
    if within:
        assert trace(fig, "taken").marker.color == palette.SKY_BLUE


@pytest.mark.parametrize(("days", "prescribed", "expected"), [
    (["01", "02", "03"], [25, 25, 50], [25, 25, 50]),
    (["01", "02", "06"], [25, 25, 50], [25, 25, None, 50]),  # the step line does not bridge a diary gap
    (["01", "02"], [NAN, 25], [None, 25]),
])
def test_prescribed_step_line(days, prescribed, expected):
    line = trace(build(daily(days, dose_prescribed_mg=prescribed)), "prescribed")
    assert values(line.y) == expected
    assert line.line.shape == "hv"


def test_heatmap_is_effects_by_calendar_day():
    effects = frame(["diary_date", "effect", "severity"], [
        ("2026-03-01", "nausea", 1), ("2026-03-02", "nausea", 0), ("2026-03-04", "nausea", 3),
        ("2026-03-02", "dissociation", 2), ("2026-03-01", "dissociation", 1), ("2026-03-01", "dissociation", 2),
    ], dates=("diary_date",))
    heat = trace(build(daily(["01", "02", "04"], pain=[5, 5, 5]), effects=effects), "side effects")
    assert list(heat.y) == ["dissociation", "nausea"]
    assert dates(heat.x) == [ts(d) for d in ("01", "02", "03", "04")]  # the un-rated 3rd stays blank
    assert [values(row) for row in heat.z] == [[2, 2, None, None], [1, 0, None, 3]]
    assert (heat.zmin, heat.zmax) == (0, 3)


def vlines(fig, day: str) -> list:
    return [s for s in fig.layout.shapes if s.type == "line" and s.x0 is not None and s.x0 == s.x1
            and pd.Timestamp(s.x0) == ts(day)]


@pytest.mark.parametrize(("kind", "dash", "colour"), [
    ("in person", "dot", palette.GREY),
    ("telehealth", "dot", palette.GREY),
    ("infusion", "solid", palette.REDDISH_PURPLE),
])
def test_visits_are_vertical_lines_across_every_panel(kind, dash, colour):
    visits = frame(["date", "kind"], [("2026-03-02", kind)], dates=("date",))
    fig = build(FULL, visits=visits)
    lines = vlines(fig, "02")
    assert len(lines) == len(PANELS)
    assert {(s.line.dash, s.line.color) for s in lines} == {(dash, colour)}
    assert ("infusion" in [a.text for a in fig.layout.annotations]) == (kind == "infusion")


@pytest.mark.parametrize(("steps", "labels"), [
    ([("2026-03-01", 25.0, "troche")], ["start 25 mg"]),
    ([("2026-03-01", 30.0, "troche"), ("2026-03-15", 50.0, "troche")], ["start 30 mg", "30 → 50 mg"]),
    ([("2026-03-15", 100.0, "troche"), ("2026-03-01", 12.5, "troche"), ("2026-03-10", 35.0, "IV")],
     ["12.5 → 100 mg", "start 12.5 mg", "IV start 35 mg"]),
])
def test_step_labels(steps, labels):
    table = frame(["start", "dose_mg", "route"], steps, dates=("start",))
    assert list(step_labels(table)) == labels
    texts = [a.text for a in build(FULL, steps=table).layout.annotations]
    assert all(label in texts for label in labels)


def test_given_step_labels_are_used_and_escaped():
    table = frame(["start", "end", "dose_mg", "route", "label"],
                  [("2026-03-01", "2026-03-09", 30.0, "troche", "30 → 50 mg"),
                   ("2026-03-10", "2026-03-20", 50.0, "troche", "<i>custom</i>")], dates=("start", "end"))
    texts = [a.text for a in build(FULL, steps=table).layout.annotations]
    assert "30 → 50 mg" in texts and "&lt;i&gt;custom&lt;/i&gt;" in texts


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
    assert values(trace(fig, "systolic").y) == [130, None, 165]


def test_empty_panels_say_what_is_missing():
    days = daily(["01", "02"], pain=[5, 4])
    fig = build(days, baseline=5.0)
    texts = [a.text for a in fig.layout.annotations]
    for text in ("no blood pressure recorded", "no side effects recorded", "no ketamine doses recorded or prescribed",
                 "no sleep, mood or function recorded"):
        assert text in texts
    assert not [s for s in fig.layout.shapes if s.yref == yref("bp")]


def test_flags_are_markers_named_by_rule_with_escaped_hover():
    flags = frame(["rule", "start", "end", "detail"], [
        ("bp_high", "2026-03-03", "2026-03-03", "systolic 165"),
        ("pain_spike", "2026-03-01", "2026-03-02", "<script>alert(1)</script> & more"),
    ], dates=("start", "end"))
    marks = trace(build(FULL, flags=flags), "flags")
    assert list(marks.text) == ["pain_spike", "bp_high"]
    assert dates(marks.x) == [ts("01"), ts("03")]
    assert list(marks.customdata[0]) == ["pain_spike", "01 Mar 2026", "02 Mar 2026",
                                         "&lt;script&gt;alert(1)&lt;/script&gt; &amp; more"]


def strings(node) -> list[str]:
    if isinstance(node, str):
        return [node]
    if isinstance(node, dict):
        return [s for value in node.values() for s in strings(value)]
    if isinstance(node, list):
        return [s for value in node for s in strings(value)]
    return []


@pytest.mark.parametrize("payload", ["<img src=x onerror=alert(1)>", "<b>bold</b>", "<a href='javascript:x'>x</a>"])
def test_html_from_data_is_escaped_in_the_figure_json(payload):
    flags = frame(["rule", "start", "end", "detail"], [(f"rule{payload}", "2026-03-01", "2026-03-01", payload)],
                  dates=("start", "end"))
    effects = frame(["diary_date", "effect", "severity"], [("2026-03-01", payload, 2)], dates=("diary_date",))
    steps = frame(["start", "end", "dose_mg", "route", "label"],
                  [("2026-03-01", "2026-03-03", 25.0, "troche", payload)], dates=("start", "end"))
    fig = build(FULL, flags=flags, effects=effects, steps=steps)
    text = strings(json.loads(fig.to_json()))
    assert not [s for s in text if payload in s]
    assert html.escape(payload) in text  # the flag detail, shown as typed, not interpreted


@pytest.mark.parametrize(("start", "end"), [("2026-03-02", "2026-03-02"), ("2026-03-01", "2026-03-03")])
def test_highlight_and_gaps_shade_whole_days(start, end):
    gaps = frame(["start", "end"], [("2026-03-05", "2026-03-09")], dates=("start", "end"))
    fig = build(FULL, highlight=(pd.Timestamp(start).date(), pd.Timestamp(end).date()), gaps=gaps)
    rects = [s for s in fig.layout.shapes if s.type == "rect"]
    spans = {(pd.Timestamp(s.x0), pd.Timestamp(s.x1), s.fillcolor) for s in rects}
    half = pd.Timedelta(hours=12)
    assert spans == {(pd.Timestamp(start) - half, pd.Timestamp(end) + half, palette.YELLOW),
                     (ts("05") - half, ts("09") + half, palette.GAP_GREY)}
    assert len(rects) == 2 * len(PANELS)


def test_without_highlight_there_is_no_shading():
    assert [s for s in build(FULL).layout.shapes if s.type == "rect"] == []


def test_shared_date_axis_covers_the_diary():
    fig = build(FULL.assign(bp_systolic=NAN, bp_diastolic=NAN))
    bottom = fig.layout[f"xaxis{len(PANELS)}"]
    assert bottom.type == "date"
    assert dates(bottom.range) == [ts("01") - pd.Timedelta(days=3), ts("03") + pd.Timedelta(days=3)]
    assert all(fig.layout[f"xaxis{r if r > 1 else ''}"].matches == f"x{len(PANELS)}" for r in range(1, len(PANELS)))


@pytest.mark.parametrize(
    ("rules_and_days", "expected"),
    [
        ([("pain_spike", 0), ("pain_spike", 10), ("pain_spike", 50)], ["pain_spike", "", "pain_spike"]),
        ([("pain_spike", 0), ("bp_high", 1), ("pain_spike", 2)], ["pain_spike", "bp_high", ""]),
        ([("bladder", 0), ("bladder", 45)], ["bladder", "bladder"]),
        ([("<b>x</b>", 0)], ["&lt;b&gt;x&lt;/b&gt;"]),
    ],
)
def test_flag_names_are_written_once_per_rule_in_a_quiet_window(rules_and_days, expected):
    from dashboard.charts.timeline import flag_labels

    start = pd.Timestamp("2026-03-01")
    flags = pd.DataFrame({"rule": [r for r, _ in rules_and_days],
                          "start": [start + pd.Timedelta(days=d) for _, d in rules_and_days]})
    assert flag_labels(flags) == expected
