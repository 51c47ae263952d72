"""The review page's sections below the first screen (``review_first_screen``), top to bottom.
Widgets only: numbers come from the Review model.

Labels are fixed strings; patient- or file-derived text goes through st.text or
st.dataframe, which render it as text.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.analysis import review_tables
from dashboard.analysis import review_words as words
from dashboard.analysis.measures import charted, listed
from dashboard.analysis.note import clinical_note
from dashboard.analysis.review import Review
from dashboard.analysis.review_frames import mg_per_day, patient_notes
from dashboard.analysis.review_words import baseline_words, responder_words
from dashboard.app_pages.display import blank_missing, fitted_widths
from dashboard.charts.measures import left_labels, measures_figure
from dashboard.charts.overlay import visit_overlay
from dashboard.charts.side_effects import side_effects_by_step
from dashboard.charts.timeline import review_timeline

FLAG_TABLE_KEY = "flag_table"
WRITTEN_PX = 140  # "06 Dec 2026 19:09" in full
_num, _pct, _date, _plural = words.num, words.pct, words.long_date, words.plural


def since_last_visit(review: Review) -> None:
    st.subheader("Since the last visit")
    intervals = review.visit_intervals
    if not intervals:
        st.info("No visits recorded: the comparison across visits starts with the first visit.")
        st.caption(baseline_words(review))
        return
    latest = intervals[-1]
    previous = intervals[-2] if len(intervals) > 1 else None
    limits = review.thresholds
    cols = st.columns(5)
    delta = None
    if previous and latest.mean_pain is not None and previous.mean_pain is not None:
        delta = round(latest.mean_pain - previous.mean_pain, 1)
    cols[0].metric("Mean pain", _num(latest.mean_pain), delta=delta, delta_color="inverse",
                   help="Mean of daily pain (0-10) since the last visit; the arrow compares with the interval before")
    cols[1].metric("Change from baseline", _num(latest.change_from_baseline, " pts"),
                   help=f"Negative is less pain. Missing when the baseline has fewer than "
                        f"{limits.min_baseline_diary_days} diary days with pain.")
    cols[2].metric("Change from baseline (%)", _pct(latest.change_from_baseline_pct),
                   help="Truncated toward zero, so a shown figure never reaches a cut-off it did not reach.")
    cols[3].metric("Responder", latest.responder or "—",
                   help=f"Farrar 2001; IMMPACT 2008: ≥ {limits.responder_moderate_pct:g} % moderately, "
                        f"≥ {limits.responder_substantial_pct:g} % substantially important (clinic settings)")
    cols[3].caption(responder_words(limits).get(latest.responder, ""))
    cols[4].metric("Diary days", f"{latest.diary_days} / {latest.days}")


def flags(review: Review, acknowledge) -> tuple[date, date] | None:
    """Flags for review grouped by rule, safety first; each rule opens to its runs. Selecting a
    run marks it on the timeline; an open run can be acknowledged with a note."""
    st.subheader("Flags for review")
    table = review.flags
    if table.empty:
        st.caption("No flag rule fired up to this date.")
        return None
    st.caption("Select a run to mark it on the timeline. Acknowledged flags stay listed but no longer count as open.")
    highlight = None
    for row in review.flag_counts.itertuples(index=False):
        runs = table[table["rule"] == row.rule].sort_values("start", ascending=False).reset_index(drop=True)
        status = [f"{_plural(row.runs, 'run')}", f"last {_date(row.last)}"]
        if row.new:
            status.append(f"{row.new} new")
        if row.acknowledged:
            status.append(f"{row.acknowledged} acknowledged")
        kind = "safety" if row.safety else "course"
        with st.expander(f"{row.name} ({kind}) — {', '.join(status)}", expanded=False):
            picked = _runs_table(row.rule, runs)
            if picked is not None and highlight is None:
                highlight = picked
            _acknowledge_form(row.rule, runs, acknowledge)
    return highlight


def _runs_table(rule: str, runs: pd.DataFrame) -> tuple[date, date] | None:
    shown = pd.DataFrame({
        "From": runs["shown_start"].dt.date, "To": runs["shown_end"].dt.date,
        "What happened": runs["detail"],
        "New": runs["new"],
        "Acknowledged": [f"{by}, {at:%d %b %Y}: {note}" if ok else ""
                         for ok, by, at, note in zip(runs["acknowledged"], runs["acknowledged_by"],
                                                     runs["acknowledged_at"], runs["acknowledgement_note"])],
        "True start": runs["start"].dt.date,
    })
    # A selection is a row number: keyed by the table's content, it is forgotten when another
    # patient, date or acknowledgement changes the rows, instead of marking some other flag.
    digest = hashlib.sha256(shown.to_csv(index=False).encode()).hexdigest()[:12]
    picked = st.dataframe(shown, hide_index=True, on_select="rerun", selection_mode="single-row",
                          key=f"{FLAG_TABLE_KEY}_{rule}_{digest}", height=min(38 + 35 * len(shown), 250),
                          column_config={"What happened": st.column_config.TextColumn(width="large"),
                                         "New": st.column_config.CheckboxColumn(help="Since the last visit")})
    rows = picked.selection.rows if picked else []
    if not rows or rows[0] >= len(shown):
        return None
    return runs["shown_start"][rows[0]].date(), runs["shown_end"][rows[0]].date()


def _acknowledge_form(rule: str, runs: pd.DataFrame, acknowledge) -> None:
    open_runs = runs[~runs["acknowledged"]]
    if open_runs.empty:
        return
    with st.form(key=f"ack_{rule}", clear_on_submit=True, border=False):
        cols = st.columns([2, 3, 1], vertical_alignment="bottom")
        labels = {f"{_date(r.start)} – {_date(r.end)}" + (" (new)" if r.new else ""): i
                  for i, r in zip(open_runs.index, open_runs.itertuples())}
        picked = cols[0].selectbox("Run", list(labels), key=f"ack_run_{rule}")
        note = cols[1].text_input("Note", key=f"ack_note_{rule}", max_chars=2000,
                                  placeholder="e.g. discussed at visit, BP rechecked in clinic")
        if cols[2].form_submit_button("Acknowledge"):
            run = open_runs.loc[labels[picked]]
            acknowledge(rule, run["start"].date(), run["end"].date(), note)


def timeline(review: Review, visits: pd.DataFrame, highlight, as_of: date):
    fig = loaders.figure(review, ("timeline", highlight), lambda: review_timeline(review, visits, highlight=highlight))
    st.plotly_chart(fig, theme=None, key="timeline_chart", config={"displaylogo": False})
    return fig


def for_the_record(review: Review, make_report) -> None:
    """The pre-visit report (PDF, drawn only when asked for) and the note to paste into the record."""
    st.subheader("For the record")
    ref = "".join(ch if ch.isalnum() or ch in "-_" else "_" for ch in review.patient.ref)
    # A callable: the PDF (and its browser-drawn chart) is made on the click, never on a rerun.
    st.download_button("Download the pre-visit report (PDF)", data=make_report, on_click="ignore",
                        file_name=f"pre-visit-report-{ref}-{review.as_of:%Y-%m-%d}.pdf", mime="application/pdf",
                        key="report_download", icon=":material/picture_as_pdf:",
                        help="The first screen, the step and visit tables, the notes since the last visit and the "
                             "data sources on one or two pages, then the timeline printed legibly (usually on a page "
                             "of its own). Takes a few seconds.")
    st.caption("Note for the health record (plain text; the copy button is at its top right):")
    st.code(clinical_note(review), language=None, wrap_lines=True)  # st.code shows patient text literally


def visit_comparison(review: Review) -> None:
    st.subheader("Visit by visit")
    table = review.visit_table
    if table.empty or (len(table) == 1 and pd.isna(table["start"].iloc[0])):
        st.caption("No baseline or visits to compare.")
        return
    shown = review_tables.visit_table(review)
    helps = {"vs baseline": "Points and per cent; percentages truncated toward zero",
             "≥ 2 points less": "A reduction of at least 2 points (Farrar 2001)",
             "Sleep": "0-10, 10 = best", "Mood": "0-10, 10 = best", "Function": "0-10, 10 = best"}
    st.dataframe(shown, hide_index=True, key="visit_table", column_config={
        name: st.column_config.Column(width=width, help=helps.get(name))
        for name, width in fitted_widths(shown).items()})


def step_response(review: Review) -> None:
    st.subheader("Response to each titration step")
    table = review.step_table
    if table.empty:
        st.info("No titration recorded: add the prescribed steps (titration CSV) to see the response to each step.")
        return
    limits = review.thresholds
    shown = step_table_shown(review)
    early = (f"Fewer than {limits.min_response_days} days after the {limits.onset_days}-day onset period: "
             f"judged on its last {limits.min_response_days} days")
    helps = {
        "Response pain": "Mean daily pain in the response window, 95 % interval allowing for day-to-day correlation",
        "vs previous step": "Points against the previous troche step, 95 % Welch interval; negative is less pain",
        "vs baseline": "Response pain against baseline, truncated toward zero, and the responder category "
                       "(Farrar 2001; IMMPACT 2008)",
        "Days": "Days with pain in the response window",
        "Verdict": "Against the previous troche step: better or worse when the 95 % interval excludes 0 (Welch, "
                   f"allowing for day-to-day correlation); (early): {early}; ⚠ not a fair test: under "
                   f"{limits.low_adherence_pct:g} % of the prescribed mg taken, pain written on under "
                   f"{limits.sparse_diary_share:.0%} of a window's days, or an infusion in a window",
        "Taken": "Share of the prescribed mg taken on the step (a day without a diary entry counts as none taken)"}
    st.dataframe(shown, hide_index=True, key="step_table", column_config={
        name: (st.column_config.CheckboxColumn if name == "Early" else st.column_config.Column)(
            width=width, help=helps.get(name)) for name, width in fitted_widths(shown).items()})
    led, effective = review.lowest_effective_dose, limits.effective_category
    if led:
        st.info(f"Pointer for your judgement, not a prescription: the lowest daily dose that reached a {effective} "
                f"response without frequent severe side effects is "
                f"{mg_per_day(led.daily_dose_mg, led.dose_mg)} (from {_date(led.step_start)}).")
    else:
        st.caption(f"No step has yet reached a {effective} response without frequent severe side effects.")


def step_table_shown(review: Review) -> pd.DataFrame:
    """The step table as the page shows it, to fit the main column at 1366 px: each date with its
    year (a range within one year says it once), the change from baseline and the responder category
    in one column."""
    shown = review_tables.step_table(review)
    if {"vs baseline", "Responder"} <= set(shown.columns):
        shown["vs baseline"] = [p if r in ("—", "", None) else f"{p}, {r}" for p, r in
                                zip(shown["vs baseline"], shown["Responder"])]
        shown = shown.drop(columns="Responder")
    # An early step says so in its verdict rather than in a column of its own (the table fits 1366 px
    # with the adherence column v3 added).
    shown["Verdict"] = [v if not early or v == "too early to judge" else f"{v} (early)"
                        for v, early in zip(shown["Verdict"], shown["Early"])]
    return shown.drop(columns="Early").rename(columns={"Days with pain": "Days"})


def overlay(review: Review) -> None:
    st.subheader("Pain after each visit")
    if review.aligned.empty:
        st.caption("No visits recorded to align on.")
        return
    fig = loaders.figure(review, "overlay", lambda: visit_overlay(review.aligned))
    st.plotly_chart(fig, theme=None, key="overlay_chart")


def effects_by_step(review: Review) -> None:
    st.subheader("Side effects by dose step")
    if review.effects_by_step.empty:
        st.caption("No side effects recorded on any troche step.")
        return
    fig = loaders.figure(review, "effects_by_step", lambda: side_effects_by_step(review.effects_by_step))
    st.plotly_chart(fig, theme=None, key="effects_chart")


def notes(review: Review, as_of: date) -> None:
    st.subheader("In the patient's words")
    last = review.last_visit
    search = st.text_input("Search all notes", key="notes_search", placeholder="e.g. flare, bladder, sleep")
    since = None if search or last is None else last.date.date()
    table = patient_notes(review.notes, as_of, since=since, search=search)
    st.caption("Matching notes" if search else "Notes since the last visit" if last else "All notes")
    if table.empty:
        st.caption("No notes.")
        return
    shown = blank_missing(pd.DataFrame({
        "Written": table["recorded_at"].dt.strftime("%d %b %Y %H:%M"), "Note": table["notes"],
        "Other medication": table["other_medication"]}))
    st.dataframe(shown, hide_index=True, key="notes_table", column_config={
        "Written": st.column_config.TextColumn(width=WRITTEN_PX),
        "Note": st.column_config.TextColumn(width="large")})


def measures_chart(review: Review, above=None) -> None:
    """Validated instruments over time on the timeline's date axis (``above``: the timeline's
    figure, whose left edge the chart takes)."""
    drawn = charted(review.measures)
    if drawn.empty:
        return
    st.subheader("Questionnaires over time")
    st.caption("Each on its own scale, never converted to the 0–10 pain scale. "
               "PHQ-9 bands: 5 mild, 10 moderate, 15 moderately severe, 20 severe (Kroenke 2001).")
    align = left_labels(above) if above is not None else []
    st.plotly_chart(measures_figure(drawn, review.period, align), theme=None, key="measures_chart",
                    config={"displaylogo": False})


def measures_list(review: Review) -> None:
    """Everything not charted, newest first: questionnaire items, urine drug screens and other
    measures, as a plain-text table (names and answers come from files)."""
    rest = listed(review.measures)
    if rest.empty:
        return
    st.subheader("Other measures and questionnaire items")
    shown = pd.DataFrame({
        "Date": rest["recorded_at"].dt.strftime("%Y-%m-%d"), "Kind": rest["kind"], "Measure": rest["name"],
        "Value": rest["value"].map(lambda v: "" if pd.isna(v) else f"{v:g}"),
        "Answer": rest["answer_text"].fillna(""), "Unit": rest["unit"].fillna(""), "Code": rest["code"],
    })
    st.dataframe(shown.astype(str), hide_index=True, key="measures_table")


def co_medication_lines(review: Review) -> None:
    """Co-medication one line per drug (review-metrics.md v3): the records and diary mentions of
    one ingredient together, with its latest dose and whether the dose went up or down."""
    st.subheader("Co-medication by drug")
    shown = review_tables.co_medication_table(review)
    if shown.empty:
        st.caption("No co-medication recorded or written in the diary.")
        return
    # The names are as the patient or the record wrote them: a table cell is plain text.
    st.dataframe(blank_missing(shown), hide_index=True, key="co_medication_lines")


def comedications(table: pd.DataFrame) -> None:
    st.subheader("Co-medication history")
    if table.empty:
        st.caption("No co-medication recorded.")
        return
    shown = blank_missing(pd.DataFrame({
        "Medication": table["name"],
        "Kind": table["drug_class"].map(lambda k: review_tables.CLASS_WORDS.get(k, k) if isinstance(k, str) else None),
        # A MedicationStatement without a date (legal FHIR): its start is unknown, and said so.
        # A FHIR partial date ("2015-03") at its precision: "Mar 2015" (import-formats.md v3).
        "Started": [("unknown" if pd.isna(d) else words.dated(d, p))
                    for d, p in zip(table["start_date"], table["start_precision"])],
        "Stopped": [(None if pd.isna(d) else words.dated(d, p))
                    for d, p in zip(table["end_date"], table["end_precision"])],
        "Status": table["status"], "Dose": table["dose_text"],
        "Source": table["source"].map(lambda s: review_tables.SOURCE_NAMES.get(s, s) if isinstance(s, str) else None)}))
    st.dataframe(shown, hide_index=True, key="comedication_table")


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
