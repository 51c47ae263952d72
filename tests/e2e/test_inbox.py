"""In a real browser (1366x768): a file a patient sent through a share link waits in the Inbox; one
click imports it, and its day appears on the review page's timeline. The file is made with the
storage functions (the patient's upload page is tested on its own); a screenshot of the inbox is
kept under tests/e2e/artifacts/."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.db import share_links
from dashboard.db.models import ImportRecord, Patient
from dashboard.db.session import session_scope
from dashboard.demo import DEMO_ACCOUNTS
from dashboard.ingest.pain_diary_app import HEADERS as PAIN_DIARY_HEADERS
from tests.app.conftest import audit_rows, last_audit_id
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}
REF = "DEMO-001"
TODAY = date.today()
# Early this morning, before the demo diary's first entry of a day: a day the stored diary does not have yet.
DIARY = f"date,pain,notes\n{TODAY.isoformat()}T06:05,1,sent from my phone\n".encode()
# The review's "daily pain" trace is a daily grid (x0, dx of one day) with its values as plotly's
# binary array (base64, float32 or float64); a day without pain is NaN. The days that have a value:
PAIN_DAYS = """() => Array.from(document.querySelectorAll('.js-plotly-plot'))
    .flatMap(gd => (gd.data || []).filter(t => t.name === 'daily pain').flatMap(t => {
        let ys = t.y;
        if (ys && ys.bdata) {
            const raw = atob(ys.bdata), bytes = new Uint8Array(raw.length);
            for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
            ys = Array.from(ys.dtype === 'f8' ? new Float64Array(bytes.buffer) : new Float32Array(bytes.buffer));
        }
        const days = t.x ? Array.from(t.x).map(x => String(x).slice(0, 10))
            : ys.map((_, i) => new Date(Date.parse(t.x0 + 'T00:00:00Z') + i * t.dx).toISOString().slice(0, 10));
        return days.filter((_, i) => ys[i] !== null && !Number.isNaN(ys[i]));
    }))"""


def _receive(url: str) -> int:
    with session_scope(url) as session:
        patient = session.scalar(select(Patient).where(Patient.ref == REF))
        now = datetime.now()
        link, _ = share_links.create(session, patient.id, created_by="dr.rivera", now=now,
                                     expires_at=now + timedelta(days=14), max_uses=None)
        return share_links.keep_received(session, link, REF, file_name="phone-diary.csv", raw=DIARY, now=now).id


def _pain_days(page) -> list[str]:
    """The days of the review's "daily pain" points, read from the plotly figure on the page."""
    page.get_by_text("DID THE LAST STEP WORK?").wait_for(timeout=60_000)
    page.wait_for_function("""() => Array.from(document.querySelectorAll('.js-plotly-plot'))
        .some(gd => (gd.data || []).some(t => t.name === 'daily pain'))""", timeout=60_000)
    page.wait_for_timeout(500)
    return page.evaluate(PAIN_DAYS)


def test_a_waiting_file_imported_with_one_click_lands_on_the_timeline(own_server, page):
    base, url = own_server
    record_id = _receive(url)
    login(page, f"{base}/review?patient={REF}", "dr.rivera", PASSWORDS["dr.rivera"])
    days = _pain_days(page)
    assert days and TODAY.isoformat() not in days  # not on the timeline before the import

    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("heading", name="Inbox").wait_for(timeout=60_000)
    page.get_by_label("File to decide").click()
    page.get_by_role("option", name=f"#{record_id} · {REF} · phone-diary.csv").click()
    page.get_by_text(f"stored {REF}:").wait_for(timeout=30_000)  # the chosen file's check, after the rerun
    page.screenshot(path=str(ARTIFACTS / "inbox.png"))
    page.get_by_role("button", name="Import").click()
    page.get_by_text(f"File #{record_id} imported for {REF}").wait_for(timeout=60_000)
    with session_scope(url) as session:
        assert session.get(ImportRecord, record_id).status == "accepted"

    page.get_by_role("button", name=f"Open the review of {REF}").click()
    page.wait_for_url(f"**/review?patient={REF}", timeout=60_000)
    assert TODAY.isoformat() in _pain_days(page)


def _pain_diary_export(day: date) -> bytes:
    """One day of a Privacy Friendly Pain Diary export, as the app writes it (tests/share/samples.py)."""
    header = PAIN_DIARY_HEADERS[0]
    row = (f"{day.month}/{day.day}/{day.year % 100}", "OKAY", "2", "[]", "[]", "[]", "[]", "")
    return "".join(",".join(f'"{c}"' for c in line) + "\n" for line in (header, row)).encode()


def _portal_fhir(day: date) -> bytes:
    """A patient portal's FHIR Bundle naming the patient as the clinic knows her, with one pain score."""
    return json.dumps({"resourceType": "Bundle", "type": "collection", "entry": [
        {"resource": {"resourceType": "Patient", "id": "me", "name": [{"family": "Alvarez", "given": ["Maria"]}]}},
        {"resource": {"resourceType": "Observation", "id": "p1", "status": "final",
                      "code": {"coding": [{"system": "http://loinc.org", "code": "72514-3"}]},
                      "subject": {"reference": "Patient/me"}, "effectiveDateTime": f"{day.isoformat()}T06:40:00",
                      "valueQuantity": {"value": 3, "system": "http://unitsofmeasure.org", "code": "{score}"}}},
    ]}).encode()


def test_a_link_made_on_the_review_a_phone_upload_and_one_click_per_file_bring_the_diary_onto_the_timeline(
        own_server, page, browser):
    """Issue 22's "done when", as a new user would do it: the clinician makes the link on the review
    page, the patient sends a Privacy Friendly Pain Diary export and a FHIR file from a phone without
    an account (the page says nothing of her record), both wait in the inbox with their patient
    check, one click each brings them onto the timeline, and every step is in the audit trail."""
    base, url = own_server
    start = last_audit_id(url)
    login(page, f"{base}/review?patient={REF}", "dr.rivera", PASSWORDS["dr.rivera"])
    assert TODAY.isoformat() not in _pain_days(page)
    page.get_by_text("Patient upload link").click()
    page.get_by_role("button", name="Create link").click()
    address = page.locator("[data-testid='stCode'] code", has_text="/share/").inner_text(timeout=60_000).strip()
    assert address.startswith(f"{base}/share/")

    phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        sender = phone.new_page()
        sender.goto(address)
        sender.locator("input[type=file]").set_input_files([
            {"name": "pain_diary.csv", "mimeType": "text/csv", "buffer": _pain_diary_export(TODAY)},
            {"name": "portal.json", "mimeType": "application/json", "buffer": _portal_fhir(TODAY)}])
        sender.get_by_role("button", name="Send files").click()
        sender.get_by_role("heading", name="Thank you: your clinic has your files").wait_for(timeout=60_000)
        shown = sender.inner_text("body")
        assert REF not in shown and "Alvarez" not in shown and "Maria" not in shown
        assert sender.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth") <= 0
    finally:
        phone.close()

    with session_scope(url) as session:
        waiting = {r.file_name: r.id for r, p in share_links.waiting(session) if p.ref == REF}
    assert sorted(waiting) == ["pain_diary.csv", "portal.json"]
    page.get_by_role("link", name="Inbox").click()
    page.get_by_role("heading", name="Inbox").wait_for(timeout=60_000)
    for name, record_id in sorted(waiting.items()):
        page.get_by_label("File to decide").click()
        page.get_by_role("option", name=f"#{record_id} · {REF} · {name}").click()
        page.get_by_text(f"stored {REF}:").wait_for(timeout=30_000)  # the patient check against the stored patient
        page.get_by_role("button", name="Import").click()
        page.get_by_text(f"File #{record_id} imported for {REF}").wait_for(timeout=60_000)
    page.get_by_role("button", name=f"Open the review of {REF}").click()
    page.wait_for_url(f"**/review?patient={REF}", timeout=60_000)
    assert TODAY.isoformat() in _pain_days(page)

    actions = [(actor, action, outcome) for actor, action, outcome, _pid, _detail in audit_rows(url, start)]
    link_actor = next(actor for actor, action, _ in actions if action == "share_link_upload")
    assert ("dr.rivera", "share_link_create", "ok") in actions
    assert link_actor.startswith("share link ") and (link_actor, "share_link_upload", "ok") in actions
    assert [a for a in actions if a[1] == "inbox_accept"] == [("dr.rivera", "inbox_accept", "ok")] * 2
