"""The review's timeline as a static image, drawn by plotly's own export (kaleido driving Chromium).

Kaleido 1.x no longer ships a browser: it drives an installed Chrome or Chromium through
choreographer. We hand it Debian's Chromium (``config.chromium_path``) and switch MathJax off,
which kaleido otherwise loads from a CDN that a clinic's server may not reach.
"""

from __future__ import annotations

import plotly.graph_objects as go

from dashboard.config import chromium_path

WIDTH_PX = 1100  # the figure is laid out for a ~1366 px screen; a little narrower keeps the text large on A4
SCALE = 2  # printed at ~300 dpi across the page width


class ChartUnavailable(RuntimeError):
    """The static chart could not be drawn (no Chromium, or kaleido failed); the message says why."""


def timeline_png(fig: go.Figure) -> bytes:
    """The figure as a PNG at its own height, WIDTH_PX wide, through kaleido and Chromium."""
    import kaleido

    path = chromium_path()
    if path is None:
        raise ChartUnavailable("no Chromium found (set CHROMIUM_PATH, or install Debian's chromium)")
    height = int(fig.layout.height or 900)
    # The page's figure, printed: no hover, no selection band, white paper.
    fig = go.Figure(fig).update_layout(hovermode=False)
    try:
        return kaleido.calc_fig_sync(fig, opts={"format": "png", "width": WIDTH_PX, "height": height, "scale": SCALE},
                                     kopts={"path": path, "mathjax": False})
    except Exception as exc:  # noqa: BLE001 - any failure of the browser is said on the report, not raised
        raise ChartUnavailable(f"kaleido could not drive {path}: {exc.__class__.__name__}: {exc}") from exc
