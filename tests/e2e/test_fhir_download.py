"""The FHIR download in a real browser: the button at the end of the review builds the bundle
when clicked, and the file is the patient as valid FHIR R4 (screenshot under tests/e2e/artifacts/)."""

import json

import pytest

from dashboard.demo import DEMO_ACCOUNTS, STORIES
from tests.e2e.conftest import ARTIFACTS, login
from tests.ingest.fhir_validator import r4_errors

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}


def test_a_clinician_downloads_the_patient_as_fhir(server, page, tmp_path):
    story = STORIES[0]
    viewer = story.shared_with[0]
    login(page, f"{server}/review?patient={story.ref}", viewer, PASSWORDS[viewer])
    button = page.get_by_role("button", name="Download for another system (FHIR R4, JSON)")
    button.wait_for(timeout=60_000)
    button.scroll_into_view_if_needed()
    page.wait_for_timeout(500)
    page.screenshot(path=str(ARTIFACTS / "review-fhir-download.png"))
    with page.expect_download(timeout=60_000) as download:
        button.click()
    target = tmp_path / "bundle.json"
    download.value.save_as(target)
    assert download.value.suggested_filename == f"{story.ref}-fhir-r4.json"
    bundle = json.loads(target.read_text(encoding="utf-8"))
    assert bundle["resourceType"] == "Bundle" and bundle["entry"][0]["resource"]["id"] == story.ref
    assert r4_errors(bundle) == []
