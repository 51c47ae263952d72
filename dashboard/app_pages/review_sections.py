"""The review page's sections, top to bottom. Widgets only: numbers come from the Review model.

Labels are fixed strings; patient- or file-derived text goes through st.text or
st.dataframe, which render it as text.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from dashboard.analysis.review import Review, patient_notes
from dashboard.charts.overlay import visit_overlay
from dashboard.charts.side_effects import side_effects_by_step
from dashboard.charts.timeline import timeline as timeline_figure
from dashboard.config import Thresholds

def responder_words(limits: dict) -> dict:
    """Each responder category in words, with the clinic's own cut-offs (Farrar 2001; IMMPACT 2008)."""
    return {
        "substantial": f"substantial (≥ {limits['responder_substantial_pct']:g} % less pain)",
        "moderate": f"moderate (≥ {limits['responder_moderate_pct']:g} %)",
        "minimal": f"minimal (≥ {limits['responder_minimal_pct']:g} %)",
        "none": "no meaningful change",
        "worse": f"worse (≥ {limits['worse_pct']:g} % more pain)",
        None: "not judged (no baseline)",
    }


FLAG_TABLE_KEY = "flag_table"
FLAG_WORDS = {
    "bp_high": "High blood pressure",
    "bladder": "Bladder / urinary symptoms",
    "dissociation_severe": "Severe dissociation",
    "over_prescribed": "More taken than prescribed",
    "co_sedative": "Opioid or benzodiazepine",
    "pain_spike": "Pain spike",
    "low_mood": "Low mood run",
    "diary_gap": "Diary gap",
    "no_benefit_escalation": "Dose raised without benefit",
}


def _as_dates(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Calendar dates without a time of day, as a clinician reads them."""
    return table.assign(**{c: table[c].dt.date for c in columns})


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Two decimals for the numbers on screen; dates and labels untouched."""
    return table.round({c: 2 for c in table.select_dtypes("number").columns})


def _num(value, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}{unit}"


def _date(value) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d %b %Y")


def header(patient, review: Review, imports: pd.DataFrame, as_of: date) -> None:
    summary = review.summary
    born = f", born {patient.birth_year}" if patient.birth_year else ""
    condition = patient.condition or "condition not recorded"
    st.text(f"{patient.name or 'Name not recorded'} · {patient.ref}{born} · {condition}")
    step = summary["current_step"]
    cols = st.columns(5)
    if step:
        cols[0].metric("Current step", f"{step['dose_mg']:g} mg", help="Dose, frequency and route of the running step")
        cols[0].caption(f"{step['frequency']}, {step['route']}, since {_date(step['start'])}")
    else:
        cols[0].metric("Current step", "none")
        cols[0].caption("No titration recorded" if review.steps.empty else "No step running on this date")
    cols[1].metric("Days on treatment", "—" if review.treatment_days is None else review.treatment_days)
    last = summary["last_visit"]
    cols[2].metric("Last visit", f"{last['days_since']} d ago" if last else "none")
    if last:
        cols[2].caption(f"{_date(last['date'])}, {last['kind']}")
    nxt = review.next_visit
    cols[3].metric("Next visit", _date(nxt["date"])[:6] if nxt else "—")
    cols[3].caption(f"{_date(nxt['date'])}, {nxt['kind']}" if nxt else "not booked")
    done = summary["completeness_last_30_days"]
    share = done.get("completeness") if done else None
    cols[4].metric("Diary, last 30 days", "—" if share is None else f"{share:.0%}")
    if done:
        cols[4].caption(f"{done.get('diary_days', 0)} of {done.get('days', 30)} days with an entry")
    if imports.empty:
        st.caption("Data source: no imports recorded for this patient.")
    else:
        formats = ", ".join(sorted(set(imports["format"])))
        st.caption(f"Data source: {len(imports)} import(s) ({formats}); last on {_date(imports['imported_at'].max())}. "
                   f"Reviewed as of {_date(as_of)}.")


def since_last_visit(review: Review) -> None:
    st.subheader("Since the last visit")
    intervals = review.summary["visit_intervals"]
    if not intervals:
        st.info("No visits recorded: the comparison across visits starts with the first visit.")
        st.caption(baseline_words(review.summary))
        return
    latest = intervals[-1]
    previous = intervals[-2] if len(intervals) > 1 else None
    limits = review.summary["thresholds"]
    cols = st.columns(5)
    delta = None
    if previous and latest["mean_pain"] is not None and previous["mean_pain"] is not None:
        delta = round(latest["mean_pain"] - previous["mean_pain"], 1)
    cols[0].metric("Mean pain", _num(latest["mean_pain"]), delta=delta, delta_color="inverse",
                   help="Mean of daily pain (0-10) since the last visit; the arrow compares with the interval before")
    cols[1].metric("Change from baseline", _num(latest["change_from_baseline"], " pts"),
                   help=f"Negative is less pain. Missing when the baseline has fewer than "
                        f"{limits['min_baseline_diary_days']} diary days with pain.")
    cols[2].metric("Change from baseline (%)", _num(latest["change_from_baseline_pct"], " %", 0))
    cols[3].metric("Responder", latest["responder"] or "—",
                   help=f"Farrar 2001; IMMPACT 2008: ≥ {limits['responder_moderate_pct']:g} % moderately, "
                        f"≥ {limits['responder_substantial_pct']:g} % substantially important (clinic settings)")
    cols[3].caption(responder_words(limits).get(latest["responder"], ""))
    cols[4].metric("Diary days", f"{latest['diary_days']} / {latest['days']}")
    st.caption(baseline_words(review.summary))


def baseline_words(summary: dict) -> str:
    """What the baseline is, or why there is none, in the clinic's own settings."""
    base, limits = summary["baseline"], summary["thresholds"]
    if base["start"] is None:
        return "No baseline: no troche step is recorded, so changes from baseline are not shown."
    if base["missing"]:
        return (f"Baseline missing: only {base['pain_days']} diary day(s) with pain in the {limits['baseline_days']} "
                f"days before the first troche step (at least {limits['min_baseline_diary_days']} needed); "
                "changes from baseline are not shown.")
    return (f"Baseline {_num(base['mean_pain'])} ({_date(base['start'])} – {_date(base['end'])}, "
            f"{base['diary_days']} diary days).")


def flags(review: Review) -> tuple[date, date] | None:
    """Flags for review, one row per run; selecting a row shades it on the timeline."""
    st.subheader("Flags for review")
    table = review.flags
    if table.empty:
        st.caption("No flag rule fired up to this date.")
        return None
    counts = table["rule"].map(FLAG_WORDS).fillna(table["rule"]).value_counts()
    st.caption(" · ".join(f"{name}: {n}" for name, n in counts.items()) + ". Select a row to see it on the timeline.")
    shown = table.assign(flag=table["rule"].map(FLAG_WORDS).fillna(table["rule"]),
                         start=table["start"].dt.date, end=table["end"].dt.date)
    shown = shown.sort_values("start", ascending=False).reset_index(drop=True)
    shown = shown[["flag", "rule", "start", "end", "detail"]]
    # A selection is a row number: keyed by the table's content, it is forgotten when another
    # patient, date or threshold changes the rows, instead of shading some other flag.
    digest = hashlib.sha256(shown.to_csv(index=False).encode()).hexdigest()[:12]
    picked = st.dataframe(shown, hide_index=True, height=220, on_select="rerun", selection_mode="single-row",
                          key=f"{FLAG_TABLE_KEY}_{digest}")
    rows = picked.selection.rows if picked else []
    if not rows or rows[0] >= len(shown):
        return None
    row = shown.iloc[rows[0]]
    return row["start"], row["end"]


def timeline(review: Review, visits: pd.DataFrame, limits: Thresholds, highlight, as_of: date) -> None:
    st.subheader("Timeline")
    shown_visits = visits[visits["date"] <= pd.Timestamp(as_of)]
    fig = timeline_figure(
        review.daily, review.steps, shown_visits, review.side_effect_days, review.flags,
        baseline=review.summary["baseline"]["mean_pain"], bp_limits=(limits.bp_systolic_high, limits.bp_diastolic_high),
        gaps=review.gaps, highlight=highlight,
        relief_pct=(limits.responder_moderate_pct, limits.responder_substantial_pct),
    )
    st.plotly_chart(fig, theme=None, key="timeline_chart")


def visit_comparison(review: Review) -> None:
    st.subheader("Visit by visit")
    table = review.visit_table
    if table.empty:
        st.caption("No baseline or visits to compare.")
        return
    cols = ["period", "start", "end", "days", "diary_days", "completeness", "mean_pain", "change_from_baseline",
            "change_from_baseline_pct", "responder", "mean_sleep", "mean_mood", "mean_function"]
    shown = _as_dates(table[[c for c in cols if c in table.columns]], "start", "end")
    st.dataframe(_rounded(shown), hide_index=True, column_config={"completeness": st.column_config.ProgressColumn(
        "completeness", min_value=0.0, max_value=1.0, format="percent")})


def step_response(review: Review) -> None:
    st.subheader("Response to each titration step")
    table = review.step_table
    if table.empty:
        st.info("No titration recorded: add the prescribed steps (titration CSV) to see the response to each step.")
        return
    cols = ["start", "end", "dose_mg", "frequency", "route", "window_start", "window_end", "response_pain", "ci_low",
            "ci_high", "response_change_pct", "responder", "early"]
    shown = _as_dates(table[cols], "start", "end", "window_start", "window_end")
    limits = review.summary["thresholds"]
    early = (f"Fewer than {limits['min_response_days']} days after the {limits['onset_days']}-day onset period: "
             f"judged on its last {limits['min_response_days']} days")
    st.dataframe(_rounded(shown), hide_index=True, column_config={
        "early": st.column_config.CheckboxColumn("early", help=early),
        "ci_low": "95 % CI low", "ci_high": "95 % CI high"})
    led, effective = review.summary["lowest_effective_dose"], limits["effective_category"]
    if led:
        st.info(f"Pointer for your judgement, not a prescription: the lowest dose step that reached a {effective} "
                f"response without frequent severe side effects is {led['dose_mg']:g} mg "
                f"(from {_date(led['step_start'])}).")
    else:
        st.caption(f"No step has yet reached a {effective} response without frequent severe side effects.")


def overlay(review: Review) -> None:
    st.subheader("Pain after each visit")
    if review.aligned.empty:
        st.caption("No visits recorded to align on.")
        return
    st.plotly_chart(visit_overlay(review.aligned), theme=None, key="overlay_chart")


def effects_by_step(review: Review) -> None:
    st.subheader("Side effects by dose step")
    if review.effects_by_step.empty:
        st.caption("No side effects recorded on any troche step.")
        return
    st.plotly_chart(side_effects_by_step(review.effects_by_step), theme=None, key="effects_chart")


def notes(review: Review, as_of: date) -> None:
    st.subheader("In the patient's words")
    last = review.summary["last_visit"]
    search = st.text_input("Search all notes", key="notes_search", placeholder="e.g. flare, bladder, sleep")
    since = None if search or not last else pd.Timestamp(last["date"]).date()
    table = patient_notes(review.notes, as_of, since=since, search=search)
    st.caption("Matching notes" if search else "Notes since the last visit" if last else "All notes")
    if table.empty:
        st.caption("No notes.")
        return
    shown = table.assign(recorded_at=table["recorded_at"].dt.strftime("%Y-%m-%d %H:%M"))
    st.dataframe(shown[["recorded_at", "notes", "other_medication"]], hide_index=True, key="notes_table")


def comedications(table: pd.DataFrame) -> None:
    st.subheader("Co-medication history")
    if table.empty:
        st.caption("No co-medication recorded.")
        return
    shown = _as_dates(table, "start_date", "end_date")
    columns = ["name", "drug_class", "start_date", "end_date", "status", "dose_text", "source"]
    st.dataframe(shown[columns], hide_index=True)


def proposed_steps(table: pd.DataFrame, decide) -> None:
    """Steps read from imported prescriptions; they count only once a clinician accepts them."""
    proposed = table[table["status"] == "proposed"]
    if proposed.empty:
        return
    st.subheader("Proposed steps awaiting review")
    st.caption("Read from imported prescriptions (FHIR MedicationRequest). "
               "They count in the review only once accepted.")
    for step in proposed.itertuples():
        cols = st.columns([4, 1, 1])
        # A missing note is NaN when other steps have one, and NaN is truthy: test for presence.
        note = f" ({step.note})" if pd.notna(step.note) and step.note else ""
        cols[0].text(f"{step.start_date:%d %b %Y}: {step.dose_mg:g} mg, {step.frequency}, {step.route}{note}")
        if cols[1].button("Accept", key=f"accept_{step.step_id}"):
            decide(step.step_id, True)
        if cols[2].button("Reject", key=f"reject_{step.step_id}"):
            decide(step.step_id, False)
