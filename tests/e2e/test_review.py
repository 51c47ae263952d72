"""The review page in a real browser: a demo patient's charts draw, and a screenshot is kept."""

import pytest

from dashboard.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import ARTIFACTS, login, start_server

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}


@pytest.fixture(scope="module")
def server(demo_url):
    proc, base = start_server(demo_url)
    yield base
    proc.terminate()
    proc.wait(timeout=20)


@pytest.mark.parametrize("ref", ["DEMO-001", "DEMO-004"])
def test_demo_patient_review_draws_its_charts(server, page, ref):
    # A colleague's link: the login comes first, then the patient it names.
    login(page, f"{server}/review?patient={ref}", "dr.rivera", PASSWORDS["dr.rivera"])
    try:
        page.get_by_role("heading", name="Since the last visit").wait_for(timeout=60_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / f"review-{ref}-opened.png"))
    # Plotly draws each chart as an SVG with a "main-svg" class once it has rendered.
    page.locator(".js-plotly-plot .main-svg").first.wait_for(timeout=60_000)
    page.wait_for_function("document.querySelectorAll('.js-plotly-plot').length >= 3", timeout=60_000)
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() > 5
    assert page.get_by_text("Flags for review").is_visible()
    page.screenshot(path=str(ARTIFACTS / f"review-{ref}.png"))
    # Streamlit scrolls inside its own container: a tall window shows the whole page at once.
    page.set_viewport_size({"width": 1366, "height": 4000})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / f"review-{ref}-whole-page.png"))
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / f"review-{ref}-timeline.png"))
