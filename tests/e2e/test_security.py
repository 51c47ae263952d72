"""Patient text is data, never markup: in a real browser, a patient whose name, notes and file
name carry a script, an image with an onerror handler, a markdown link and a spreadsheet
formula runs nothing, loads nothing and links nowhere."""

from __future__ import annotations

import csv
import io
import json

import pytest

from dashboard.auth import accounts
from dashboard.db.session import get_engine, session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import PASSWORDS, copy_demo
from tests.e2e.conftest import ARTIFACTS, login, running_server

pytestmark = pytest.mark.e2e

SCRIPT = "<script>window.__pwned=1</script>"
IMAGE = '<img src=x onerror="window.__pwned=2">'
LINK = "[click](http://evil.example)"
FORMULA = '=HYPERLINK("http://evil.example")'
FILE_IMAGE = "<img src=x onerror=window.__pwned=3>.csv"  # unquoted: browsers percent-encode quotes in file names
REF = "EVIL-1"
NAME = f"{SCRIPT} {IMAGE} {LINK}"
# Text on the page, or the value a widget shows (a select box shows its choice in an input).
SHOWN = """t => document.body.innerText.includes(t)
    || Array.from(document.querySelectorAll('input')).some(i => i.value.includes(t))"""


def _diary() -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["patient_id", "date", "pain", "nausea", "notes", "other_medication"])
    for day, note in enumerate((SCRIPT, IMAGE, LINK, FORMULA), start=1):
        writer.writerow([REF, f"2026-03-0{day}T21:00", 5, "mild", note, LINK])
    return out.getvalue().encode()


def _clinic_records() -> list[tuple[bytes, str]]:
    steps = f'patient_id,start_date,dose_mg,frequency,route,note\n{REF},2026-03-01,25,daily,troche,"{LINK}"\n'
    visits = f'patient_id,date,kind,note\n{REF},2026-03-01,in person,"{LINK}"\n'
    return [(steps.encode(), "titration.csv"), (visits.encode(), "visits.csv")]


@pytest.fixture(scope="module")
def server(demo_url, tmp_path_factory):
    """The demo clinic plus one hostile patient, imported as a clinic would: the name from a FHIR
    Patient resource, the diary as a native diary CSV, a titration step and a visit whose notes
    are a markdown link; shared with dr.rivera."""
    url = copy_demo(demo_url, tmp_path_factory.mktemp("hostile") / "clinic.sqlite")
    patient = json.dumps({"resourceType": "Patient", "id": REF, "name": [{"text": NAME}]}).encode()
    for raw, name in ((patient, "patient.json"), (_diary(), "diary.csv"), *_clinic_records()):
        report = import_file(raw, name, url=url, actor="test")
        assert report.status == "imported", report.message
    with session_scope(url) as session:
        accounts.share(session, username="dr.rivera", patient_ref=REF)
    get_engine(url).dispose()
    with running_server(url, demo=False) as base:
        yield base


@pytest.fixture
def watched(page):
    """The page, and every URL it requests."""
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    return page, requested


def _nothing_ran_or_loaded(page, requested: list[str]) -> None:
    assert page.evaluate("window.__pwned") is None
    assert page.locator("img[src='x']").count() == 0
    assert page.locator("a[href*='evil.example']").count() == 0
    assert [u for u in requested if "evil.example" in u or u.rstrip("/").endswith("/x")] == []


def _pick_patient(page) -> None:
    """The picker on the patients page: a full page load would start a new, logged-out session,
    so the page is reached from the navigation (the worklist is the home page)."""
    page.get_by_role("link", name="Patients").click()
    page.get_by_text("patient(s) shared with you").wait_for(timeout=30_000)
    page.get_by_role("combobox").first.click()
    page.get_by_role("option", name=f"{REF} · {NAME}").click()
    # The picker shows the chosen patient's label, the hostile name included, as text.
    page.wait_for_function(SHOWN, arg=f"{REF} · {NAME}", timeout=30_000)


def test_a_hostile_name_and_notes_render_as_text_on_the_review(server, watched):
    page, requested = watched
    login(page, server, "dr.rivera", PASSWORDS["dr.rivera"])
    _pick_patient(page)
    page.screenshot(path=str(ARTIFACTS / "security-patients.png"), full_page=True)
    _nothing_ran_or_loaded(page, requested)
    page.get_by_role("button", name="Open review").click()
    try:
        page.get_by_text("In the patient's words").wait_for(timeout=60_000)
        page.wait_for_url(f"**/review?patient={REF}", timeout=30_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "security-review.png"), full_page=True)
    body = page.inner_text("body")
    assert NAME in body  # shown literally, as the patient's record has it
    _nothing_ran_or_loaded(page, requested)


def test_a_link_to_the_review_opens_it_after_login_and_runs_nothing(server, watched):
    page, requested = watched
    page.goto(f"{server}/review?patient={REF}")
    page.get_by_label("User name").fill("dr.rivera")
    page.get_by_label("Password", exact=True).fill(PASSWORDS["dr.rivera"])
    page.get_by_role("button", name="Log in").click()
    page.get_by_text("In the patient's words").wait_for(timeout=60_000)
    assert NAME in page.inner_text("body")
    _nothing_ran_or_loaded(page, requested)


def test_a_hostile_file_name_renders_as_text_on_the_import_page(server, watched):
    page, requested = watched
    login(page, server, "sam.staff", PASSWORDS["sam.staff"])
    page.locator("[data-testid='stSidebarNav'] a", has_text="Import").click()
    page.locator("input[type='file']").first.set_input_files(
        files=[{"name": FILE_IMAGE, "mimeType": "text/csv", "buffer": _diary()}])
    try:
        page.get_by_text("What this file would change").wait_for(timeout=60_000)
    finally:
        page.screenshot(path=str(ARTIFACTS / "security-import.png"), full_page=True)
    assert FILE_IMAGE in page.inner_text("body")
    _nothing_ran_or_loaded(page, requested)


def test_an_unattended_screen_logs_off_by_itself(tmp_path, page):
    """HIPAA 164.312(a)(2)(iii): the page clears after the idle limit without anyone clicking
    (the shortest limit a clinic can set, one minute, keeps this test short)."""
    from dashboard.db.session import migrate
    from dashboard.db.settings_store import save_thresholds

    url = f"sqlite:///{tmp_path / 'idle.sqlite'}"
    migrate(url)
    with session_scope(url) as session:
        accounts.add_user(session, username="dr.idle", display_name="Dr. Idle", role="clinician",
                          password="a long enough passphrase")
        save_thresholds(session, {"idle_logoff_minutes": 1}, updated_by="test")
    get_engine(url).dispose()
    with running_server(url, demo=False) as base:
        login(page, base, "dr.idle", "a long enough passphrase")
        page.get_by_text("You were logged out after a period of inactivity.").wait_for(timeout=150_000)
        # Streamlit keeps the previous run's sidebar on screen until the logged-off run has
        # finished drawing: the name must be gone then (a wait that fails if it stays).
        page.get_by_text("Logged in as").wait_for(state="detached", timeout=15_000)
        assert "Logged in as" not in page.inner_text("body")
