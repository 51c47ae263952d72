"""The instruments figure tested as data: its date range is the timeline's, each instrument on its
own scale, PHQ-9 with its severity bands, no text from files in it."""

from __future__ import annotations

import pandas as pd
import pytest

from dashboard.analysis.measures import NO_MEASURES, charted, listed
from dashboard.charts.measures import left_labels, measures_figure
from tests.charts.test_timeline import build, daily

PERIOD = (pd.Timestamp("2026-03-01"), pd.Timestamp("2026-03-31"))


def measures(*rows: tuple) -> pd.DataFrame:
    """Rows: (date, instrument, code, value, answer_text, name)."""
    out = pd.DataFrame([{**{c: None for c in NO_MEASURES.columns}, "recorded_at": pd.Timestamp(d),
                         "diary_date": pd.Timestamp(d).normalize(), "instrument": i, "system": "http://loinc.org",
                         "code": c, "value": v, "answer_text": a, "name": n} for d, i, c, v, a, n in rows],
                       columns=NO_MEASURES.columns)
    return out.astype({"value": "float64"})


ROWS = measures(
    ("2026-03-02", "phq9", "44261-6", 14, None, "PHQ-9 <b>total</b>"),
    ("2026-03-20", "phq9", "44261-6", 8, None, "PHQ-9 total"),
    ("2026-03-05", "mme", "MME", 90, None, "MME"),
    ("2026-03-02", "phq9_item", "44260-8", 1, "Several days", "item 9"),
    ("2026-03-06", "other", "29463-7", 80, None, "<script>alert(1)</script>"),
)


def test_the_date_range_is_the_timelines():
    fig = measures_figure(charted(ROWS), PERIOD)
    line = build(daily(["01", "31"], pain=[5, 4]), period=PERIOD)
    assert fig.layout.xaxis.range == line.layout.xaxis.range
    assert fig.layout.xaxis2.range == line.layout.xaxis.range
    assert (fig.layout.margin.l, fig.layout.margin.r) == (line.layout.margin.l, line.layout.margin.r)


def test_each_instrument_is_a_panel_on_its_own_scale():
    fig = measures_figure(charted(ROWS), PERIOD)
    assert [t.name for t in fig.data] == ["PHQ-9 depression score", "Opioid dose"]
    assert list(fig.data[0].y) == [14, 8] and list(fig.data[1].y) == [90]
    assert list(fig.layout.yaxis.range) == [0, pytest.approx(27 * 1.08)]
    assert fig.layout.yaxis2.range[1] == pytest.approx(90 * 1.08)  # MME has no fixed top


def test_phq9_has_its_severity_bands_at_5_10_15_20():
    """Kroenke et al. 2001: 5 mild, 10 moderate, 15 moderately severe, 20 severe."""
    fig = measures_figure(charted(ROWS), PERIOD)
    bands = [(s.y0, s.y1) for s in fig.layout.shapes if s.yref == "y"]
    assert bands == [(0, 5), (5, 10), (10, 15), (15, 20), (20, 27)]
    labels = [a.text for a in fig.layout.annotations if a.yref == "y"]
    assert labels == ["minimal", "mild", "moderate", "moderately severe", "severe"]


def test_no_text_from_a_file_reaches_the_figure():
    spec = measures_figure(charted(ROWS), PERIOD).to_json()
    assert "<b>total" not in spec and "script" not in spec


def test_items_screens_and_other_measures_are_listed_not_charted():
    rest = listed(ROWS)
    assert list(rest["code"]) == ["29463-7", "44260-8"]  # newest first
    assert list(rest["kind"]) == ["Other measure", "PHQ-9 items"]


def test_no_instrument_draws_an_empty_figure_on_the_same_range():
    fig = measures_figure(charted(NO_MEASURES), PERIOD)
    assert fig.data == () and fig.layout.xaxis.range[0].startswith("2026-02-27")


def test_the_hidden_alignment_axis_carries_the_timelines_lane_names_invisibly():
    line = build(daily(["01", "31"], pain=[5, 4]), period=PERIOD, flag_frame=__import__(
        "tests.charts.test_timeline", fromlist=["flags"]).flags(
        ("bp_high", "High blood pressure", True, "2026-03-02", "2026-03-02", "x", True, False)))
    labels = left_labels(line)
    assert any("High blood pressure" in text for text, _ in labels)
    fig = measures_figure(charted(ROWS), PERIOD, labels)
    ghost = fig.layout.yaxis3
    assert list(ghost.ticktext) == [t for t, _ in labels] and ghost.tickfont.color == "rgba(0,0,0,0)"
    assert ghost.overlaying == "y" and fig.data[-1].marker.opacity == 0 and fig.data[-1].hoverinfo == "skip"
