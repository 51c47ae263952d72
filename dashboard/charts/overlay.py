"""Visit-aligned overlay: pain by days since each visit, one line per visit interval.

Lining intervals up at their visit shows whether the latest change is doing better than
the earlier ones at the same distance from the visit, which calendar dates hide.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.charts import palette as c
from dashboard.charts.palette import with_gap_breaks

# Earlier intervals in greys, darker when more recent: context that recedes behind the latest.
OLDEST_GREY, RECENT_GREY = (0xD4, 0xD4, 0xD4), (0x80, 0x80, 0x80)
LATEST_WIDTH, EARLIER_WIDTH = 3.5, 1.2


def _grey(rank: int, count: int) -> str:
    share = rank / (count - 1) if count > 1 else 1.0
    channel = [round(o + (r - o) * share) for o, r in zip(OLDEST_GREY, RECENT_GREY)]
    return "#" + "".join(f"{v:02X}" for v in channel)


def interval_name(start, latest: bool) -> str:
    """The legend entry: the interval's first day, as a clinician would say it."""
    return f"{pd.Timestamp(start):%d %b %Y}" + (" (latest)" if latest else "")


def visit_overlay(aligned: pd.DataFrame) -> go.Figure:
    """One pain line per visit interval against days since its visit; the latest interval stands out.

    aligned: interval_start (datetime64), days_since_visit (int), pain (daily value),
    is_latest (bool, true on the rows of the interval since the last visit).
    Lines break where 2 or more days have no entry, as on the timeline.
    """
    fig = go.Figure()
    latest_start = aligned.loc[aligned["is_latest"].astype(bool), "interval_start"]
    earlier = sorted(set(aligned["interval_start"]) - set(latest_start))
    # The latest is added last so it is drawn on top of the others.
    for rank, start in enumerate([*earlier, *sorted(set(latest_start))]):
        latest = rank >= len(earlier)
        rows = with_gap_breaks(aligned.loc[aligned["interval_start"] == start, ["days_since_visit", "pain"]],
                               "days_since_visit", unit=1)
        fig.add_trace(go.Scatter(
            x=rows["days_since_visit"], y=rows["pain"], mode="lines", name=interval_name(start, latest),
            line={"color": c.BLUE if latest else _grey(rank, len(earlier)),
                  "width": LATEST_WIDTH if latest else EARLIER_WIDTH},
            hovertemplate="day %{x}: pain %{y:.1f}"))
    fig.update_layout(
        template="simple_white", height=420, margin={"l": 60, "r": 20, "t": 50, "b": 50}, hovermode="closest",
        title={"text": "Pain since each visit (daily, 0–10)", "font": {"size": 14}},
        legend={"title": {"text": "interval from"}, "traceorder": "reversed"})
    fig.update_xaxes(title_text="days since visit", rangemode="tozero")
    fig.update_yaxes(title_text="pain (0–10)", range=[0, 10.5])
    return fig
