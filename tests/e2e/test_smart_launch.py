"""The EHR launch in Chromium (issue 26): from the test EHR's chart (tests/smart_ehr.py), its
"open app" link, the dashboard's own login, the trip to the EHR and back with S256 PKCE, to the
review of exactly the EHR's patient with the banner naming the EHR; and an untrusted EHR refused
in words on the page."""

from __future__ import annotations

from urllib.parse import urlencode

import pytest

from tests.app.conftest import PASSWORDS, copy_demo
from tests.app.test_smart_launch import ketamine, pain, patient
from tests.e2e.conftest import _free_port, running_server
from tests.smart_ehr import CLIENT_ID, SmartEhr

pytestmark = pytest.mark.e2e


def test_open_app_from_the_ehr_chart_opens_that_patient_after_the_login(demo_url, tmp_path, page):
    url = copy_demo(demo_url, tmp_path / "clinic.sqlite")
    port = _free_port()
    launch = f"http://127.0.0.1:{port}/launch"
    with SmartEhr(redirect_uri=launch) as ehr:
        ehr.set_app_launch(launch)
        ehr.add_patient(patient(), *(pain(f"o{d}", d, 7 - d / 3) for d in range(1, 6)), ketamine())
        ehr.add_patient(patient("ehr-99", "MRN-9000", ("Other", "Person"), "1960-01-01"), pain("x1", 1, 3, "ehr-99"))
        env = {"DASHBOARD_SMART_ISS": ehr.iss, "DASHBOARD_SMART_CLIENT_ID": CLIENT_ID,
               "DASHBOARD_SMART_REDIRECT_URI": launch}
        with running_server(url, demo=False, port=port, env=env) as base:
            page.goto(ehr.chart_url("ehr-77"))
            page.locator("#open-app").click()
            page.get_by_text("Log in to go on").wait_for(timeout=60_000)
            page.get_by_label("User name").fill("dr.rivera")
            page.get_by_label("Password", exact=True).fill(PASSWORDS["dr.rivera"])
            page.get_by_role("button", name="Log in").click()
            page.get_by_text(f"Opened from the EHR at {ehr.iss}").wait_for(timeout=90_000)
            assert page.url.startswith(f"{base}/review?") and "patient=MRN-4471" in page.url
            page.get_by_text("MRN-4471").first.wait_for(timeout=30_000)
            body = page.locator("body").inner_text()
            assert "code=" not in page.url and "access_token" not in body
            assert ehr.pkce_verified == 1
            assert ehr.fhir_requests and all("ehr-99" not in path for path in ehr.fhir_requests)
            token = next(iter(ehr.tokens))
            assert token not in body and token not in page.content()

            # A link from an EHR the clinic does not trust: refused in words, nothing asked of it.
            page.goto(f"{base}/launch?" + urlencode({"iss": "https://untrusted.example/fhir", "launch": "x"}))
            page.get_by_text("not one this dashboard trusts").wait_for(timeout=60_000)
