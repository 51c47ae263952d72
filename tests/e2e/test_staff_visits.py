"""In a real browser: the front desk (staff) logs in to the clinic's visit list (booked and overdue
visits across the clinic, no clinical figure) and books a visit for a patient shared with no one
at the desk, then finds it in the list; the booking is audited. Screenshot under tests/e2e/artifacts/."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from dashboard.db.models import AuditEvent, Patient, Visit
from dashboard.db.session import session_scope
from dashboard.demo import DEMO_ACCOUNTS
from tests.e2e.conftest import ARTIFACTS, login

pytestmark = pytest.mark.e2e
PASSWORDS = {user: password for user, _name, _role, password in DEMO_ACCOUNTS}
REF = "DEMO-008"  # dr.chen's patient


def _booked(url: str, when: date) -> list[tuple]:
    with session_scope(url) as session:
        return [tuple(r) for r in session.execute(
            select(Visit.kind, Visit.status, Visit.changed_by).join(Patient, Patient.id == Visit.patient_id)
            .where(Patient.ref == REF, Visit.date == when))]


def test_staff_book_a_visit_from_their_worklist(own_server, page):
    base, url = own_server  # this test books a visit
    # A day in the list's default days (today and the next 7) with no visit of the patient yet.
    when = next(d for d in (date.today() + timedelta(days=n) for n in range(1, 8)) if not _booked(url, d))
    login(page, base, "sam.staff", PASSWORDS["sam.staff"])
    page.get_by_role("heading", name="Worklist: the clinic's visits").wait_for(timeout=60_000)
    grid = page.locator("[data-testid='stDataFrame']")
    grid.get_by_text("Diary, 30 days").wait_for(state="attached", timeout=60_000)
    listed = int(page.get_by_text(re.compile(r"^\d+ visits · ")).inner_text().split()[0])
    for clinical in ("Needs attention", "Pain, last 14 days", "Open flags", "Current step"):
        assert grid.get_by_text(clinical).count() == 0, clinical
    assert "This patient is not available to you" not in page.inner_text("body")

    book = page.locator(".st-key-book_patient")
    book.get_by_role("combobox").click()
    page.keyboard.type(REF)
    page.get_by_role("option", name=REF).first.click()
    # The date field is segmented (year, month, day): typed digit by digit from its first segment.
    page.locator(".st-key-book_date [role='spinbutton']").first.click()
    page.keyboard.type(when.strftime("%Y%m%d"))
    page.keyboard.press("Tab")
    page.wait_for_timeout(500)
    assert _booked(url, when) == []
    page.get_by_role("button", name="Book visit").click()
    try:
        page.get_by_text("Booked:").wait_for(timeout=60_000)
        page.get_by_text(re.compile(rf"^{listed + 1} visits · ")).wait_for(timeout=60_000)  # one more listed
    finally:
        page.screenshot(path=str(ARTIFACTS / "staff-visits-booked.png"), full_page=True)
    assert _booked(url, when) == [("in person", "booked", "sam.staff")]
    with session_scope(url) as session:
        rows = [json.loads(d) for d, in session.execute(
            select(AuditEvent.detail).where(AuditEvent.actor == "sam.staff", AuditEvent.action == "record_change",
                                            AuditEvent.outcome == "ok"))]
    assert [r["change"] for r in rows] == ["book visit"] and rows[0]["new"]["date"] == when.isoformat()
