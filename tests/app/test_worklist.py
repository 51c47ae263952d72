"""The worklist page with AppTest on the demo clinic: the home page, who needs attention first,
only shared patients, one audit row per view, filters, and a row opening the review."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pandas as pd
import pytest

from dashboard.auth import accounts
from dashboard.db.queries import visits_frame
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.app.conftest import (PASSWORDS, account, app, audit_rows, last_audit_id, log_in, patient_id, shared_with,
                                texts)

HOSTILE_NAME = "<script>window.__pwned=1</script> **Bold** Name"


def _table(at):
    return at.dataframe(key="worklist_table").value if any(d.key == "worklist_table" for d in at.dataframe) else None


def test_the_worklist_is_the_home_page_after_login(clinic_url):
    at = log_in(app(), "dr.rivera", PASSWORDS["dr.rivera"])
    assert not at.exception
    assert [t.value for t in at.title] == ["Worklist"]


def test_who_needs_attention_today_comes_first_and_why(clinic_url):
    at = app("worklist", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception
    table = _table(at)
    # v3: DEMO-005's new liver-test flag and its quiet diary put it first, then DEMO-001's new high BP.
    first, second = table.iloc[0], table.iloc[1]
    assert second["patient"].endswith("DEMO-001") and "NEW High blood pressure" in second["attention"]
    assert second["visit"] == "Today · in person"
    assert first["patient"].endswith("DEMO-005") and "NEW High liver tests (ALT/AST)" in first["attention"]
    assert "no diary for 8 days" in first["attention"] and first["visit"].startswith("Overdue ")
    assert "None" not in table.to_string() and "nan" not in table.to_string()
    # the default range (today and the next 7 days) leaves out DEMO-003, booked in two weeks
    assert not table["patient"].str.endswith("DEMO-003").any()


@pytest.mark.parametrize("username", ["dr.rivera", "dr.chen", "alex.admin"])
def test_all_my_patients_are_exactly_the_shared_ones(clinic_url, username):
    at = app("worklist", user=account(clinic_url, username)).run()
    at.radio(key="worklist_view").set_value("All my patients").run()
    assert not at.exception
    table = _table(at)
    shown = set() if table is None else {p.split(" · ")[-1] for p in table["patient"]}
    assert shown == shared_with(username)  # administrators: only patients shared with them (none)
    if not shown:
        assert "No patients are shared with you" in texts(at)


def test_staff_see_the_clinics_visits_without_clinical_figures(clinic_url):
    """Staff's worklist is the clinic's booked and overdue visits (none shared with them): who,
    when, kind, diary days; no pain, dose or flag; one audit row listing the patients."""
    before = last_audit_id(clinic_url)
    at = app("worklist", user=account(clinic_url, "sam.staff")).run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Worklist: the clinic's visits"]
    table = at.dataframe[0].value
    assert list(table.columns) == ["When", "Patient", "Kind", "Status", "Diary, 30 days"]
    shown = {p.split(" · ")[-1] for p in table["Patient"]}
    assert {"DEMO-001", "DEMO-005", "DEMO-008"} <= shown  # dr.rivera's and dr.chen's patients alike
    assert "overdue: not recorded as held" in set(table["Status"])
    everything = texts(at)
    for clinical in ("Pain", "mg/day", "flag", "Needs attention", "Responder", "Condition"):
        assert clinical not in everything, clinical
    assert not [b for b in at.button if b.key == "worklist_open"]  # opening a review stays clinicians'
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == "view_worklist"]
    assert [(r[0], r[2]) for r in rows] == [("sam.staff", "ok")]
    assert set(json.loads(rows[0][4])["patients"]) == shown


def test_staff_book_and_record_a_visit_from_their_worklist(clinic_url):
    at = app("worklist", user=account(clinic_url, "sam.staff")).run()
    pid = patient_id(clinic_url, "DEMO-008")  # dr.chen's patient, not shared with staff
    options = at.selectbox(key="book_patient").options
    at.selectbox(key="book_patient").select_index(next(i for i, o in enumerate(options) if o.endswith("DEMO-008")))
    when = date.today() + timedelta(days=3)
    at.date_input(key="book_date").set_value(when)
    at.selectbox(key="book_kind").set_value("telehealth")
    before = last_audit_id(clinic_url)
    next(b for b in at.button if b.label == "Book visit").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith(f"Booked: {when:%a %-d %b %Y} · telehealth · ")
    assert _visits(clinic_url, pid, when) == [("telehealth", "booked")]
    assert [(r[0], r[1], r[2], r[3]) for r in audit_rows(clinic_url, before)][:1] == [
        ("sam.staff", "record_change", "ok", pid)]
    # The first overdue visit recorded as held leaves the list of overdue ones.
    table = at.dataframe[0].value
    overdue = table[table["Status"].str.startswith("overdue")]
    first = at.selectbox(key="record_visit").options[0]
    assert first.split(" · ")[-1] == overdue["Patient"].iloc[0].split(" · ")[-1]
    at.selectbox(key="record_visit").select_index(0).run()
    next(b for b in at.button if b.label == "Record as held").click().run()
    assert not at.exception and not at.error
    assert at.success[0].value.startswith("Recorded as held: ")
    after = at.dataframe[0].value
    assert len(after[after["Status"].str.startswith("overdue")]) == len(overdue) - 1


def _visits(url, pid, when):
    with session_scope(url) as session:
        frame = visits_frame(session, pid)
    return [(k, s) for d, k, s in zip(frame["date"], frame["kind"], frame["status"]) if d == pd.Timestamp(when)]


def test_opening_the_worklist_is_one_audit_row_listing_the_patients(clinic_url):
    before = last_audit_id(clinic_url)
    at = app("worklist", user=account(clinic_url, "dr.chen")).run()
    at.multiselect(key="worklist_flag").select("Opioid or benzodiazepine").run()  # a filter is not a new view
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == "view_worklist"]
    assert [(r[0], r[2]) for r in rows] == [("dr.chen", "ok")]
    detail = json.loads(rows[0][4])
    assert set(detail["patients"]) == {"DEMO-007", "DEMO-008", "DEMO-009"} and detail["all"] is False
    at.radio(key="worklist_view").set_value("All my patients").run()  # another view: another row
    assert len([r for r in audit_rows(clinic_url, before) if r[1] == "view_worklist"]) == 2


def test_filters_by_condition_flag_and_clinician(clinic_url):
    at = app("worklist", user=account(clinic_url, "dr.rivera")).run()
    at.radio(key="worklist_view").set_value("All my patients").run()
    at.multiselect(key="worklist_condition").select("Fibromyalgia").run()
    assert list(_table(at)["patient"]) == ["Janet Okafor · DEMO-002"]
    at.multiselect(key="worklist_condition").unselect("Fibromyalgia").run()
    at.multiselect(key="worklist_flag").select("More taken than prescribed").run()
    assert list(_table(at)["patient"]) == ["Linda Kowalski · DEMO-006"]
    at.multiselect(key="worklist_flag").unselect("More taken than prescribed").run()
    at.multiselect(key="worklist_clinician").select("Dr. Wei Chen").run()
    assert list(_table(at)["patient"]) == ["Marcus Reid · DEMO-007"]  # shared with both clinicians


def test_open_review_opens_the_first_patient(clinic_url):
    at = app("worklist", user=account(clinic_url, "dr.rivera")).run()
    assert at.selectbox(key="worklist_pick").value == "DEMO-005"  # the top of the list (v3: a new liver flag)
    at.button(key="worklist_open").click().run()
    assert not at.exception
    assert "Derek Walsh" in texts(at) and "Worklist" not in [t.value for t in at.title]


def test_a_hostile_name_is_shown_as_text(clinic_url):
    csv = f"patient_id,date,pain\nP-HOST,{__import__('datetime').date.today().isoformat()},5\n"
    assert import_file(csv.encode(), "h.csv", url=clinic_url, actor="test").status == "imported"
    with session_scope(clinic_url) as session:
        from sqlalchemy import update

        from dashboard.db.models import Patient
        session.execute(update(Patient).where(Patient.ref == "P-HOST").values(name=HOSTILE_NAME,
                                                                                condition="**bold** <b>x</b>"))
        accounts.share(session, username="dr.rivera", patient_ref="P-HOST")
    at = app("worklist", user=account(clinic_url, "dr.rivera")).run()
    at.radio(key="worklist_view").set_value("All my patients").run()
    table = _table(at)
    assert f"{HOSTILE_NAME} · P-HOST" in list(table["patient"])
    assert "**bold** <b>x</b>" in list(table["condition"])
    assert not [m for m in at.markdown if "script" in m.value or "**bold**" in m.value]


def test_the_review_says_the_booked_visit_is_overdue(clinic_url):
    at = app("review", user=account(clinic_url, "dr.rivera"), patient="DEMO-005").run()
    assert not at.exception
    assert "overdue: no record that it happened" in texts(at)
