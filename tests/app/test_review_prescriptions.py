"""The demo shows the prescription checks (issue 23, items 2 and 4): on the demo clinic, a prescription
above the clinic's maximum tried through the review page's step form is stopped with a clear
explanation and saved only with an explicit confirmation and a reason (audited); an overlapping
step offers to end the existing one, in words. The same through the use case."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest

from dashboard.db.clinic_records import RecordRefused, StepForm
from dashboard.db.session import session_scope
from dashboard.stored.review import patient_summary
from dashboard.usecases import records, run
from tests.app.conftest import account, app, audit_rows, last_audit_id, patient_id
from tests.dbdump import dump

TODAY = date.today()
REF = "DEMO-001"  # shared with dr.rivera
REASON = "refractory pain, agreed at today's visit"


def _plain(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _review(url: str):
    at = app("review", user=account(url, "dr.rivera"), patient=REF).run()
    assert not at.exception, at.exception
    return at


def _check_new_step(at, **values):
    widgets = {"dose": at.number_input, "frequency": at.selectbox, "start": at.date_input, "end": at.date_input,
               "end_existing": at.checkbox}
    for name, value in values.items():
        widgets[name](key=f"new_{name}").set_value(value)
    return at.button(key="new_check").click().run()


def _current(url: str) -> dict:
    with session_scope(url) as session:
        return patient_summary(session, REF, as_of=TODAY)["current_step"]


def test_a_prescription_above_the_maximum_is_stopped_with_a_clear_explanation_on_the_demo(clinic_url):
    current = _current(clinic_url)
    at = _check_new_step(_review(clinic_url), dose=1000.0, frequency="twice daily")
    assert not at.exception and not at.error
    shown = _plain("\n".join(m.value for m in at.markdown))
    assert "**This prescription needs your confirmation**" in shown
    assert (f"2000 mg/day (1000 mg twice daily from {TODAY:%d %b %Y}) is above the clinic's maximum of 300 mg/day"
            in shown)
    assert f"is more than twice the previous troche step's {current['daily_dose_mg']:g} mg/day" in shown
    data, before = dump(clinic_url, skip=("audit_event",)), last_audit_id(clinic_url)
    at.button(key="record_save").click().run()  # not confirmed
    assert "Not saved." in _plain(at.error[0].value)
    assert "above the clinic's maximum of 300 mg/day: needs a confirmation with a reason" in _plain(at.error[0].value)
    assert dump(clinic_url, skip=("audit_event",)) == data
    assert not [r for r in audit_rows(clinic_url, before) if r[1] == "record_change" and r[2] == "ok"]
    assert _current(clinic_url)["daily_dose_mg"] == current["daily_dose_mg"]


def test_confirmed_with_a_reason_on_the_page_it_is_saved_and_audited(clinic_url):
    at = _check_new_step(_review(clinic_url), dose=1000.0, frequency="twice daily")
    at.checkbox(key="record_confirm_prescription").check()
    at.text_input(key="record_confirm_reason").set_value(REASON)
    before = last_audit_id(clinic_url)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    (row,) = [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]
    confirmed = json.loads(row[4])["prescription"]["confirmed"]
    assert confirmed["reason"] == REASON
    assert [(c["check"], c["daily_dose_mg"]) for c in confirmed["checks"]] == [("above_maximum", 2000.0),
                                                                               ("more_than_doubled", 2000.0)]
    assert _current(clinic_url)["daily_dose_mg"] == 2000.0


def test_a_step_within_the_maximum_and_at_most_doubled_asks_nothing(clinic_url):
    current = _current(clinic_url)
    at = _check_new_step(_review(clinic_url), dose=float(current["daily_dose_mg"]), frequency="twice daily")
    assert not [c for c in at.checkbox if c.key == "record_confirm_prescription"]


def test_an_overlapping_step_is_refused_unless_the_existing_one_is_ended_in_the_form(clinic_url):
    current = _current(clinic_url)
    start = date.fromisoformat(current["start"][:10])
    inside, until = start + timedelta(days=3), start + timedelta(days=5)
    at = _check_new_step(_review(clinic_url), start=inside, end=until)
    errors = _plain(at.error[0].value)
    ends = f"ends {current['dose_mg']:g} mg daily (from {start:%d %b %Y}) on {inside - timedelta(days=1):%d %b %Y}"
    assert "troche steps never overlap" in errors and ends in errors
    at = _check_new_step(at, start=inside, end=until, end_existing=True)
    assert not at.error
    shown = _plain("\n".join(m.value for m in at.markdown))
    assert f"Also {ends}, the day before this step starts." in shown
    assert any("No troche step from" in w.value for w in at.warning)  # the gap after it, said before saving
    before = last_audit_id(clinic_url)
    at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    (row,) = [r for r in audit_rows(clinic_url, before) if r[1] == "record_change"]
    assert [e["words"] for e in json.loads(row[4])["prescription"]["ended"]] == [ends]


def test_the_use_case_stops_it_on_the_demo_too(clinic_url):
    user, pid = account(clinic_url, "dr.rivera"), patient_id(clinic_url, REF)
    form = StepForm(start_date=TODAY, dose_mg=400.0, frequency="daily", route="troche")
    with pytest.raises(RecordRefused, match="400 mg/day .* is above the clinic's maximum of 300 mg/day"):
        run(records.save_step, user, pid, form, url=clinic_url)
    run(records.save_step, user, pid, form, confirm_reason=REASON, url=clinic_url)
    assert _current(clinic_url)["daily_dose_mg"] == 400.0


def test_the_import_page_stops_an_imported_prescription_above_the_maximum_until_confirmed(clinic_url):
    """The same check on the demo's import page: the refused row named, the confirmation offered."""
    raw = f"patient_id,start_date,dose_mg,frequency,route\n{REF},{TODAY},400,daily,troche\n".encode()
    at = app("import", user=account(clinic_url, "sam.staff")).run()
    at.file_uploader(key="upload").upload("steps.csv", raw, "text/csv").run()
    assert not at.exception, at.exception
    assert "would be refused" in _plain("\n".join(e.value for e in at.error))
    shown = "\n".join(t.value for t in at.text)
    assert f"Row 2 ({REF}): 400 mg/day (400 mg daily from {TODAY:%d %b %Y}) is above the clinic's maximum" in shown
    before = last_audit_id(clinic_url)
    at.checkbox(key="import_confirm_prescription").check()
    at.text_input(key="import_confirm_reason").input(REASON).run()
    assert not [e for e in at.error if "would be refused" in e.value]
    at.button(key="do_import").click().run()
    assert not at.exception, at.exception
    (row,) = [r for r in audit_rows(clinic_url, before) if r[1] == "import" and r[2] == "imported"]
    confirmed = json.loads(row[4])["prescription"]["confirmed"]
    assert confirmed["reason"] == REASON and [c["row"] for c in confirmed["checks"]] == [2, 2]
    assert _current(clinic_url)["daily_dose_mg"] == 400.0
