"""The pre-visit report: the review of one patient as a PDF of one or two pages of text and the timeline.

``report_pdf`` lays out a ``Review`` already built (the page's, from its cache);
``patient_report`` builds the Review from the database for the command line, with the same
access check as ``summary``. The timeline is plotly's static export of the page's own figure.
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd

from dashboard.analysis.review import Review


def report_pdf(review: Review, *, visits: pd.DataFrame, imports: pd.DataFrame,
               generated_at: datetime | None = None) -> bytes:
    """The PDF of ``review``; ``visits`` (date, kind) for the timeline, ``imports`` for the sources."""
    from dashboard.charts.timeline import review_timeline
    from dashboard.report.chart import ChartUnavailable, timeline_png
    from dashboard.report.pdf import ReportInputs, render

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
    from dashboard.charts.timeline import review_timeline
    from dashboard.report.chart import WIDTH_PX, print_font_px

    height = review_timeline(review, visits).layout.height  # the same whatever the text size
    return review_timeline(review, visits, min_font_px=print_font_px(height), figure_px=WIDTH_PX)


def patient_report(session, patient_ref: str, *, as_of: date | None = None, user=None) -> bytes:
    """The report of a stored patient; LookupError if unknown, PermissionError unless shared with ``user``."""
    review, visits, imports = report_data(session, patient_ref, as_of=as_of, user=user)
    return report_pdf(review, visits=visits, imports=imports)


def report_data(session, patient_ref: str, *, as_of: date | None = None,
                user=None) -> tuple[Review, pd.DataFrame, pd.DataFrame]:
    """What the report reads from the database (the Review, visits, imports), after the access check;
    the PDF can then be drawn after the transaction has closed."""
    from dashboard.analysis.summary import patient_review
    from dashboard.db import queries

    review = patient_review(session, patient_ref, as_of=as_of, user=user)
    patient = queries.patient_by_ref(session, patient_ref)
    return review, queries.visits_frame(session, patient.id), queries.imports_frame(session, patient_ref)
