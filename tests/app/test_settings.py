"""The settings page, driven with AppTest: the clinic's lead clinician (or an administrator)
changes a threshold, it is stored and audited once, an inconsistent change is refused whole,
other clinicians and staff only read (human labels, units, sources, ranges), and the review
judges by the new threshold."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
import streamlit as st

from dashboard.analysis.settings_table import COLUMNS
from dashboard.auth.accounts import add_user, set_clinic_lead, share
from dashboard.config import THRESHOLD, THRESHOLDS, Thresholds
from dashboard.db.session import session_scope
from dashboard.db.settings_store import load_thresholds
from dashboard.ingest.service import import_file
from dashboard.app_pages.settings import READ_ONLY
from tests.app.conftest import account, app, audit_rows, last_audit_id

TODAY = date.today()


def _iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


# Baseline 8 (the 14 days before the step, 44-31 days ago), then 5.4: 32.5 % less pain since
# the visit 20 days ago: moderate at a 30 % cut-off, only minimal at 35 %.
EDGE_FILES = [
    ("edge-diary.csv", ("patient_id,date,pain\n" + "".join(
        f"EDGE,{_iso(ago)}T20:00,{8 if ago > 30 else 5.4}\n" for ago in range(44, 0, -1))).encode()),
    ("edge-steps.csv", f"patient_id,start_date,dose_mg,frequency,route,note\nEDGE,{_iso(30)},25,daily,troche,\n"
     .encode()),
    ("edge-visits.csv", f"patient_id,date,kind,note\nEDGE,{_iso(20)},in person,\n".encode()),
]


@pytest.fixture
def settings_clinic(sqlite_url, monkeypatch) -> str:
    for name, raw in EDGE_FILES:
        assert import_file(raw, name, url=sqlite_url, actor="test").status == "imported", name
    with session_scope(sqlite_url) as session:
        for username, role in (("dr.test", "clinician"), ("dr.plain", "clinician"), ("sam", "staff"),
                               ("alex", "admin")):
            add_user(session, username=username, display_name=username, role=role, password=None)
        set_clinic_lead(session, "dr.test", True)  # the clinic's lead clinician; dr.plain is not
        share(session, username="dr.test", patient_ref="EDGE")
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    yield sqlite_url
    st.cache_data.clear()


def settings_page(url: str, username: str):
    at = app("settings", user=account(url, username)).run()
    assert not at.exception, at.exception
    return at


def save(at, **values):
    for key, value in values.items():
        at.number_input(key=f"set_{key}").set_value(value)
    (button,) = [b for b in at.button if b.label == "Save thresholds"]
    button.click().run()
    assert not at.exception, at.exception
    return at


def stored(url: str) -> Thresholds:
    with session_scope(url) as session:
        return load_thresholds(session)


def settings_audits(url: str, after: int) -> list[tuple]:
    return [r for r in audit_rows(url, after) if r[1] == "settings_change"]


def shown_value(at, key: str) -> str:
    table = at.dataframe[0].value
    return str(table.loc[table[COLUMNS["setting"]] == THRESHOLD[key].label, COLUMNS["value"]].iloc[0])


@pytest.mark.parametrize("username", ["dr.test", "alex"])
def test_a_threshold_changed_on_the_form_is_stored_and_audited_once(settings_clinic, username):
    before = last_audit_id(settings_clinic)
    at = save(settings_page(settings_clinic, username), responder_moderate_pct=35.0)
    assert [s.value for s in at.success] == [f"Saved: {THRESHOLD['responder_moderate_pct'].label}"]
    assert stored(settings_clinic) == Thresholds(responder_moderate_pct=35.0)
    rows = settings_audits(settings_clinic, before)
    assert [r[0] for r in rows] == [username]
    assert json.loads(rows[0][4]) == {"responder_moderate_pct": {"from": 30.0, "to": 35.0}}
    assert shown_value(at, "responder_moderate_pct") == "35 % (changed)"  # the table shows what is stored now


def test_saving_without_a_change_stores_and_audits_nothing(settings_clinic):
    before = last_audit_id(settings_clinic)
    at = save(settings_page(settings_clinic, "dr.test"))
    assert [s.value for s in at.success] == ["Nothing changed."]
    assert stored(settings_clinic) == Thresholds() and settings_audits(settings_clinic, before) == []


@pytest.mark.parametrize(("values", "problem"), [
    ({"responder_moderate_pct": 60.0}, "responder cut-offs must rise: minimal <= moderate <= substantial"),
    ({"responder_minimal_pct": 40.0}, "responder cut-offs must rise: minimal <= moderate <= substantial"),
    ({"bp_diastolic_high": 150.0, "bp_systolic_high": 140.0},
     "the diastolic blood pressure threshold must be below the systolic one"),
])
def test_an_inconsistent_combination_is_refused_with_nothing_stored(settings_clinic, values, problem):
    before = last_audit_id(settings_clinic)
    at = save(settings_page(settings_clinic, "dr.test"), diary_gap_days=10, **values)
    assert [e.value for e in at.error] == [f"Nothing was saved: {problem}"]
    assert stored(settings_clinic) == Thresholds()  # not even the valid diary_gap_days change
    assert settings_audits(settings_clinic, before) == []


@pytest.mark.parametrize("username", ["sam", "dr.plain"])
def test_staff_and_other_clinicians_read_the_thresholds_but_cannot_edit_them(settings_clinic, username):
    at = settings_page(settings_clinic, username)
    assert [i.value for i in at.info] == [READ_ONLY]
    assert not at.number_input and not at.selectbox and [b.label for b in at.button] == ["Log out"]
    table = at.dataframe[0].value
    assert list(table.columns) == list(COLUMNS.values())
    # Human labels, never the raw keys; every value with its unit, its default, range and source.
    assert list(table[COLUMNS["setting"]]) == [t.label for t in THRESHOLDS]
    assert not set(table.to_numpy().ravel().tolist()) & {t.key for t in THRESHOLDS}
    onset = table[table[COLUMNS["setting"]] == THRESHOLD["onset_days"].label].iloc[0]
    assert (onset[COLUMNS["value"]], onset[COLUMNS["allowed"]]) == ("14 days", "0 to 90 days")
    assert onset[COLUMNS["who"]] == "Administrators and the clinic's lead clinician"
    assert all(table[COLUMNS["source"]].str.len() > 0)  # every default says where it comes from
    assert "HIPAA" in table[COLUMNS["source"]].iloc[-1] and table[COLUMNS["who"]].iloc[-1] == "Administrators"


def test_the_review_judges_by_the_new_threshold(settings_clinic):
    def responder() -> tuple[str, str, list[str]]:
        at = app("review", user=account(settings_clinic, "dr.test"), patient="EDGE").run()
        assert not at.exception, at.exception
        (metric,) = [m for m in at.metric if m.label == "Responder"]
        return metric.value, metric.help, [c.value for c in at.caption]

    label, help_text, captions = responder()
    assert label == "moderate" and "moderate (≥ 30 %)" in captions and "≥ 30 % moderately" in help_text
    save(settings_page(settings_clinic, "dr.test"), responder_moderate_pct=35.0)
    label, help_text, captions = responder()
    assert label == "minimal" and "minimal (≥ 15 %)" in captions and "≥ 35 % moderately" in help_text


def test_the_review_words_follow_the_clinics_baseline_settings(settings_clinic):
    # 28 baseline days reach back before the diary's first day: 14 days with pain, at least 20 needed.
    save(settings_page(settings_clinic, "dr.test"), baseline_days=28, min_baseline_diary_days=20)
    at = app("review", user=account(settings_clinic, "dr.test"), patient="EDGE").run()
    assert not at.exception
    assert ("Baseline missing: only 14 diary day(s) with pain in the 28 days before the first troche step "
            "(at least 20 needed); changes from baseline are not shown.") in "\n".join(t.value for t in at.text)


@pytest.mark.parametrize(("username", "can_set_logoff"), [("dr.test", False), ("alex", True)])
def test_only_an_administrator_sets_the_automatic_logoff(settings_clinic, username, can_set_logoff):
    at = settings_page(settings_clinic, username)
    keys = {n.key for n in at.number_input}
    assert ("set_idle_logoff_minutes" in keys) is can_set_logoff
    assert "set_responder_moderate_pct" in keys
    save(at, responder_moderate_pct=35.0)
    assert stored(settings_clinic).responder_moderate_pct == 35.0
    assert stored(settings_clinic).idle_logoff_minutes == Thresholds().idle_logoff_minutes
