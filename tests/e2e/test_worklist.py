"""The clinic's day in a real browser: log in, the worklist is the home page and says who needs
attention today and why on the first screen (1366x768), today's first patient opens, and the
worklist is one click back. Screenshots under tests/e2e/artifacts/."""

import pytest

from dashboard.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}


def _on_first_screen(page, text: str) -> bool:
    box = page.get_by_text(text, exact=False).first.bounding_box()
    return box is not None and box["y"] + box["height"] <= 768


def test_log_in_worklist_open_todays_first_patient_and_back(server, page):
    login(page, server, "dr.rivera", PASSWORDS["dr.rivera"])
    try:
        page.get_by_role("heading", name="Worklist").wait_for(timeout=60_000)
        page.get_by_text("with a new safety flag").wait_for(timeout=60_000)
        page.wait_for_timeout(1500)  # the grid draws on a canvas after the page's run
    finally:
        page.screenshot(path=str(ARTIFACTS / "worklist-first-screen.png"))
    for text in ("with a new safety flag", "Open review"):
        assert _on_first_screen(page, text), text
    # The grid draws on a canvas; its cells are also in an accessible table for screen readers.
    grid = page.locator("[data-testid='stDataFrame']")
    assert grid.bounding_box()["y"] < 768
    # The picker starts on the top of the list: today's first patient, the one needing attention.
    page.get_by_role("button", name="Open review").click()
    # DEMO-005: a new safety flag (liver tests) and a diary gone quiet put it above DEMO-001 (v3).
    page.get_by_text("Derek Walsh").first.wait_for(timeout=60_000)
    page.wait_for_url("**/review?patient=DEMO-005", timeout=30_000)
    page.get_by_text("DID THE LAST STEP WORK?").wait_for(timeout=60_000)
    page.screenshot(path=str(ARTIFACTS / "worklist-opened-review.png"))
    # Back to the worklist from the navigation (same session, still logged in).
    page.get_by_role("link", name="Worklist").click()
    page.get_by_role("heading", name="Worklist").wait_for(timeout=60_000)
    page.get_by_text("with a new safety flag").wait_for(timeout=60_000)
    assert page.get_by_text("Logged in as").is_visible()
