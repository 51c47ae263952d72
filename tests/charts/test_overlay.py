"""The visit-aligned overlay tested as data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import palette
from dashboard.charts.overlay import visit_overlay


def aligned(rows: list[tuple[str, int, float, bool]]) -> pd.DataFrame:
    out = pd.DataFrame(rows, columns=["interval_start", "days_since_visit", "pain", "is_latest"])
    out["interval_start"] = pd.to_datetime(out["interval_start"])
    return out.astype({"days_since_visit": "int64", "pain": "float64", "is_latest": "bool"})


def values(seq) -> list:
    return [None if v is None or np.isnan(v) else v for v in list(seq)]


THREE = aligned([
    ("2026-04-01", 0, 5.0, False), ("2026-04-01", 1, 4.5, False),
    ("2026-03-01", 0, 7.0, False), ("2026-03-01", 1, 6.0, False), ("2026-03-01", 2, 6.5, False),
    ("2026-05-01", 0, 4.0, True), ("2026-05-01", 1, 3.0, True),
])


def test_one_line_per_interval_named_by_its_start_latest_last():
    fig = visit_overlay(THREE)
    assert [t.name for t in fig.data] == ["01 Mar 2026", "01 Apr 2026", "01 May 2026 (latest)"]
    assert [values(t.y) for t in fig.data] == [[7.0, 6.0, 6.5], [5.0, 4.5], [4.0, 3.0]]
    assert [list(t.x) for t in fig.data] == [[0, 1, 2], [0, 1], [0, 1]]


def test_latest_interval_is_highlighted():
    *earlier, latest = visit_overlay(THREE).data
    assert latest.line.color == palette.BLUE
    assert all(latest.line.width > t.line.width for t in earlier)
    greys = [t.line.color for t in earlier]
    assert len(set(greys)) == len(greys) and palette.BLUE not in greys
    # The more recent earlier interval is the darker grey.
    assert int(greys[0][1:3], 16) > int(greys[1][1:3], 16)


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
    assert [t.name for t in fig.data] == [f"{pd.Timestamp(r[0]):%d %b %Y} (latest)" for r in rows]
    assert fig.layout.xaxis.title.text == "days since visit"
