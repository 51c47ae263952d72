"""The report's chart is drawn by one warm Chromium per process (issue 25): a second report starts
no browser, a browser that died is started again once, and the PDF still holds the chart."""

from __future__ import annotations

import os
import signal
from io import BytesIO

import pytest
from pypdf import PdfReader

from dashboard.config import chromium_path
from dashboard.db.session import session_scope
from dashboard.report import report_pdf
from dashboard.report.renderer import RENDERER
from dashboard.stored.review import report_data
from tests.conftest import require


@pytest.fixture(scope="module")
def inputs(demo_url):
    require(chromium_path() is not None, "Chromium not found (the report's chart is drawn by kaleido through it)")
    with session_scope(demo_url) as session:
        return report_data(session, "DEMO-001")


def chart_images(pdf: bytes) -> list:
    return [image for page in PdfReader(BytesIO(pdf)).pages for image in page.images]


def report(inputs) -> bytes:
    review, visits, imports = inputs
    return report_pdf(review, visits=visits, imports=imports)


def test_a_second_report_reuses_the_browser_of_the_first(inputs):
    first = report(inputs)
    pid, starts = RENDERER.browser_pid(), RENDERER.starts
    assert pid is not None
    second = report(inputs)
    assert (RENDERER.browser_pid(), RENDERER.starts) == (pid, starts)  # no new Chromium
    for pdf in (first, second):
        (image,) = chart_images(pdf)
        assert image.image.width >= 1800  # the timeline, drawn at scale 2


def test_a_browser_that_died_is_started_again_and_the_report_keeps_its_chart(inputs):
    report(inputs)
    pid, starts = RENDERER.browser_pid(), RENDERER.starts
    os.kill(pid, signal.SIGKILL)
    pdf = report(inputs)
    assert RENDERER.starts == starts + 1 and RENDERER.browser_pid() not in (None, pid)
    assert len(chart_images(pdf)) == 1
