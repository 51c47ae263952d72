"""The patient review page, driven with AppTest: the demo patients, every empty state, the
as-of date, a flag shown on the timeline, notes as text, and deciding proposed steps.

The page's numbers are compared with ``summary`` (what ``summary --json`` prints), formatted
as the page formats them: the page and the command line must say the same thing.
"""

from __future__ import annotations

import json
import math
from datetime import date, timedelta

import pandas as pd
import pytest
import streamlit as st
from sqlalchemy import select

from dashboard.stored.review import patient_summary
from dashboard.app_pages.display import CELL_PAD_PX, CHAR_PX, TABLE_PX
from dashboard.app_pages.review_sections import FLAG_TABLE_KEY
from dashboard.auth.accounts import add_user, share
from dashboard.charts.palette import YELLOW
from dashboard.db.models import TitrationStep
from dashboard.db.session import session_scope
from dashboard.demo import STORIES
from dashboard.ingest.service import import_file
from tests.app.conftest import account, app, audit_rows, last_audit_id, patient_id
from tests.clirun import cli

TODAY = date.today()
HEADER = ["Current step"]
SINCE_LAST_VISIT = ["Mean pain", "Change from baseline", "Change from baseline (%)", "Responder", "Diary days"]
MARKUP_NOTE = "**bold** <b>x</b> [link](http://x) # not a heading"


# --------------------------------------------------------------------------- helpers

def column_widths(at, column: str) -> dict[str, int]:
    """The pixel width the page gives each column of the table that has this column."""
    (table,) = [d for d in at.dataframe if column in d.value.columns]
    config = json.loads(table.proto.columns)
    return {name: config[name]["width"] for name in table.value.columns}


def _iso(days_ago: int) -> str:
    return (TODAY - timedelta(days=days_ago)).isoformat()


def _fmt(value, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f}{unit}"


def _pct(value) -> str:
    """As the page shows a percentage beside a category: truncated toward zero, with a real minus."""
    return "—" if value is None else f"{math.trunc(value):+d} %".replace("-", "−").replace("+0 %", "+0 %")


def expected_metrics(summary: dict) -> dict[str, str]:
    """The metrics the page should show, read from the summary."""
    step = summary["current_step"]
    if step is None:
        current = "none"
    else:
        current = f"{step['daily_dose_mg']:g} mg/day" if step["daily_dose_mg"] is not None else f"{step['dose_mg']:g} mg"
    out = {"Current step": current}
    if summary["visit_intervals"]:
        latest = summary["visit_intervals"][-1]
        out.update({
            "Mean pain": _fmt(latest["mean_pain"]),
            "Change from baseline": _fmt(latest["change_from_baseline"], " pts"),
            "Change from baseline (%)": _pct(latest["change_from_baseline_pct"]),
            "Responder": latest["responder"] or "—",
            "Diary days": f"{latest['diary_days']} / {latest['days']}",
        })
    return out


def expected_texts(summary: dict) -> list[str]:
    """Fragments of the first screen that must be there, read from the summary."""
    out = []
    first = date.fromisoformat(summary["steps"][0]["start"]) if summary["steps"] else None
    if first:
        out.append(f"on ketamine {(date.fromisoformat(summary['as_of']) - first).days + 1} days")
    last = summary["last_visit"]
    if last:
        out.append(f"Last visit {date.fromisoformat(last['date']):%d %b %Y} ({last['kind']})")
    else:
        out.append("No visit recorded")
    nxt = summary["next_visit"]
    out.append(f"Next visit {date.fromisoformat(nxt['date']):%d %b %Y} ({nxt['kind']})" if nxt
               else "Next visit not booked")
    return out


def metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def summary_of(url: str, ref: str, as_of: date = TODAY) -> dict:
    with session_scope(url) as session:
        return patient_summary(session, ref, as_of=as_of)


def charts(at) -> dict[str, dict]:
    """The plotly figures on the page by their key, as the JSON the browser receives."""
    return {e.proto.id.rsplit("-", 1)[-1]: json.loads(e.proto.spec) for e in at.get("plotly_chart")}


def words(at, *kinds: str) -> list[str]:
    return [e.value for kind in kinds for e in getattr(at, kind)]


def review(url: str, ref: str, username: str = "dr.test"):
    at = app("review", user=account(url, username), patient=ref).run()
    assert not at.exception, at.exception
    return at


# --------------------------------------------------------------------------- the demo patients

VIEWER = {story.ref: story.shared_with[0] for story in STORIES}


@pytest.mark.parametrize("ref", sorted(VIEWER))
def test_each_demo_patient_shows_the_summarys_numbers(clinic_url, ref):
    at = review(clinic_url, ref, VIEWER[ref])
    story = next(s for s in STORIES if s.ref == ref)
    assert words(at, "text")[0] == f"{story.name} · {ref}"  # patient data: text, never a markdown heading
    assert any(t.startswith(f"born {story.birth_year} · {story.condition} · ") for t in words(at, "text"))
    shown = metrics(at)
    assert list(shown) == HEADER + SINCE_LAST_VISIT
    summary = summary_of(clinic_url, ref)
    expected = expected_metrics(summary)
    assert {k: shown[k] for k in expected} == expected
    page = "\n".join(words(at, "text", "markdown", "caption"))
    for fragment in expected_texts(summary):
        assert fragment in page, fragment
    assert set(charts(at)) == {"timeline_chart", "overlay_chart", "effects_chart"}
    (steps,) = [d.value for d in at.dataframe if "Response pain" in d.value.columns]
    # The responder category follows the change from baseline in one column ("−26 %, minimal").
    assert [v.split(", ")[1] if ", " in v else None for v in steps["vs baseline"]] == [
        s["responder"] for s in summary["steps"]]
    assert "None" not in steps.to_string() and "nan" not in steps.to_string()
    ranges = [(pd.Timestamp(s["start"]), pd.Timestamp(s["end"])) for s in summary["steps"]]
    assert list(steps["Dates"]) == [f"{a:%d %b}{'' if a.year == b.year else f' {a:%Y}'} – {b:%d %b %Y}"
                                    for a, b in ranges]
    for table in at.dataframe:  # human headers, and a missing value an empty cell, never "None"
        assert not [c for c in table.value.columns if "_" in str(c)], list(table.value.columns)
        cells = table.value.astype(object).to_numpy().ravel().tolist()
        assert not [v for v in cells if v is None or str(v) in ("None", "nan", "NaT")], list(table.value.columns)
    for name in ("Response pain", "Period"):  # the step and visit tables both fit the main column at 1366 px, no header clipped
        widths = column_widths(at, name)
        assert sum(widths.values()) <= TABLE_PX, (name, sum(widths.values()), str(widths))
        assert all(width >= len(column) * CHAR_PX + CELL_PAD_PX for column, width in widths.items()), widths
    led = summary["lowest_effective_dose"]
    if led:
        start = pd.Timestamp(led["step_start"]).strftime("%d %b %Y")
        assert any(f"is {led['daily_dose_mg']:g} mg/day (from {start})" in text for text in words(at, "info"))
    else:
        assert "No step has yet reached a moderate response without frequent severe side effects." in words(
            at, "caption")


def _first_screen(at) -> str:
    return "\n".join(words(at, "markdown", "caption", "text"))


@pytest.mark.parametrize("ref", sorted(VIEWER))
def test_the_first_screen_answers_did_it_work_and_is_it_safe(clinic_url, ref):
    """Each demo patient's first screen: the step against the one before with its verdict and
    interval, safety since the last visit, and the open flags by rule, safety first."""
    at = review(clinic_url, ref, VIEWER[ref])
    summary = summary_of(clinic_url, ref)
    screen = _first_screen(at)
    troche = [s for s in summary["steps"] if s["route"] == "troche"]
    if troche and troche[-1]["vs_previous"]:
        last, before = troche[-1], next(s for s in troche if s["step_id"] == troche[-1]["vs_previous"]["previous_step_id"])
        vs = last["vs_previous"]
        assert f"**{last['daily_dose_mg']:g} mg/day vs {before['daily_dose_mg']:g} mg/day: " in screen
        assert f"-badge[{vs['verdict']}]" in screen
        if vs["ci"]:
            low, high = (f"{v:+.1f}".replace("-", "−") for v in vs["ci"])
            assert f"({low} to {high})" in screen
        # v3: no verdict without its adherence; "not a fair test" exactly where a qualifier says so.
        mg_pct = last["adherence"]["mg_pct"]
        assert mg_pct is None or f"{int(mg_pct)} % of the prescribed mg taken" in screen
        assert ("not a fair test" in screen) is bool(vs["qualifiers"])
        assert ("an infusion on " in screen.lower()) is ("infusion_in_window" in vs["qualifiers"])
        assert ("less than the 1 point" in screen) is (vs["verdict"] == "better" and vs["clinically_important"] is False)
    safety = summary["safety_since_last_visit"]
    if safety["bp_days"]:
        assert f"highest {safety['max_systolic']:g}/{safety['max_diastolic']:g}" in screen
    else:
        assert "no reading since the last visit" in screen or "no reading recorded" in screen
    # v3: a "none" only where the diary covers the interval, and always with how much of it.
    cover = f"{safety['diary_days']} of {safety['days']} days"
    sparse = safety["coverage"] is None or safety["coverage"] < summary["thresholds"]["coverage_min_share"]
    silent = safety["bladder_days"] == 0
    assert (f"none reported on {cover}" in screen) is (silent and not sparse)
    assert (f"diary too sparse to say ({cover})" in screen) is (sparse and (silent or safety["severe_dissociation_days"] == 0
                                                                         or safety["over_prescribed_days"] == 0))
    assert "none reported**" not in screen and "none reported\n" not in screen  # never a bare none
    assert (f"severe on {safety['severe_dissociation_days']} day" in screen) is (safety["severe_dissociation_days"] > 0)
    liver = [lab for lab in safety["labs"] if lab["code"] in ("1742-6", "1920-8", "2324-2", "1975-2", "6768-6")]
    if liver:
        for lab in liver:
            assert f"{lab['value']:g} {lab['unit']} ({lab['times_upper_limit']:g} × upper limit" in screen
    else:
        assert "no liver tests since the last visit" in screen
    (flags_line,) = [m for m in words(at, "markdown") if m.startswith("OPEN FLAGS")]
    names = [c["name"] for c in summary["flag_counts"]]
    positions = [flags_line.index(name) for name in names]
    assert positions == sorted(positions)  # safety rules first, as the summary orders them
    for count in summary["flag_counts"]:
        if count["open"]:
            assert f"{count['name']} · {count['open']}" in flags_line
            # The NEW badge counts the new runs (issue 19: "Pain spike · 32 NEW" had 3 new).
            assert (f"{count['name']} · {count['open']} :orange-badge[{count['new']} NEW]" in flags_line) \
                is (count["new"] > 0)
    assert "bp_high" not in screen and "dissociation_severe" not in screen  # human names only


@pytest.mark.parametrize("days_ago", [0, 5])
def test_a_new_step_keeps_the_step_just_finished_answered(clinic_url, days_ago):
    """Issue 19: recording a new step at the visit (DEMO-004) lost the answer. The step just
    finished is still judged, and the new one says when it can be (review-metrics.md v3)."""
    before = summary_of(clinic_url, "DEMO-004")
    judged = [s for s in before["steps"] if s["route"] == "troche"][-1]
    start = TODAY - timedelta(days=days_ago)
    titration = f"patient_id,start_date,dose_mg,frequency,route\nDEMO-004,{start.isoformat()},125,daily,troche\n"
    assert import_file(titration.encode(), "new-step.csv", url=clinic_url, actor="test", fmt="titration").status \
        == "imported"
    st.cache_data.clear()
    after = summary_of(clinic_url, "DEMO-004")
    assert after["steps"][-1]["vs_previous"]["verdict"] == "too early to judge"
    assert after["last_judged_step"]["step_start"] == judged["start"]
    assert after["last_judged_step"]["vs_previous"]["verdict"] == judged["vs_previous"]["verdict"]
    ready = pd.Timestamp(after["current_step"]["judged_from"])
    assert ready == pd.Timestamp(start) + pd.Timedelta(days=after["thresholds"]["onset_days"]
                                                      + after["thresholds"]["min_response_days"] - 1)
    screen = _first_screen(review(clinic_url, "DEMO-004", VIEWER["DEMO-004"]))
    ready_words = f"{ready:%-d %b}" if ready.year == TODAY.year else f"{ready:%-d %b %Y}"
    assert f"125 mg/day since " in screen and f"too early to judge; can be judged from {ready_words}" in screen
    assert f"Step just finished: {judged['daily_dose_mg']:g} mg/day vs " in screen
    assert f"-badge[{judged['vs_previous']['verdict']}]" in screen
    assert "— points (no interval)" not in screen


def test_the_command_lines_summary_json_is_what_the_page_shows(clinic_url):
    at = review(clinic_url, "DEMO-001", "dr.rivera")
    result = cli(clinic_url, "summary", "DEMO-001", "--json", "--as", "dr.rivera")
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout)
    expected = expected_metrics(summary)
    assert {k: metrics(at)[k] for k in expected} == expected
    for key in ("safety_since_last_visit", "flag_counts", "review_period", "next_visit"):
        assert key in summary
    assert all({"daily_dose_mg", "response_r1", "response_n_eff", "vs_previous"} <= set(s) for s in summary["steps"])


def test_an_earlier_as_of_date_changes_the_numbers_as_the_summary_does(clinic_url):
    at = review(clinic_url, "DEMO-001", "dr.rivera")
    today = metrics(at)
    assert not at.warning  # today's page: no banner
    earlier = TODAY - timedelta(days=150)
    at.date_input(key="as_of").set_value(earlier).run()
    assert not at.exception
    # A banner says the page is not today's (issue 19), and one click brings today back.
    assert [w.value for w in at.warning] == [
        f"Review as of {earlier:%d %b %Y}, not today ({TODAY:%d %b %Y}): nothing after that date is shown or counted."]
    summary = summary_of(clinic_url, "DEMO-001", earlier)
    then, expected = metrics(at), expected_metrics(summary)
    assert {k: then[k] for k in expected} == expected
    assert then["Mean pain"] != today["Mean pain"]
    page = "\n".join(words(at, "text", "markdown", "caption"))
    for fragment in expected_texts(summary):
        assert fragment in page, fragment
    at.button(key="as_of_today").click().run()
    assert at.date_input(key="as_of").value == TODAY and not at.warning and metrics(at) == today


def _shaded(at) -> list[tuple[str, str]]:
    shapes = charts(at)["timeline_chart"]["layout"].get("shapes", [])
    return sorted({(s["x0"][:10], s["x1"][:10]) for s in shapes if s.get("fillcolor") == YELLOW})


def _select_flag(at, row: int, rule: str | None = None):
    """AppTest cannot click a table row: the selection is set through the table's key, as the browser sends it."""
    tables = [d for d in at.dataframe if d.key and d.key.startswith(FLAG_TABLE_KEY)
              and (rule is None or d.key.startswith(f"{FLAG_TABLE_KEY}_{rule}_"))]
    table = tables[0]
    at.session_state[table.key] = {"selection": {"rows": [row], "columns": [], "cells": []}}
    return table.value


def test_selecting_a_flag_row_marks_it_on_the_timeline(clinic_url):
    at = review(clinic_url, "DEMO-004", "dr.rivera")
    assert _shaded(at) == []
    table = _select_flag(at, 1, "bp_high")
    assert list(table.columns) == ["From", "To", "What happened", "New", "Acknowledged", "True start"]
    at.run()
    assert not at.exception
    start, end = pd.Timestamp(table["From"][1]), pd.Timestamp(table["To"][1])
    (shaded,) = _shaded(at)
    # The band covers the flag's days, widened to stay visible on a long axis.
    assert shaded[0] <= (start - pd.Timedelta(days=1)).strftime("%Y-%m-%d") and shaded[1] >= end.strftime("%Y-%m-%d")


def test_flags_are_grouped_by_rule_with_human_names_safety_first(clinic_url):
    at = review(clinic_url, "DEMO-004", "dr.rivera")
    labels = [e.label for e in at.expander
              if e.label not in ("Record a step or visit", "Patient upload link")]  # the flags
    summary = summary_of(clinic_url, "DEMO-004")
    assert [label.split(" (")[0] for label in labels] == [c["name"] for c in summary["flag_counts"]]
    assert labels[0].startswith("High blood pressure (safety) — ")
    assert all("_" not in label for label in labels)


def test_acknowledging_a_flag_writes_one_audit_row_and_stops_counting_it_as_open(clinic_url):
    at = review(clinic_url, "DEMO-004", "dr.rivera")
    before_counts = {c["rule"]: c["open"] for c in summary_of(clinic_url, "DEMO-004")["flag_counts"]}
    before = last_audit_id(clinic_url)
    at.selectbox(key="ack_run_bp_high").select_index(0)
    at.text_input(key="ack_note_bp_high").input("BP rechecked in clinic: 132/84")
    (submit,) = [b for b in at.button if "Acknowledge" in (b.label or "") and b.key and "ack_bp_high" in b.key]
    submit.click().run()
    assert not at.exception and not at.error
    rows = audit_rows(clinic_url, before)
    acks = [r for r in rows if r[1] == "acknowledge_flag"]
    assert [r[:4] for r in acks] == [("dr.rivera", "acknowledge_flag", "ok", patient_id(clinic_url, "DEMO-004"))]
    assert json.loads(acks[0][4])["note"] == "BP rechecked in clinic: 132/84"
    after = summary_of(clinic_url, "DEMO-004")
    assert {c["rule"]: c["open"] for c in after["flag_counts"]}["bp_high"] == before_counts["bp_high"] - 1
    acknowledged = [f for f in after["flags"] if f["acknowledged"]]
    assert len(acknowledged) == 1 and acknowledged[0]["acknowledged_by"] == "Dr. Ana Rivera"
    # The page shows it at once: the run's row names who acknowledged it.
    table = _select_flag(at, 0, "bp_high")
    assert any("Dr. Ana Rivera" in cell and "132/84" in cell for cell in table["Acknowledged"])


def test_a_selected_flag_is_forgotten_when_the_date_changes_the_flags(clinic_url):
    at = review(clinic_url, "DEMO-001", "dr.rivera")
    table = _select_flag(at, 0, "pain_spike")
    at.run()
    assert _shaded(at) != []
    # Fewer flags a year ago: row 0 is another flag, and the last row of today's table does not exist.
    at.date_input(key="as_of").set_value(TODAY - timedelta(days=300)).run()
    assert not at.exception and _shaded(at) == []
    _select_flag(at, len(table) - 1)
    at.run()
    assert not at.exception


# --------------------------------------------------------------------------- small clinics: empty states

def _diary(ref: str, first_days_ago: int, last_days_ago: int, pain: float = 6, notes: dict | None = None) -> bytes:
    lines = ["patient_id,date,pain,mood,notes"]
    for ago in range(first_days_ago, last_days_ago - 1, -1):
        note = (notes or {}).get(ago, "")
        lines.append(f'{ref},{_iso(ago)}T20:00,{pain if ago > 20 else pain - 2},5,"{note}"')
    return ("\n".join(lines) + "\n").encode()


def _titration(ref: str, *starts: tuple[int, float], note: str = "") -> bytes:
    rows = [f"{ref},{_iso(ago)},{dose},daily,troche,{note}" for ago, dose in starts]
    return ("patient_id,start_date,dose_mg,frequency,route,note\n" + "\n".join(rows) + "\n").encode()


def _visits(ref: str, *agos: int) -> bytes:
    rows = [f"{ref},{_iso(ago)},in person," for ago in agos]
    return ("patient_id,date,kind,note\n" + "\n".join(rows) + "\n").encode()


def _ketamine_requests(ref: str) -> bytes:
    def request(ident: str, ago: int, dose: float) -> dict:
        return {"resource": {
            "resourceType": "MedicationRequest", "id": ident, "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
                                                      "code": "6130", "display": "ketamine"}]},
            "subject": {"reference": f"Patient/{ref}"}, "authoredOn": _iso(ago),
            "dosageInstruction": [{"route": {"text": "sublingual"},
                                   "doseAndRate": [{"doseQuantity": {"value": dose, "unit": "mg", "code": "mg"}}],
                                   "timing": {"repeat": {"frequency": 1, "period": 1, "periodUnit": "d"}}}]}}

    bundle = {"resourceType": "Bundle", "type": "collection",
              "entry": [request("ket-a", 10, 50), request("ket-b", 5, 75)]}
    return json.dumps(bundle).encode()


FILES = [
    ("no-diary-titration.csv", _titration("NODIARY", (20, 25))),
    ("no-steps-diary.csv", _diary("NOSTEPS", 40, 1)),
    ("no-steps-visits.csv", _visits("NOSTEPS", 30, 10)),
    ("no-visits-diary.csv", _diary("NOVISITS", 40, 1)),
    ("no-visits-titration.csv", _titration("NOVISITS", (25, 25))),
    # The diary starts after the first step: the 14 days before it hold no pain at all.
    ("no-baseline-diary.csv", _diary("NOBASE", 30, 1, notes={2: MARKUP_NOTE})),
    ("no-baseline-titration.csv", _titration("NOBASE", (40, 25), (20, 50))),
    ("no-baseline-visits.csv", _visits("NOBASE", 40, 20, 5)),
    ("full-diary.csv", _diary("FULL", 50, 1)),
    # A note on the clinic's step, none on the proposals: a missing note must not show as "nan".
    ("full-titration.csv", _titration("FULL", (30, 25), note="start low")),
    ("full-visits.csv", _visits("FULL", 30, 15)),
    ("full-prescriptions.json", _ketamine_requests("FULL")),
]


@pytest.fixture
def small_clinic(sqlite_url, monkeypatch) -> str:
    """A fresh clinic built by importing small native files, all its patients shared with dr.test."""
    for name, raw in FILES:
        # The FHIR file knows FULL only by its resource id, which never joins a stored patient on its
        # own (import-formats.md v3): the user names the patient, as on the import page.
        named = {"patient_ref": "FULL"} if name.endswith(".json") else {}
        report = import_file(raw, name, url=sqlite_url, actor="test", **named)
        assert report.status == "imported", (name, report.message, report.refused_rows)
    with session_scope(sqlite_url) as session:
        add_user(session, username="dr.test", display_name="Dr. Test", role="clinician", password=None)
        for ref in ("NODIARY", "NOSTEPS", "NOVISITS", "NOBASE", "FULL"):
            share(session, username="dr.test", patient_ref=ref)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    monkeypatch.delenv("DASHBOARD_DEMO", raising=False)
    st.cache_data.clear()
    yield sqlite_url
    st.cache_data.clear()


@pytest.mark.parametrize(("ref", "message", "kind", "shown"), [
    ("NODIARY", "No diary entries yet (up to this date). Import the patient's diary on the Import page.", "info",
     {"Current step": "25 mg/day"}),
    ("NOSTEPS", "No titration recorded: add the prescribed steps (titration CSV) to see the response to each step.",
     "info", {"Current step": "none", "Change from baseline": "—", "Responder": "—"}),
    ("NOVISITS", "No visits recorded: the comparison across visits starts with the first visit.", "info",
     {"Current step": "25 mg/day"}),
    ("NOBASE", "Baseline missing: only 0 diary day(s) with pain in the 14 days before the first troche step "
               "(at least 3 needed); changes from baseline are not shown.", "text",
     {"Current step": "50 mg/day", "Change from baseline": "—", "Change from baseline (%)": "—", "Responder": "—"}),
])
def test_each_empty_state_says_what_is_missing(small_clinic, ref, message, kind, shown):
    at = review(small_clinic, ref)
    assert any(message in w for w in words(at, kind))
    assert {k: metrics(at).get(k) for k in shown} == shown
    summary = summary_of(small_clinic, ref)
    expected = expected_metrics(summary)
    assert {k: metrics(at)[k] for k in expected} == expected
    page = "\n".join(words(at, "text", "markdown", "caption"))
    for fragment in expected_texts(summary):
        assert fragment in page, fragment
    assert "None" not in page and "nan" not in page


def test_a_patient_without_a_diary_draws_no_chart(small_clinic):
    at = review(small_clinic, "NODIARY")
    assert charts(at) == {} and "No titration recorded" not in words(at, "caption")
    assert "Since the last visit" not in words(at, "subheader")
    assert "Co-medication history" in words(at, "subheader")


def test_a_patient_without_titration_or_visits_keeps_the_rest_of_the_review(small_clinic):
    no_steps, no_visits = review(small_clinic, "NOSTEPS"), review(small_clinic, "NOVISITS")
    assert any(t.startswith("No titration recorded") for t in words(no_steps, "text"))
    assert any("No baseline: no troche step is recorded, so changes from baseline are not shown." in t
               for t in words(no_steps, "text"))
    assert set(charts(no_steps)) == {"timeline_chart", "overlay_chart"}
    assert "No visits recorded to align on." in words(no_visits, "caption")
    baseline = summary_of(small_clinic, "NOVISITS")["baseline"]
    assert any(f"baseline pain {baseline['mean_pain']:.1f} (" in t for t in words(no_visits, "text"))
    assert set(charts(no_visits)) == {"timeline_chart"}
    assert "All notes" in words(no_visits, "caption")


def test_notes_are_shown_as_text_never_as_markdown(small_clinic):
    at = review(small_clinic, "NOBASE")
    notes = [d.value for d in at.dataframe if "Note" in d.value.columns]
    assert len(notes) == 1 and list(notes[0]["Note"]) == [MARKUP_NOTE]
    assert list(notes[0].columns) == ["Written", "Note", "Other medication"]
    assert "None" not in notes[0].to_string() and "nan" not in notes[0].to_string()
    rendered = words(at, "markdown", "caption", "info", "warning", "error", "success", "header", "subheader", "text")
    assert [w for w in rendered if "bold" in w or "<b>" in w or "http://x" in w] == []


def test_a_note_search_finds_regex_characters_as_plain_text(small_clinic):
    at = review(small_clinic, "NOBASE")
    at.text_input(key="notes_search").input("[link](").run()
    assert not at.exception and "Matching notes" in words(at, "caption")
    notes = [d.value for d in at.dataframe if "Note" in d.value.columns]
    assert list(notes[0]["Note"]) == [MARKUP_NOTE]


# --------------------------------------------------------------------------- proposed steps

def _proposed(url: str) -> dict[str, tuple[int, str]]:
    with session_scope(url) as session:
        rows = session.execute(select(TitrationStep.id, TitrationStep.dose_mg, TitrationStep.status)
                               .where(TitrationStep.patient_id == patient_id(url, "FULL"))).all()
    return {f"{dose:g}": (step_id, status) for step_id, dose, status in rows}


@pytest.mark.parametrize(("dose", "button", "status"), [("50", "accept", "active"), ("75", "reject", "rejected")])
def test_deciding_a_proposed_step_changes_it_and_writes_one_audit_row(small_clinic, dose, button, status):
    steps = _proposed(small_clinic)
    step_id = steps[dose][0]
    assert {d: s for d, (_, s) in steps.items()} == {"25": "active", "50": "proposed", "75": "proposed"}
    at = review(small_clinic, "FULL")
    assert "Proposed steps awaiting review" in words(at, "subheader")
    assert any(text.endswith(f": {dose} mg, daily, troche") for text in words(at, "text"))
    before = last_audit_id(small_clinic)
    at.button(key=f"{button}_{step_id}").click().run()
    if button == "accept":  # through the step form, prefilled with the proposal, then confirmed
        assert _proposed(small_clinic)[dose] == (step_id, "proposed") and not audit_rows(small_clinic, before)
        assert at.number_input(key=f"accepting_{step_id}_dose").value == float(dose)
        at.button(key=f"accepting_{step_id}_check").click().run()
        assert not at.exception and not at.error
        assert any("Accepted step on the timeline" in m for m in words(at, "markdown"))
        at.button(key="record_save").click().run()
    assert not at.exception and not at.error
    assert _proposed(small_clinic)[dose] == (step_id, status)
    rows = audit_rows(small_clinic, before)
    assert [r[:4] for r in rows] == [("dr.test", "record_change", "ok", patient_id(small_clinic, "FULL"))]
    detail = json.loads(rows[0][4])
    if button == "accept":
        assert (detail["titration_step"], detail["old"]["status"], detail["new"]["status"]) == (step_id, "proposed",
                                                                                              "active")
    else:
        assert (detail["titration_step"], detail["decision"]) == (step_id, status)
    # Decided: its buttons are gone, the other proposal still waits.
    assert f"{button}_{step_id}" not in [b.key for b in at.button]
    assert len([b for b in at.button if b.key and b.key.startswith("accept_")]) == 1
    counted = summary_of(small_clinic, "FULL")["steps"]
    assert (float(dose) in [s["dose_mg"] for s in counted]) is (status == "active")


# --------------------------------------------------------------------------- a patient from FHIR

def test_a_patient_imported_from_fhir_shows_like_any_other(sqlite_url, monkeypatch, shared_dir):
    """Synthea's Bradly Douglas: 40 pain scores and opioid prescriptions, from a FHIR bundle alone."""
    bundle = next((shared_dir / "data/real/synthea_r4").glob("Bradly_Douglas_*.json"))
    report = import_file(bundle.read_bytes(), bundle.name, url=sqlite_url, actor="test")
    assert report.status == "imported" and report.entries_added == 40
    (ref,) = report.patients
    with session_scope(sqlite_url) as session:
        add_user(session, username="dr.test", display_name="Dr. Test", role="clinician", password=None)
        share(session, username="dr.test", patient_ref=ref)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    at = review(sqlite_url, ref)
    assert "Bradly" in words(at, "text")[0] and "Douglas" in words(at, "text")[0]
    assert "timeline_chart" in charts(at)
    comedications = [d.value for d in at.dataframe if "Medication" in d.value.columns]
    assert list(comedications[0].columns) == ["Medication", "Kind", "Started", "Stopped", "Status", "Dose", "Source"]
    assert (comedications[0]["Kind"] == "opioid (sedative)").sum() == 34
    assert "None" not in comedications[0].to_string().split() and "nan" not in comedications[0].to_string().split()
    assert any(e.label.startswith("Opioid or benzodiazepine (safety)") for e in at.expander)
    st.cache_data.clear()


def test_a_co_medication_started_in_a_month_shows_that_month(sqlite_url, monkeypatch, shared_dir):
    """import-formats.md v3: HL7 IPS's minimal bundle starts anastrozole in "2015-03", shown as
    "Mar 2015" (never as a made-up 01 Mar 2015)."""
    path = shared_dir / "data/real/fhir_more/ips_bundle-minimal.json"
    report = import_file(path.read_bytes(), path.name, url=sqlite_url, actor="test")
    assert report.status == "imported" and report.records_added == {"co_medications": 1}
    (ref,) = report.patients
    with session_scope(sqlite_url) as session:
        add_user(session, username="dr.test", display_name="Dr. Test", role="clinician", password=None)
        share(session, username="dr.test", patient_ref=ref)
    monkeypatch.setenv("DASHBOARD_DATABASE_URL", sqlite_url)
    st.cache_data.clear()
    at = review(sqlite_url, ref)
    (table,) = [d.value for d in at.dataframe if "Medication" in d.value.columns]
    assert table[["Medication", "Started"]].values.tolist() == [
        ["Product containing anastrozole (medicinal product)", "Mar 2015"]]
    st.cache_data.clear()


def test_deciding_a_step_after_the_share_was_withdrawn_is_refused_and_audited(small_clinic):
    from dashboard.auth.accounts import unshare
    from dashboard.loaders import decide_proposed_step, open_patient

    user = account(small_clinic, "dr.test")
    step_id, status = _proposed(small_clinic)["50"]
    patient = open_patient(user, "FULL")
    with session_scope(small_clinic) as session:
        unshare(session, username="dr.test", patient_ref="FULL")
    before = last_audit_id(small_clinic)
    with pytest.raises(PermissionError, match="no longer shared"):
        decide_proposed_step(user, patient, step_id, True)
    assert [r[1:3] for r in audit_rows(small_clinic, before)] == [("record_change", "denied")]
    assert _proposed(small_clinic)["50"] == (step_id, status) == (step_id, "proposed")


@pytest.mark.parametrize("ref", ["DEMO-009", "DEMO-001"])
def test_co_medication_is_one_line_per_drug(clinic_url, ref):
    """review-metrics.md v3: the records and diary mentions of one ingredient are one line, as in summary --json."""
    at = review(clinic_url, ref, VIEWER[ref])
    summary = summary_of(clinic_url, ref)
    tables = [d.value for d in at.dataframe if "Drug" in d.value.columns]
    if not summary["co_medications"]:
        assert tables == [] and "No co-medication recorded or written in the diary." in _first_screen(at)
        return
    (table,) = tables
    assert list(table["Drug"]) == [line["ingredient"] for line in summary["co_medications"]]
    assert table["Drug"].is_unique
    assert list(table["Latest dose"].fillna("")) == [line["dose_text"] or "" for line in summary["co_medications"]]
