"""The import page in a real browser (import-formats.md v2): a conflict decided with a reason
before anything is written, and the list of past imports with their truthful outcomes."""

from __future__ import annotations

import pytest

from dashboard.auth.accounts import share
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import PASSWORDS, copy_demo
from tests.e2e.conftest import ARTIFACTS, login, running_server

pytestmark = pytest.mark.e2e

DIARY = b"patient_id,date,pain,notes\nV2-1,2026-03-01T21:00,6,calm\nV2-1,2026-03-02T21:00,5,\n"
CORRECTED = DIARY.replace(b",6,calm", b",8,calm") + b"V2-1,2026-03-03T21:00,4,\n"


@pytest.fixture(scope="module")
def server(demo_url, tmp_path_factory):
    url = copy_demo(demo_url, tmp_path_factory.mktemp("v2") / "clinic.sqlite")
    assert import_file(DIARY, "diary.csv", url=url, actor="sam.staff").status == "imported"
    with session_scope(url) as session:  # staff see a conflict's stored side only of a shared patient (issue 24)
        share(session, username="sam.staff", patient_ref="V2-1")
    assert import_file(b"\x00 not a diary", "scan.pdf", url=url, actor="sam.staff").status == "refused"
    get_engine(url).dispose()
    with running_server(url, demo=False) as base:
        yield base


def test_a_conflict_is_decided_with_a_reason_and_past_imports_say_their_outcome(server, page):
    login(page, server, "sam.staff", PASSWORDS["sam.staff"])
    page.locator("[data-testid='stSidebarNav'] a", has_text="Import").click()
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": "corrected.csv", "mimeType": "text/csv", "buffer": CORRECTED}])
    page.get_by_text("Resolve conflicts").wait_for(timeout=60_000)
    body = page.inner_text("body")
    assert "Conflict 1: V2-1, 2026-03-01 21:00: pain stored '6.0', file '8.0'" in body
    assert "Outcome: Refused." in body
    page.get_by_text("Take the file's values").first.click()
    page.get_by_label("Reason (required for any decision)").fill("patient corrected it by phone")
    page.get_by_label("Reason (required for any decision)").press("Enter")
    page.get_by_text("With your decisions").wait_for(timeout=60_000)
    page.get_by_text("Outcome: Would import.").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "import-resolve.png"), full_page=True)
    page.get_by_role("button", name="Import", exact=True).click()
    page.get_by_text("Imported as import #").wait_for(timeout=60_000)
    page.get_by_role("tab", name="Past imports").click()
    page.get_by_text("Download a kept file again").wait_for(timeout=30_000)
    page.screenshot(path=str(ARTIFACTS / "import-history.png"), full_page=False)
