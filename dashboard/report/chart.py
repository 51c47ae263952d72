"""The review's timeline as a static image, drawn by plotly's own export (kaleido driving Chromium).

Kaleido 1.x no longer ships a browser: it drives an installed Chrome or Chromium through
choreographer. We hand it Debian's Chromium (``config.chromium_path``) and switch MathJax off,
which kaleido otherwise loads from a CDN that a clinic's server may not reach. The browser is
started on the first report and kept open for the next ones (``report.renderer``).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from dashboard.config import chromium_path

WIDTH_PX = 900  # the figure as laid out on the review page at 1366 px (~986 px)
SCALE = 2  # printed at ~250 dpi across the page width
# Where the chart is printed: A4 less the report's margins, footer and the chart's heading, in mm
# (report.pdf: 210 - 2 × 12 wide; 297 - 12 top - 14 footer - 8 heading high).
BOX_MM = (186.0, 263.0)
MIN_PT = 8.0  # the smallest text on the printed chart (a common floor for legible print)
PT_MM = 25.4 / 72


def mm_per_px(height_px: float) -> float:
    """The scale the chart is printed at: as large as fits ``BOX_MM`` (``report.pdf`` places it so)."""
    return min(BOX_MM[0] / WIDTH_PX, BOX_MM[1] / height_px)


def print_font_px(height_px: float) -> float:
    """The smallest text, in figure px, that prints at ``MIN_PT`` at that scale (rounded up to 0.5 px)."""
    return math.ceil(MIN_PT * PT_MM / mm_per_px(height_px) * 2) / 2


class ChartUnavailable(RuntimeError):
    """The static chart could not be drawn (no Chromium, or kaleido failed); the message says why."""


def timeline_png(fig: go.Figure) -> bytes:
    """The figure as a PNG at its own height, WIDTH_PX wide, through kaleido and Chromium."""
    from dashboard.report.renderer import RENDERER, RendererFailed  # start-up: kaleido ~0.25 s, only when drawn

    path = chromium_path()
    if path is None:
        raise ChartUnavailable("no Chromium found (set CHROMIUM_PATH, or install Debian's chromium)")
    height = int(fig.layout.height or 900)
    # The page's figure, printed: no hover, no selection band, white paper.
    fig = go.Figure(fig).update_layout(hovermode=False)
    try:
        return RENDERER.png(fig, {"format": "png", "width": WIDTH_PX, "height": height, "scale": SCALE}, path=path)
    except RendererFailed as exc:  # any failure of the browser is said on the report, not raised
        said = " ".join(str(exc).split())
        said = said if len(said) <= 160 else said[:160] + "…"  # choreographer's messages run to paragraphs
        raise ChartUnavailable(f"kaleido could not drive {path}: {said}") from exc
