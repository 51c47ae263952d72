"""The cohort page, driven with AppTest on a copy of the demo clinic: who is in it, what an
unshared patient leaves behind (nothing), the audit row, hostile condition text, drill-down."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import update

from dashboard.audit_actions import AuditAction
from dashboard.db.models import Patient
from dashboard.db.session import session_scope
from dashboard.demo import STORIES
from tests.app.conftest import account, app, audit_rows, last_audit_id, shared_with, texts

HOSTILE = "<script>alert(1)</script> **bold** condition"


def _story(ref: str):
    return next(s for s in STORIES if s.ref == ref)


def _unshared(username: str) -> list:
    return [s for s in STORIES if username not in s.shared_with]


def test_a_clinician_sees_exactly_their_shared_patients(clinic_url):
    before = last_audit_id(clinic_url)
    at = app("cohort", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception
    mine = shared_with("dr.rivera")
    shown = texts(at)
    assert f"{len(mine)} patients (patients shared with you)" in shown
    # An unshared patient's distinctive condition, reference and name never reach the page.
    others = _unshared("dr.rivera")
    assert others, "the demo must have a patient not shared with dr.rivera"
    for story in others:
        assert story.condition not in shown and story.ref not in shown and story.name not in shown
    assert _story("DEMO-001").condition in shown  # a condition of their own is there
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == AuditAction.VIEW_COHORT]
    assert [(r[0], r[2], r[3]) for r in rows] == [("dr.rivera", "ok", None)]
    assert json.loads(rows[0][4])["patients"] == len(mine)


def test_the_view_is_audited_once_per_visit_not_per_rerun(clinic_url):
    before = last_audit_id(clinic_url)
    at = app("cohort", user=account(clinic_url, "dr.chen")).run()
    at.selectbox(key="cohort_patient").select(sorted(shared_with("dr.chen"))[-1]).run()
    rows = [r for r in audit_rows(clinic_url, before) if r[1] == AuditAction.VIEW_COHORT]
    assert len(rows) == 1 and json.loads(rows[0][4])["patients"] == len(shared_with("dr.chen"))


@pytest.mark.parametrize("username", ["sam.staff", "alex.admin"])
def test_staff_see_the_clinic_in_figures_but_cannot_open_anyone(clinic_url, username):
    at = app("cohort", user=account(clinic_url, username)).run()
    assert not at.exception
    shown = texts(at)
    assert f"{len(STORIES)} patients (the clinic)" in shown
    assert "None of these patients is shared with you" in shown
    assert not [b for b in at.button if b.key == "cohort_open"]
    for story in STORIES:
        assert story.ref not in shown and story.name not in shown


def test_small_groups_show_their_size_and_no_figure(clinic_url):
    at = app("cohort", user=account(clinic_url, "dr.rivera")).run()
    # Every demo condition has one patient: each is listed with n=1 and "n < 5", no counts.
    by_condition = next(t for t in at.dataframe if "Condition" in t.value.columns).value
    assert set(by_condition["Patients (n)"]) == {1}
    assert (by_condition.drop(columns=["Condition", "Patients (n)"]) == "n < 5").all().all()
    # The 50–<100 mg/day band holds five or more of dr.rivera's patients: its counts are shown.
    by_band = next(t for t in at.dataframe if "Daily dose" in t.value.columns and "Latest step still early"
                   in t.value.columns).value
    big = by_band[by_band["Patients (n)"] >= 5]
    assert len(big) and not (big.drop(columns=["Daily dose", "Patients (n)"]) == "n < 5").any().any()


def test_condition_text_is_shown_as_text(clinic_url):
    with session_scope(clinic_url) as session:
        session.execute(update(Patient).where(Patient.ref == "DEMO-001").values(condition=HOSTILE))
    at = app("cohort", user=account(clinic_url, "dr.rivera")).run()
    assert not at.exception
    charts = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    labels = json.dumps([c["data"] for c in charts])
    # Every condition group is under five, so no condition chart is drawn (its escaping is
    # tests/charts/test_cohort.py's); nothing raw reaches a chart either way.
    assert "<script>" not in labels
    by_condition = next(t for t in at.dataframe if "Condition" in t.value.columns).value
    assert HOSTILE in list(by_condition["Condition"])  # a dataframe cell: text, never markup
    assert not [m for m in at.markdown if "<script>" in m.value]


def test_drill_down_opens_a_shared_patients_review(clinic_url):
    at = app("cohort", user=account(clinic_url, "dr.rivera")).run()
    options = at.selectbox(key="cohort_patient").options
    assert sorted(o.split(" · ")[0] for o in options) == sorted(shared_with("dr.rivera"))
    at.selectbox(key="cohort_patient").select("DEMO-002").run()
    at.button(key="cohort_open").click().run()
    assert not at.exception
    assert at.query_params.get("patient") in ("DEMO-002", ["DEMO-002"])


def test_a_clinician_without_patients_gets_an_empty_state(clinic_url):
    from dashboard.auth.accounts import add_user

    with session_scope(clinic_url) as session:
        add_user(session, username="dr.new", display_name="Dr. New", role="clinician", password=None)
    at = app("cohort", user=account(clinic_url, "dr.new")).run()
    assert not at.exception
    assert [i.value for i in at.info] == ["No patients are shared with you yet, so there is nothing to aggregate."]
    assert not at.get("plotly_chart") and not at.dataframe
