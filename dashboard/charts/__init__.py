"""Plotly figure builders: DataFrames and plain values in, ``go.Figure`` out.

No database, no Streamlit and no analysis here: the page computes the frames
(``dashboard.analysis``) and hands them over, so every figure can be tested as data.
"""

from dashboard.charts.overlay import visit_overlay
from dashboard.charts.side_effects import side_effects_by_step
from dashboard.charts.timeline import timeline

__all__ = ["side_effects_by_step", "timeline", "visit_overlay"]
