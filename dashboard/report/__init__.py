"""The pre-visit report: the review of one patient as a PDF of one or two pages of text and the timeline.

``report_pdf`` lays out a ``Review`` already built (the page's, from its cache, or
``stored.review.report_data``'s for the command line). The timeline is plotly's static export of
the page's own figure.
"""

from __future__ import annotations

from datetime import datetime

import pandas as pd

from dashboard.analysis.review import Review
from dashboard.charts.timeline import review_timeline


def report_pdf(review: Review, *, visits: pd.DataFrame, imports: pd.DataFrame,
               generated_at: datetime | None = None) -> bytes:
    """The PDF of ``review``; ``visits`` (date, kind) for the timeline, ``imports`` for the sources."""
    # start-up: fpdf2 and plotly's static export ~2 s (python -X importtime), only when a report is drawn,
    # not by every command and page that imports the stored review.
    from dashboard.report.chart import ChartUnavailable, timeline_png  # start-up: see above
    from dashboard.report.pdf import ReportInputs, render  # start-up: see above

    png, problem = None, None
    if not review.daily.empty:
        try:
            png = timeline_png(print_figure(review, visits))
        except ChartUnavailable as exc:
            problem = f"The timeline could not be drawn for this report ({exc}); it is on the review page."
    else:
        problem = "No timeline: no diary entries up to this date."
    return render(ReportInputs(review=review, visits=visits, imports=imports, chart_png=png, chart_problem=problem,
                               generated_at=generated_at or datetime.now()))


def print_figure(review: Review, visits: pd.DataFrame):
    """The page's timeline with its text raised to print at 8 pt or more (``report.chart``)."""
    from dashboard.report.chart import WIDTH_PX, print_font_px  # start-up: plotly export ~2 s, as in report_pdf

    height = review_timeline(review, visits).layout.height  # the same whatever the text size
    return review_timeline(review, visits, min_font_px=print_font_px(height), figure_px=WIDTH_PX)
