"""The visit-aligned overlay tested as data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from pandas.testing import assert_frame_equal

from dashboard.charts import palette
from dashboard.charts.overlay import older_summary, visit_overlay


def aligned(rows: list[tuple[str, int, float, bool]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["interval_start", "days_since_visit", "pain", "is_latest"])
    out["interval_start"] = pd.to_datetime(out["interval_start"])
    out["diary_date"] = out["interval_start"] + pd.to_timedelta(out["days_since_visit"], "D")
    return out.astype({"days_since_visit": "int64", "pain": "float64", "is_latest": "bool"})


def values(seq) -> list:
    return [None if v is None or np.isnan(v) else v for v in list(seq)]


THREE = aligned([
    ("2026-04-01", 0, 5.0, False), ("2026-04-01", 1, 4.5, False),
    ("2026-03-01", 0, 7.0, False), ("2026-03-01", 1, 6.0, False), ("2026-03-01", 2, 6.5, False),
    ("2026-05-01", 0, 4.0, True), ("2026-05-01", 1, 3.0, True),
])
FIVE = pd.concat([aligned([
    ("2026-01-01", 0, 8.0, False), ("2026-01-01", 1, 7.0, False), ("2026-01-01", 4, 6.0, False),
    ("2026-02-01", 0, 6.0, False), ("2026-02-01", 1, 5.0, False),
]), THREE], ignore_index=True)


def test_latest_and_previous_are_lines_named_by_their_visit():
    fig = visit_overlay(THREE)
    # One older interval is still a line of its own; the latest is added last, drawn on top.
    assert [t.name for t in fig.data] == ["visit 01 Mar 2026", "visit 01 Apr 2026", "visit 01 May 2026 (latest)"]
    assert [values(t.y) for t in fig.data] == [[7.0, 6.0, 6.5], [5.0, 4.5], [4.0, 3.0]]
    assert [list(t.x) for t in fig.data] == [[0, 1, 2], [0, 1], [0, 1]]
    older, previous, latest = fig.data
    assert (latest.line.color, previous.line.color) == (palette.BLUE, palette.ORANGE)
    assert latest.line.width > previous.line.width > older.line.width
    assert list(latest.customdata) == ["01 May 2026", "02 May 2026"]  # the hover gives the date


def test_older_intervals_are_summarised_not_drawn_one_by_one():
    fig = visit_overlay(FIVE)
    assert [t.name for t in fig.data] == [
        "3 earlier intervals: mean ± SD (low)", "3 earlier intervals: mean ± SD (high)",
        "3 earlier intervals: mean ± SD",
        "visit 01 Apr 2026", "visit 01 May 2026 (latest)"]
    low, high, mean = fig.data[:3]
    assert list(mean.x) == [0, 1, 2, 4]  # day 3 is one missing day: bridged, as on the timeline
    assert values(mean.y) == [7.0, 6.0, 6.5, 6.0]
    assert values(low.y) == [6.0, 5.0, 6.5, 6.0]  # SD of 8, 6, 7 is 1; a single interval has no spread
    assert values(high.y) == [8.0, 7.0, 6.5, 6.0]
    assert high.fill == "tonexty" and low.showlegend is False and high.showlegend is False
    assert mean.line.color == palette.GREY
    assert list(mean.customdata) == [3, 3, 1, 1]


def test_older_summary_per_day_since_visit():
    older = aligned([("2026-01-01", 0, 8.0, False), ("2026-02-01", 0, 6.0, False), ("2026-02-01", 3, 5.0, False)])
    assert_frame_equal(older_summary(older), pd.DataFrame({
        "days_since_visit": [0, 3], "mean": [7.0, 5.0], "sd": [np.sqrt(2.0), 0.0], "n": [2, 1]}))


@pytest.mark.parametrize(("days", "x", "y"), [
    ([0, 1, 2], [0, 1, 2], [5.0, 4.0, 3.0]),
    ([0, 2, 3], [0, 2, 3], [5.0, 4.0, 3.0]),  # one missing day is bridged
    ([0, 3, 4], [0, 1, 3, 4], [5.0, None, 4.0, 3.0]),  # two are a gap
])
def test_lines_break_at_diary_gaps(days, x, y):
    frame = aligned([("2026-05-01", d, p, True) for d, p in zip(days, [5.0, 4.0, 3.0])])
    (line,) = visit_overlay(frame).data
    assert (list(line.x), values(line.y)) == (x, y)


@pytest.mark.parametrize("rows", [[], [("2026-05-01", 0, 4.0, True)]])
def test_no_earlier_interval(rows):
    fig = visit_overlay(aligned(rows))
    assert [t.name for t in fig.data] == [f"visit {pd.Timestamp(r[0]):%d %b %Y} (latest)" for r in rows]
    assert fig.layout.xaxis.title.text == "days since visit"


def test_pain_is_rounded_for_the_browser():
    (line,) = visit_overlay(aligned([("2026-05-01", 0, 4.333333, True)])).data
    assert values(line.y) == [4.33]
