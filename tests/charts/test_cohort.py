"""Cohort figures tested as data: bar heights are the shares, every label carries n, a small
group has a label and no bar, hidden cells say "n < 5", group text is escaped."""

from __future__ import annotations

import pandas as pd

from dashboard.analysis.cohort import CATEGORY_LABELS, flag_rates, responders_by, side_effect_rates
from dashboard.analysis.flag_rules import RULES
from dashboard.charts.cohort import flag_rate_bars, responder_bars, side_effect_heatmap


def _patients(groups: dict[str, list[str]]) -> pd.DataFrame:
    return pd.DataFrame([{"ref": None, "condition": name, "band": "50–<100 mg/day", "responder": r, "early": False,
                          "latest_daily_dose_mg": 75.0, "days_to_lowest_effective_dose": None, "observed_days": 30}
                         for name, categories in groups.items() for r in categories])


def test_responder_bars_are_the_shares_and_small_groups_draw_nothing():
    table = responders_by(_patients({"<b>CRPS</b>": ["moderate"] * 3 + ["none"] * 2,
                                     "Fibromyalgia": ["substantial"] * 4}), "condition")
    fig = responder_bars(table, "By condition")
    assert list(fig.data[0].y) == ["&lt;b&gt;CRPS&lt;/b&gt; (n=5)", "Fibromyalgia (n=4) · n < 5: too few to read"]
    by_name = {t.name: t for t in fig.data}
    moderate = by_name[CATEGORY_LABELS["moderate"]]
    assert moderate.x[0] == 0.6 and pd.isna(moderate.x[1]) and list(moderate.text) == ["3", ""]
    assert pd.isna(by_name[CATEGORY_LABELS["substantial"]].x[1])  # four substantial: hidden, not drawn


def test_side_effect_heatmap_writes_share_and_n_or_too_small():
    effects = pd.DataFrame({"band": ["<50 mg/day"] * 5 + ["50–<100 mg/day"] * 2, "effect": ["brain_fog"] * 7,
                            "diary_days": [10] * 7, "days_reported": [1, 1, 1, 1, 1, 5, 5], "severe_days": [0] * 7,
                            "patient": [0, 1, 2, 3, 4, 0, 1]})
    fig = side_effect_heatmap(side_effect_rates(effects))
    heat = fig.data[0]
    assert list(heat.x) == ["&lt;50 mg/day", "50–&lt;100 mg/day"]  # escaped: plotly shows "<"
    assert list(heat.y) == ["brain fog"]
    assert heat.z[0][0] == 0.1 and heat.z[0][1] is None
    assert heat.text[0][0] == "10%<br>n=5" and heat.text[0][1] == "n=2<br>n < 5"


def test_flag_rate_bars_name_rules_by_their_human_names_with_counts():
    flags = pd.DataFrame({"rule": ["bladder"], "runs": [2], "patient": [1]})
    fig = flag_rate_bars(flag_rates(flags, pd.Series([365.25 / 12] * 5)))
    bar = fig.data[0]
    # Safety told apart by a mark and a hatch as well as by colour (issue 19).
    assert list(bar.y) == [f"{'▲' if rule.safety else '◆'} {rule.name}" for rule in RULES.values()]
    assert list(bar.marker.pattern.shape) == ["/" if rule.safety else "" for rule in RULES.values()]
    assert bar.x[1] == 40.0 and bar.text[1] == "40.0 (2 flags, 1 patient)"
    assert "n=5 patients, 5 patient-months" in fig.layout.title.text
    small = flag_rate_bars(flag_rates(flags, pd.Series([30.0] * 4)))
    assert len(small.data[0].y) == 0 and "n < 5" in small.layout.title.text
