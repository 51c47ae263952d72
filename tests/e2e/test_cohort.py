"""The cohort page in a real browser at 1366x768: its charts draw with human labels and the
number of patients on every group, and it shows nothing of a colleague's patients.
Screenshots: tests/e2e/artifacts/cohort-*.png."""

import time

import pytest

from dashboard.demo import DEMO_ACCOUNTS, STORIES
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}


def test_cohort_page_in_the_browser(server, page):
    login(page, f"{server}/cohort", "dr.rivera", PASSWORDS["dr.rivera"])
    started = time.monotonic()
    try:
        page.get_by_text("Response at the latest troche step").wait_for(timeout=60_000)
        page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
        drawn = time.monotonic() - started
        page.wait_for_timeout(500)
    finally:
        page.screenshot(path=str(ARTIFACTS / "cohort-first-screen.png"))
    print(f"cohort page drawn {drawn:.1f} s after login (first open: every review computed)")
    body = page.inner_text("body")
    assert "50–<100 mg/day (n=" in body and "n < 5: too few to read" in body
    for story in STORIES:
        if "dr.rivera" not in story.shared_with:
            assert story.condition not in body and story.ref not in body and story.name not in body
    assert "None" not in body.split() and "nan" not in body.split()
    page.set_viewport_size({"width": 1366, "height": 3600})
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=30_000)
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / "cohort-whole-page.png"))
    # Opened again in the same session (reviews cached): how long the second visit takes.
    page.set_viewport_size({"width": 1366, "height": 768})
    page.get_by_role("link", name="Patients").click()
    page.get_by_text("patient(s) shared with you").wait_for(timeout=60_000)
    started = time.monotonic()
    page.get_by_role("link", name="Cohort").click()
    page.get_by_text("Response at the latest troche step").wait_for(timeout=60_000)
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    print(f"cohort page drawn {time.monotonic() - started:.1f} s when opened again")
