"""The review page in a real browser: every demo patient's first screen answers the visit's
questions at 1366x768 without scrolling, and its charts draw. Screenshots are kept under
tests/e2e/artifacts/ (a 1366x768 first screen and a full page per patient)."""

import pytest

from dashboard.demo import DEMO_ACCOUNTS, STORIES
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}
VIEWER = {story.ref: story.shared_with[0] for story in STORIES}


def _inside_first_screen(page, text: str) -> bool:
    box = page.get_by_text(text, exact=False).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= 768


@pytest.mark.parametrize("ref", sorted(VIEWER))
def test_demo_patient_first_screen_and_charts(server, page, ref):
    # A colleague's link: the login comes first, then the patient it names.
    login(page, f"{server}/review?patient={ref}", VIEWER[ref], PASSWORDS[VIEWER[ref]])
    try:
        page.get_by_text("DID THE LAST STEP WORK?").wait_for(timeout=60_000)
        # Plotly draws each chart into an SVG once it has rendered.
        page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length >= 3",
                               timeout=60_000)
        page.wait_for_timeout(500)
    finally:
        page.screenshot(path=str(ARTIFACTS / f"review-{ref}-first-screen.png"))
    # The three answers and the open flags are on the first screen, before any scrolling.
    for text in ("CURRENT STEP", "DID THE LAST STEP WORK?", "SAFETY SINCE", "OPEN FLAGS", "Blood pressure:"):
        assert _inside_first_screen(page, text), text
    # The top of the timeline too.
    timeline = page.locator(".js-plotly-plot").first.bounding_box()
    assert timeline is not None and timeline["y"] < 768
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() > 5
    # Streamlit scrolls inside its own container: a tall window shows the whole page at once.
    page.set_viewport_size({"width": 1366, "height": 4200})
    page.wait_for_timeout(1500)
    page.screenshot(path=str(ARTIFACTS / f"review-{ref}-whole-page.png"))
    page.locator(".js-plotly-plot").first.screenshot(path=str(ARTIFACTS / f"review-{ref}-timeline.png"))
    assert page.get_by_role("heading", name="Flags for review").is_visible()


def test_a_typed_as_of_date_applies_on_enter_with_a_banner(server, page):
    """Typing a date into "Review as of" and pressing Enter shows the patient on that date, and a
    banner says the page is not today's (issue 19: the typed date applied only when the field lost focus)."""
    from datetime import date, timedelta

    login(page, f"{server}/review?patient=DEMO-004", VIEWER["DEMO-004"], PASSWORDS[VIEWER["DEMO-004"]])
    page.get_by_text("DID THE LAST STEP WORK?").wait_for(timeout=60_000)
    earlier = date.today() - timedelta(days=40)
    for part, value in (("year", earlier.year), ("month", earlier.month), ("day", earlier.day)):
        segment = page.get_by_role("spinbutton", name=f"{part}, Review as of")
        segment.click()
        segment.type(f"{value:02d}")
    page.get_by_role("spinbutton", name="day, Review as of").press("Enter")
    try:
        page.get_by_text(f"Review as of {earlier:%d %b %Y}, not today").wait_for(timeout=30_000)
        page.get_by_text(f"as of {earlier:%d %b %Y}.").first.wait_for(timeout=30_000)  # the note's first line
    finally:
        page.screenshot(path=str(ARTIFACTS / "review-DEMO-004-past-as-of.png"))
    page.get_by_role("button", name="Back to today").click()
    page.get_by_text("not today").wait_for(state="detached", timeout=30_000)
