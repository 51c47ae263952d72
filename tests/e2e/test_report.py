"""The pre-visit report downloaded from the review page in a real browser, and the note beside it."""

from io import BytesIO

import pytest
from pypdf import PdfReader

from dashboard.demo import DEMO_ACCOUNTS, STORIES
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}
STORY = next(story for story in STORIES if story.ref == "DEMO-001")


def test_the_report_downloads_from_the_review_page(server, page):
    viewer = STORY.shared_with[0]
    login(page, f"{server}/review?patient={STORY.ref}", viewer, PASSWORDS[viewer])
    page.get_by_text("DID THE LAST STEP WORK?").wait_for(timeout=60_000)
    button = page.get_by_role("button", name="Download the pre-visit report (PDF)")
    button.scroll_into_view_if_needed(timeout=60_000)
    page.get_by_text("Ketamine titration review:").first.wait_for(timeout=30_000)  # the note, beside it
    page.screenshot(path=str(ARTIFACTS / "review-for-the-record.png"))
    with page.expect_download(timeout=180_000) as info:  # kaleido starts Chromium to draw the chart
        button.click()
    download = info.value
    assert download.suggested_filename.startswith(f"pre-visit-report-{STORY.ref}-")
    target = ARTIFACTS / download.suggested_filename
    download.save_as(target)
    pdf = target.read_bytes()
    assert pdf.startswith(b"%PDF-")
    reader = PdfReader(BytesIO(pdf))
    text = " ".join(" ".join(p.extract_text() for p in reader.pages).split())
    assert 1 <= len(reader.pages) <= 3  # up to two pages of text, then the timeline (issue 19: legible in print)
    assert f"{STORY.name} · {STORY.ref}" in text
