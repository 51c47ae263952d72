"""The patient's upload page in Chromium at phone size (390x844), served by the real server beside
Streamlit: a patient without an account sends a native diary CSV, a FHIR file, a Bearable export, a
Privacy Friendly Pain Diary export and a bad file; nothing overflows sideways. A stolen link tried
against every other address of the app reads nothing."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from dashboard.actors import Operator
from dashboard.db import share_links as stored_links
from dashboard.db.models import ImportRecord
from dashboard.db.session import session_scope
from dashboard.usecases import run, share_links
from tests.e2e.conftest import ARTIFACTS
from tests.share import samples

pytestmark = pytest.mark.e2e

PHONE = {"width": 390, "height": 844}
WIDE = "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"


def _link(url: str, ref: str = "DEMO-001") -> str:
    return run(share_links.create_share_link, Operator("cli:test"), ref, url=url).address


def _names(url: str) -> list[str]:
    from sqlalchemy import select

    from dashboard.db.models import Patient

    with session_scope(url) as session:
        return [w for p in session.scalars(select(Patient)) for w in (p.ref, *(p.name or "").split())]


def test_a_patient_sends_each_format_from_a_phone(browser, own_server):
    base, url = own_server
    address = _link(url)
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        page.goto(base + address)
        page.get_by_role("heading", name="Send your diary to your clinic").wait_for(timeout=30_000)
        assert page.evaluate(WIDE) <= 0
        page.locator("input[type=file]").set_input_files([
            {"name": "diary.csv", "mimeType": "text/csv", "buffer": samples.native_csv()},
            {"name": "fhir.json", "mimeType": "application/json", "buffer": samples.fhir_bundle()},
            {"name": "bearable.csv", "mimeType": "text/csv", "buffer": samples.bearable()},
            {"name": "pain-diary.csv", "mimeType": "text/csv", "buffer": samples.pain_diary()},
            {"name": "no-dates.csv", "mimeType": "text/csv", "buffer": samples.no_dates()},
        ])
        page.get_by_role("button", name="Send files").click()
        page.get_by_role("heading", name="Thank you: your clinic has your files").wait_for(timeout=60_000)
        shown = page.inner_text("body")
        for said in ("diary.csv: 10 days of diary received.", "fhir.json: 7 days of diary received.",
                     "bearable.csv: 5 days of diary received.", "pain-diary.csv: 6 days of diary received.",
                     "no-dates.csv has no dates: export it again with dates."):
            assert said in shown
        assert not any(word in shown for word in _names(url))
        assert page.evaluate(WIDE) <= 0  # nothing wider than the phone
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "share-page-phone.png"), full_page=True)
        widest = page.evaluate("() => Math.max(...Array.from(document.querySelectorAll('body *'))"
                               ".map(e => e.getBoundingClientRect().right))")
        assert widest <= PHONE["width"]
    finally:
        context.close()
    with session_scope(url) as session:
        from sqlalchemy import select

        link_id = stored_links.by_token(session, address.rsplit("/", 1)[-1]).id
        kept = session.scalars(select(ImportRecord.file_name).where(ImportRecord.share_link_id == link_id)).all()
    assert sorted(kept) == ["bearable.csv", "diary.csv", "fhir.json", "pain-diary.csv"]


def _fetch(url: str, *, method: str = "GET", data: bytes | None = None, headers: dict | None = None):
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode("utf-8", "replace"), dict(response.headers)
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode("utf-8", "replace"), dict(exc.headers)


def test_a_stolen_link_reads_nothing_anywhere_else(browser, own_server):
    base, url = own_server
    address = _link(url)
    token = address.rsplit("/", 1)[-1]
    other = _link(url, "DEMO-009")
    names = _names(url)
    tried = {
        "/": "GET", f"/?patient=DEMO-001&token={token}": "GET", f"/review?patient=DEMO-001&share={token}": "GET",
        f"/share/{token}?patient=DEMO-001": "GET", f"/share/{token}/review": "GET", f"/share/{token}x": "GET",
        f"/share/{token[:-1]}": "GET", "/share/": "GET", f"{other}x": "GET", "/_stcore/health": "GET",
        "/_stcore/host-config": "GET",
    }
    for path, method in tried.items():
        status, text, _ = _fetch(base + path, method=method)
        assert not any(word in text for word in names if len(word) > 3), path
        assert "days of diary" not in text
    # The login route takes a one-minute hand-over code: the token is none.
    status, _, headers = _fetch(base + "/api/session", method="POST", data=token.encode(),
                                headers={"Origin": base, "Sec-Fetch-Site": "same-origin"})
    assert status == 403 and "set-cookie" not in {k.lower() for k in headers}
    # The Streamlit pages with the token anywhere in the address ask for a login, and show no patient.
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    try:
        for path in (f"/review?patient=DEMO-001&token={token}", f"/worklist?share={token}", f"/import?t={token}"):
            page.goto(base + path)
            page.get_by_label("User name").wait_for(timeout=30_000)
            assert not any(word in page.inner_text("body") for word in names if len(word) > 3)
        # The link's own page shows the form, and nothing more, whatever else the address asks.
        page.goto(f"{base}/share/{token}?patient=DEMO-001")
        shown = page.inner_text("body")
        assert "Send your diary" in shown and not any(word in shown for word in names)
    finally:
        context.close()
    with session_scope(url) as session:
        from sqlalchemy import func, select

        ours = [stored_links.by_token(session, t.rsplit("/", 1)[-1]).id for t in (address, other)]
        assert session.scalar(select(func.count(ImportRecord.id)).where(ImportRecord.share_link_id.in_(ours))) == 0
    assert json.dumps(names)  # the clinic's patients were there to be found
