"""Side effects by titration step tested as data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dashboard.charts import palette
from dashboard.charts.side_effects import side_effects_by_step

COLUMNS = ["step_label", "effect", "share_of_days", "max_severity"]


def table(rows: list[tuple]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=COLUMNS)


def values(seq) -> list:
    return [None if v is None or np.isnan(v) else v for v in list(seq)]


TWO_STEPS = table([
    ("start 25 mg", "nausea", 0.2, 1),
    ("start 25 mg", "dissociation", 0.1, 1),
    ("25 → 50 mg", "dissociation", 0.5, 3),
])


def test_one_trace_per_effect_with_steps_in_table_order():
    fig = side_effects_by_step(TWO_STEPS)
    assert [t.name for t in fig.data] == ["dissociation", "nausea"]
    assert all(list(t.x) == ["start 25 mg", "25 → 50 mg"] for t in fig.data)
    assert [values(t.y) for t in fig.data] == [[0.1, 0.5], [0.2, None]]
    assert fig.layout.barmode == "group"
    assert fig.layout.yaxis.tickformat == ".0%"


@pytest.mark.parametrize(("severities", "hatched", "words"), [
    ([1, 2], ["", ""], ["mild", "moderate"]),
    ([3, 0], ["/", ""], ["severe", "none"]),
    ([3, 3], ["/", "/"], ["severe", "severe"]),
])
def test_steps_where_an_effect_was_ever_severe_are_hatched(severities, hatched, words):
    rows = [(label, "bladder", 0.25, sev) for label, sev in zip(["start 25 mg", "25 → 50 mg"], severities)]
    fig = side_effects_by_step(table(rows))
    (bars,) = fig.data
    assert list(bars.marker.pattern.shape) == hatched
    assert list(bars.customdata) == words
    assert any("hatched" in a.text for a in fig.layout.annotations) == (3 in severities)


def test_effects_take_okabe_ito_colours_in_order():
    rows = [("start 25 mg", f"effect {i}", 0.1, 1) for i in range(3)]
    assert [t.marker.color for t in side_effects_by_step(table(rows)).data] == list(palette.OKABE_ITO[:3])


def test_labels_from_data_are_escaped():
    (bars,) = side_effects_by_step(table([("<b>step</b>", "<img src=x>", 0.3, 1)])).data
    assert (bars.name, list(bars.x)) == ("&lt;img src=x&gt;", ["&lt;b&gt;step&lt;/b&gt;"])


def test_a_label_shared_by_two_steps_is_refused_with_the_label():
    with pytest.raises(ValueError, match="'50 mg' has effect 'nausea' more than once"):
        side_effects_by_step(table([("50 mg", "nausea", 0.1, 1), ("50 mg", "nausea", 0.3, 2)]))


def test_effects_are_named_as_a_clinician_writes_them():
    """The legend says 'brain fog', never the key 'brain_fog' (issue 19), in both side-effect charts."""
    from dashboard.charts.side_effects import severity_heatmap

    fig = side_effects_by_step(table([("start 25 mg", "brain_fog", 0.3, 1), ("start 25 mg", "nausea", 0.1, 2)]))
    assert [t.name for t in fig.data] == ["brain fog", "nausea"]
    days = pd.DataFrame({"diary_date": pd.to_datetime(["2026-01-01", "2026-01-02"]),
                         "effect": ["brain_fog", "nausea"], "severity": [2, 3]})
    assert list(severity_heatmap(days, days["diary_date"])["y"]) == ["brain fog", "nausea"]
