"""In a real browser (1366x768): a file a patient sent through a share link waits in the Inbox; one
click imports it, and its day appears on the review page's timeline. The file is made with the
storage functions (the patient's upload page is tested on its own); a screenshot of the inbox is
kept under tests/e2e/artifacts/."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from dashboard.db import share_links
from dashboard.db.models import ImportRecord, Patient
from dashboard.db.session import session_scope
from dashboard.demo import DEMO_ACCOUNTS
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
