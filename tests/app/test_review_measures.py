"""The review page shows the instruments over time below the timeline, lists other measures as
text, and raises the self-harm flag from PHQ-9 item 9 (AppTest, a real SQLite database)."""

from __future__ import annotations

import json
from datetime import date, timedelta

import streamlit as st

from dashboard.stored.review import patient_summary
from dashboard.auth.accounts import add_user, share
from dashboard.db.session import session_scope
from dashboard.ingest.service import import_file
from tests.app.test_review import charts, review, words

TODAY = date.today()
HOSTILE = "<script>alert(1)</script> **bold**"
BRENDA = "data/real/ahrq_pain_mgmt_r4/brenda_jackson.json"
REF = "5c41cecf-cf81-434f-9da7-e24e5a99dbc2"


def _recent(days_ago: int) -> bytes:
    """A PHQ-9 answered days ago with item 9 'Several days', and an other measure with hostile text."""
    when = f"{(TODAY - timedelta(days=days_ago)).isoformat()}T09:00:00Z"
    qr = {"resourceType": "QuestionnaireResponse", "id": "q", "status": "completed", "authored": when,
          "subject": {"reference": f"Patient/{REF}"},
          "item": [{"linkId": "44260-8", "answer": [{"valueCoding": {"code": "LA6569-3", "display": "Several days"}}]},
                   {"linkId": "44261-6", "answer": [{"valueInteger": 16}]},
                   {"linkId": "72514-3", "answer": [{"valueInteger": 5}]}]}
    other = {"resourceType": "Observation", "id": "o", "status": "final", "subject": {"reference": f"Patient/{REF}"},
             "code": {"coding": [{"system": "urn:app", "code": "note-1", "display": HOSTILE}]},
             "effectiveDateTime": when, "valueString": HOSTILE}
    return json.dumps({"resourceType": "Bundle", "type": "collection",
                       "entry": [{"resource": qr}, {"resource": other}]}).encode()


def test_instruments_chart_measure_list_and_self_harm_flag(sqlite_url, monkeypatch, shared_dir):
    raw = (shared_dir / BRENDA).read_bytes()
    assert import_file(raw, "brenda.json", url=sqlite_url, actor="test").measures_added == 14
    # A later file that knows the patient only by the resource id: the user names the patient (v3).
    assert import_file(_recent(2), "recent.json", url=sqlite_url, actor="test", patient_ref=REF).measures_added == 3
    with session_scope(sqlite_url) as session:
        add_user(session, username="dr.test", display_name="Dr. Test", role="clinician", password=None)
        share(session, username="dr.test", patient_ref=REF)
        summary = patient_summary(session, REF, as_of=TODAY)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = review(sqlite_url, REF)
    figures = charts(at)
    assert "measures_chart" in figures and "timeline_chart" in figures
    names = [t["name"] for t in figures["measures_chart"]["data"]]
    assert names == ["PHQ-9 depression score", "Opioid dose", "alignment"]  # + the timeline's lane names, hidden
    ghost = figures["measures_chart"]["layout"]["yaxis3"]
    assert any("Thoughts of self-harm" in text for text in ghost["ticktext"])
    assert figures["measures_chart"]["data"][0]["y"][-1] == 16  # the page draws what the summary says
    assert {m["code"]: m["value"] for m in summary["measures"]["latest"]}["44261-6"] == 16
    assert figures["measures_chart"]["layout"]["xaxis"]["range"] == figures["timeline_chart"]["layout"]["xaxis"]["range"]
    (table,) = [d.value for d in at.dataframe if "Measure" in d.value.columns]
    assert HOSTILE in set(table["Measure"]) and HOSTILE in set(table["Answer"])  # as text, in a dataframe
    assert {"Urine drug screen", "PHQ-9 items", "Other measure"} <= set(table["Kind"])
    assert not any("<script>" in m for m in words(at, "markdown"))
    assert any(e.label.startswith("Thoughts of self-harm (PHQ-9 item 9) (safety)") for e in at.expander)
    assert any("PHQ-9 item 9:** :red[**highest 1/3" in m for m in words(at, "markdown"))
    assert [f["rule"] for f in summary["flags"]].count("self_harm_thoughts") == 1
    st.cache_data.clear()
    st.cache_resource.clear()
