"""The review page's record forms with AppTest, on a copy of the demo clinic: a refused input says
which field and why and writes nothing; a valid change is shown as the timeline will show it,
written only on "Save", with one audit row, and is on the timeline and in the summary at once."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from dashboard import fields
from dashboard.stored.review import patient_summary
from dashboard.db.session import session_scope
from tests.app.conftest import account, app, audit_rows, last_audit_id, texts
from tests.dbdump import dump

TODAY = date.today()
REF = "DEMO-001"  # shared with dr.rivera
HOSTILE = "<script>alert(1)</script> **bold**"


# The demo clinic books DEMO-001 for today: a visit booked later is not her next one. DEMO-003's
# booked visit is 14 days away, so a visit booked within that shows as the next.
LATER_BOOKED = "DEMO-003"


def _summary(url: str, ref: str = REF) -> dict:
    with session_scope(url) as session:
        return patient_summary(session, ref, as_of=TODAY)


def _review(url: str, username: str = "dr.rivera", ref: str = REF):
    at = app("review", user=account(url, username), patient=ref).run()
    assert not at.exception, at.exception
    return at


def _timeline_labels(at) -> list[str]:
    (chart,) = [e for e in at.get("plotly_chart") if e.proto.id.endswith("timeline_chart")]
    return [a.get("text", "") for a in json.loads(chart.proto.spec)["layout"].get("annotations", [])]


def _fill_step(at, **values):
    for name, value in values.items():
        widget = {"dose": at.number_input, "max": at.number_input, "frequency": at.selectbox,
                  "route": at.selectbox, "start": at.date_input, "end": at.date_input, "note": at.text_input}[name]
        widget(key=f"new_{name}").set_value(value)
    return at.button(key="new_check").click().run()


def _errors(at) -> str:
    """The page's error messages as a reader sees them (markdown escapes removed)."""
    return re.sub(r"\\(.)", r"\1", "\n".join(e.value for e in at.error))


def test_a_new_step_is_confirmed_then_saved_once_and_drawn_on_the_timeline(clinic_url):
    current = _summary(clinic_url)["current_step"]["daily_dose_mg"]
    at = _review(clinic_url)
    assert any(e.label == "Record a step or visit" for e in at.expander)
    assert at.number_input(key="new_dose").value == _summary(clinic_url)["current_step"]["dose_mg"]  # prefilled
    before, data = last_audit_id(clinic_url), dump(clinic_url, skip=("audit_event",))
    at = _fill_step(at, dose=float(current), frequency="twice daily", note=HOSTILE)
    assert not at.exception and not at.error
    label = f"{current:g} → {current * 2:g} mg/day"
    shown = [m.value for m in at.markdown]
    assert f"**New step on the timeline:** {label}" in shown
    assert any(t.value == f"Note: {HOSTILE}" for t in at.text)  # patient text as text
    assert not [m for m in shown if "<script>" in m or "**bold**" in m]
    assert dump(clinic_url, skip=("audit_event",)) == data  # checked, not written
    assert not [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]
    assert len(rows) == 1 and rows[0][:3] == ("dr.rivera", "record_change", "ok")
    detail = json.loads(rows[0][4])
    assert detail["old"] is None and detail["new"]["frequency"] == "twice daily"
    assert label in _timeline_labels(at)
    summary = _summary(clinic_url)["current_step"]
    assert (summary["daily_dose_mg"], summary["start"][:10]) == (current * 2, TODAY.isoformat())
    assert any(m.value == f"{current * 2:g} mg/day" for m in at.metric)  # the first screen's current step


@pytest.mark.parametrize(("values", "message"), [
    ({"dose": 0.0}, "Dose (mg): the dose must be a number of mg above 0 and at most 1000"),
    ({"dose": 1500.0}, "at most 1000"),
    ({"dose": 250.0, "route": "intranasal"}, "at most 200 by the intranasal route"),
    ({"end": TODAY - timedelta(days=3)}, "End: the end date is before the start date"),
    ({"frequency": "as needed"}, "Frequency: an as-needed step needs a maximum per day"),
    ({"frequency": "as needed", "max": 40.0}, "Maximum doses a day: the maximum per day is a number of doses from 1"),
])
def test_each_refused_step_says_what_and_where_and_writes_nothing(clinic_url, values, message):
    at = _review(clinic_url)
    data = dump(clinic_url, skip=("audit_event",))
    before = last_audit_id(clinic_url)
    at = _fill_step(at, **values)
    assert not at.exception
    assert "Not saved." in _errors(at) and message in _errors(at)
    assert not [b for b in at.button if b.key == "record_save"]
    assert dump(clinic_url, skip=("audit_event",)) == data
    assert not [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]


def test_the_date_pickers_offer_the_dates_a_step_or_visit_may_carry(clinic_url):
    """fields.PLAN, the rule the check and every importer ask: 1900 to five years ahead, so a date
    the check would refuse (six years ahead) cannot be picked (the pickers offered ten years)."""
    at = _review(clinic_url)
    pickers = [at.date_input(key="new_start"), at.date_input(key="new_end")]
    at.radio(key="record_mode").set_value("Book or record a visit").run()
    pickers.append(at.date_input(key="visit_date"))
    assert [(p.min, p.max) for p in pickers] == [(fields.EARLIEST, fields.PLAN.latest())] * 3
    assert fields.PLAN.latest() < TODAY + timedelta(days=365 * 6)


def test_an_overlapping_troche_step_is_refused(clinic_url):
    start = date.fromisoformat(_summary(clinic_url)["current_step"]["start"][:10])
    at = _review(clinic_url)
    data = dump(clinic_url, skip=("audit_event",))
    at = _fill_step(at, start=start)
    assert "overlaps the troche step" in _errors(at)
    assert dump(clinic_url, skip=("audit_event",)) == data


def test_ending_the_current_step(clinic_url):
    at = _review(clinic_url)
    at.radio(key="record_mode").set_value("Change or end a step").run()
    step_id = at.selectbox(key="record_change_step").value
    at.date_input(key=f"change_{step_id}_end").set_value(TODAY - timedelta(days=1))
    at.button(key=f"change_{step_id}_check").click().run()
    assert any(m.value.startswith("**Changed step on the timeline:**") for m in at.markdown)
    before = last_audit_id(clinic_url)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    (row,) = [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]
    detail = json.loads(row[4])
    assert (detail["old"]["end_date"], detail["new"]["end_date"]) == (None, (TODAY - timedelta(days=1)).isoformat())
    assert _summary(clinic_url)["current_step"] is None
    assert any(m.value == "none" for m in at.metric)


def test_booking_a_visit_shows_it_as_the_next_visit(clinic_url):
    assert _summary(clinic_url, LATER_BOOKED)["next_visit"]["date"] == (TODAY + timedelta(days=14)).isoformat()
    at = _review(clinic_url, ref=LATER_BOOKED)
    at.radio(key="record_mode").set_value("Book or record a visit").run()
    when = TODAY + timedelta(days=7)
    at.date_input(key="visit_date").set_value(when)
    at.selectbox(key="visit_kind").set_value("telehealth")
    at.button(key="visit_check").click().run()
    assert any(m.value.startswith("**Booked:** telehealth visit on") for m in at.markdown)
    before = last_audit_id(clinic_url)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    assert len([r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]) == 1
    assert _summary(clinic_url, LATER_BOOKED)["next_visit"] == {"date": when.isoformat(), "kind": "telehealth"}
    assert any(f"Next visit {when:%d %b %Y} (telehealth)" in t.value for t in at.text)


@pytest.mark.parametrize(("booked", "when", "kind", "message"), [
    ("Book a visit", TODAY - timedelta(days=2), "in person", "Date: a booked visit is today or later"),
    ("Record a visit that took place", TODAY + timedelta(days=2), "in person", "dated today or earlier"),
    ("Record a visit that took place", TODAY, "infusion", "Infusion dose (mg): an infusion needs its dose in mg"),
])
def test_each_refused_visit_says_what_and_writes_nothing(clinic_url, booked, when, kind, message):
    at = _review(clinic_url)
    at.radio(key="record_mode").set_value("Book or record a visit").run()
    data = dump(clinic_url, skip=("audit_event",))
    at.radio(key="visit_booked").set_value(booked)
    at.date_input(key="visit_date").set_value(when)
    at.selectbox(key="visit_kind").set_value(kind)
    at.button(key="visit_check").click().run()
    assert "Not saved." in _errors(at) and message in _errors(at)
    assert dump(clinic_url, skip=("audit_event",)) == data


def test_an_infusion_is_a_visit_and_its_dose_on_the_timeline(clinic_url):
    at = _review(clinic_url)
    at.radio(key="record_mode").set_value("Book or record a visit").run()
    at.radio(key="visit_booked").set_value("Record a visit that took place")
    at.selectbox(key="visit_kind").set_value("infusion")
    at.number_input(key="visit_dose").set_value(35.0)
    at.button(key="visit_check").click().run()
    assert "**Infusion on the timeline:** IV 35 mg on" in texts(at)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    assert "IV 35 mg" in _timeline_labels(at)
    assert _summary(clinic_url)["last_visit"]["kind"] == "infusion"


def test_the_diary_download_is_offered_and_lazy(clinic_url):
    before = last_audit_id(clinic_url)
    at = _review(clinic_url)
    buttons = [b for b in at.get("download_button") if "diary_csv" in b.proto.id]
    assert len(buttons) == 1 and buttons[0].proto.label == "Download diary (CSV)"
    # Built only when clicked: opening the page exported nothing.
    assert not [r for r in audit_rows(clinic_url, before) if r[1] == "export"]


def test_staff_book_visits_but_do_not_record_steps(clinic_url):
    from dashboard.auth.accounts import share

    with session_scope(clinic_url) as session:
        share(session, username="sam.staff", patient_ref=LATER_BOOKED)
    at = _review(clinic_url, "sam.staff", LATER_BOOKED)
    assert at.radio(key="record_mode").options == ["Book or record a visit"]
    assert not [n for n in at.number_input if n.key == "new_dose"]
    assert any("a clinician records infusions" in c.value for c in at.caption)
    at.date_input(key="visit_date").set_value(TODAY + timedelta(days=1))
    at.button(key="visit_check").click().run()
    before = last_audit_id(clinic_url)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    assert [r[:3] for r in audit_rows(clinic_url, before) if r[1] == "record_change"] == [
        ("sam.staff", "record_change", "ok")]
    assert _summary(clinic_url, LATER_BOOKED)["next_visit"]["date"] == (TODAY + timedelta(days=1)).isoformat()


def test_back_to_the_form_keeps_what_was_typed(clinic_url):
    """A visit typed, checked, then "Back to the form": the visit form again with every value as typed
    (the mode too); a step likewise. Nothing was written."""
    at = _review(clinic_url, ref=LATER_BOOKED)
    data = dump(clinic_url, skip=("audit_event",))
    at.radio(key="record_mode").set_value("Book or record a visit").run()
    when = TODAY + timedelta(days=5)
    at.date_input(key="visit_date").set_value(when)
    at.selectbox(key="visit_kind").set_value("telehealth")
    at.text_input(key="visit_note").set_value("bring the BP diary")
    at.button(key="visit_check").click().run()
    assert any(m.value.startswith("**Booked:** telehealth visit on") for m in at.markdown)
    assert not [w for w in at.date_input if w.key == "visit_date"]  # the form is not drawn while confirming
    at.button(key="record_back").click().run()
    assert not at.exception
    assert at.radio(key="record_mode").value == "Book or record a visit"
    assert at.date_input(key="visit_date").value == when
    assert at.selectbox(key="visit_kind").value == "telehealth"
    assert at.text_input(key="visit_note").value == "bring the BP diary"
    at.radio(key="record_mode").set_value("New step").run()
    dose = at.number_input(key="new_dose").value + 5
    at = _fill_step(at, dose=dose, frequency="twice daily", note="typed before going back")
    at.button(key="record_back").click().run()
    assert (at.number_input(key="new_dose").value, at.selectbox(key="new_frequency").value,
            at.text_input(key="new_note").value) == (dose, "twice daily", "typed before going back")
    assert dump(clinic_url, skip=("audit_event",)) == data
