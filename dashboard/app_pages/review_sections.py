"""The review page's sections, top to bottom. Widgets only: numbers come from the Review model.

Labels are fixed strings; patient- or file-derived text goes through st.text or
st.dataframe, which render it as text.
"""

from __future__ import annotations

import hashlib
from datetime import date

import pandas as pd
import streamlit as st

from dashboard.analysis.review import Review, mg_per_day, patient_notes
from dashboard.analysis.periods import held_visits
from dashboard.analysis.summary import truncated
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
VERDICT_BADGE = {  # the verdict of a step against the previous one, as a coloured word
    "better": ":green-badge[better]", "worse": ":red-badge[worse]",
    "no clear difference": ":gray-badge[no clear difference]", "too early to judge": ":blue-badge[too early to judge]",
    "too few days": ":gray-badge[too few days]",
}
NEW = ":orange-badge[NEW]"


def _as_dates(table: pd.DataFrame, *columns: str) -> pd.DataFrame:
    """Calendar dates without a time of day, as a clinician reads them."""
    return table.assign(**{c: table[c].dt.date for c in columns})


def _rounded(table: pd.DataFrame) -> pd.DataFrame:
    """Two decimals for the numbers on screen; dates and labels untouched."""
    return table.round({c: 2 for c in table.select_dtypes("number").columns})


def _num(value, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}{unit}"


def _signed(value, digits: int = 1) -> str:
    """A change with its sign and a real minus: '−0.6', '+1.2'."""
    return "—" if value is None or pd.isna(value) else f"{value:+.{digits}f}".replace("-", "−")


def _pct(value) -> str:
    """Truncated toward zero (review-metrics.md v2): −29.7 % is '−29 %', never a rounded −30 %."""
    return "—" if value is None or pd.isna(value) else f"{truncated(value):+.0f} %".replace("-", "−")


def _date(value) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d %b %Y")


def _short(value) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%-d %b")


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def header(patient, review: Review, imports: pd.DataFrame, as_of: date) -> None:
    """Who, since when, how complete, from where: one title and one line."""
    # The name is patient data: plain text (never a markdown heading), set large by COMPACT's style.
    with st.container(key="patient_title"):
        st.text(f"{patient.name or 'Name not recorded'} · {patient.ref}")
    facts = [f"born {patient.birth_year}" if patient.birth_year else "", patient.condition or "condition not recorded"]
    if review.treatment_days is not None:
        facts.append(f"on ketamine {review.treatment_days} days")
    done = review.summary["completeness_last_30_days"]
    facts.append(f"diary {done.get('diary_days', 0)} of the last {done.get('days', 30)} days")
    if imports.empty:
        facts.append("no imports recorded")
    else:
        formats = ", ".join(sorted(set(imports["format"])))
        facts.append(f"{_plural(len(imports), 'import')} ({formats}), last {_date(imports['imported_at'].max())}")
    facts.append(baseline_words(review.summary))
    # Condition and name are patient data: plain text, never markdown.
    st.text(" · ".join(f for f in facts if f))


def current_step_card(review: Review) -> None:
    step = review.current_step
    st.caption("CURRENT STEP")
    if step is None:
        st.metric("Current step", "none", label_visibility="collapsed")
        lines = ["No titration recorded" if review.steps.empty else "No step running on this date"]
    else:
        value = f"{step.daily_dose_mg:g} mg/day" if step.daily_dose_mg is not None else f"{step.dose_mg:g} mg"
        st.metric("Current step", value, label_visibility="collapsed")
        lines = [f"{step.dose_mg:g} mg {step.frequency}, {step.route}",
                 f"since {_date(step.start)} ({_plural(step.days_on_step, 'day')})"]
    last, nxt = review.last_visit, review.next_visit
    lines.append(f"Last visit {_date(last.date)} ({last.kind})" if last else "No visit recorded")
    lines.append(f"Next visit {_date(nxt.date)} ({nxt.kind})" if nxt else "Next visit not booked")
    if review.overdue_visit is not None:
        due = review.overdue_visit
        lines.append(f"Visit booked {_date(due.date)} ({due.kind}) overdue: no record that it happened")
    st.text("\n".join(lines))  # the route and frequency come from imported records: plain text


def last_step_card(review: Review) -> None:
    """Did the last step work? The running troche step against the previous one, then against baseline."""
    st.caption("DID THE LAST STEP WORK?")
    step = review.last_troche_step
    limits = review.summary["thresholds"]
    if step is None:
        st.markdown("No troche step recorded yet.")
        return
    steps = review.step_table.set_index("step_id")
    if step["verdict"] is None:
        st.markdown(f"**First step, {_mg(step)}**: no earlier step to compare with.")
    else:
        before = steps.loc[step["previous_step_id"]]
        interval = ("no interval" if pd.isna(step["vs_ci_low"])
                    else f"{_signed(step['vs_ci_low'])} to {_signed(step['vs_ci_high'])}")
        st.markdown(f"**{_mg(step)} vs {_mg(before)}: {_signed(step['vs_difference'])} points** ({interval}) "
                    f"{VERDICT_BADGE[step['verdict']]}")
    early = ", early: judged on its last days" if step["early"] else ""
    lines = [f"Response window {_short(step['window_start'])} – {_short(step['window_end'])}{early}: "
             f"{_plural(int(step['response_pain_days']), 'day')} with pain; the 95 % interval allows for day-to-day "
             "correlation."]
    if step["responder"] is None or pd.isna(step["response_change_pct"]):
        lines.append("Against baseline: not judged (no baseline).")
    else:
        base = review.summary["baseline"]["mean_pain"]
        lines.append(f"Against baseline: {_num(step['response_pain'])} vs {_num(base)}, "
                     f"{_pct(step['response_change_pct'])}, **{responder_words(limits)[step['responder']]}**.")
    led = review.summary["lowest_effective_dose"]
    if led:
        lines.append(f"Lowest effective dose so far: {mg_per_day(led['daily_dose_mg'], led['dose_mg'])} "
                     f"(from {_date(led['step_start'])}), a pointer for judgement, not a prescription.")
    st.caption("  \n".join(lines))


def _mg(step) -> str:
    return mg_per_day(step["daily_dose_mg"], step["dose_mg"])




def safety_card(review: Review) -> None:
    """Safety since the last visit, one line per signal; new open flags marked, silence said."""
    safety = review.safety
    since = f"SINCE THE LAST VISIT ({_short(safety.last_visit).upper()})" if safety.last_visit is not None \
        else "SINCE THE START OF THE REVIEW PERIOD"
    st.caption(f"SAFETY {since}")
    new = set(review.flags.loc[review.flags["new"] & ~review.flags["acknowledged"], "rule"])
    limits = review.thresholds
    lines = []

    def line(label: str, text: str, rule: str | None = None, alarm: bool = False) -> None:
        shown = f":red[**{text}**]" if alarm else text
        lines.append(f"**{label}:** {shown}" + (f" {NEW}" if rule in new else ""))

    if safety.bp_days == 0:
        line("Blood pressure", ":orange[**no reading since the last visit**]" if safety.last_visit is not None
             else ":orange[**no reading recorded**]")
    else:
        high = (f", {_plural(safety.high_readings, 'reading')} ≥ {limits.bp_systolic_high:g}/"
                f"{limits.bp_diastolic_high:g}") if safety.high_readings else ""
        line("Blood pressure", f"highest {safety.max_systolic:g}/{safety.max_diastolic:g}{high}", "bp_high",
             alarm=bool(safety.high_readings))
        lines[-1] += f" (readings on {_plural(safety.bp_days, 'day')})"
    line("Dissociation", f"severe on {_plural(safety.severe_dissociation_days, 'day')}"
         if safety.severe_dissociation_days else "no severe days", "dissociation_severe",
         alarm=bool(safety.severe_dissociation_days))
    line("Bladder", f"symptoms on {_plural(safety.bladder_days, 'day')}, highest {safety.bladder_max}/3"
         if safety.bladder_days else "none reported", "bladder", alarm=bool(safety.bladder_days))
    line("Above prescription", f"{_plural(safety.over_prescribed_days, 'day')}, up to +{safety.max_excess_mg:g} mg"
         if safety.over_prescribed_days else "none", "over_prescribed", alarm=bool(safety.over_prescribed_days))
    line("PHQ-9 item 9", "no questionnaire imported", "self_harm_thoughts")
    line("Co-sedatives", "see below" if safety.co_sedatives else "none recorded", "co_sedative",
         alarm=bool(safety.co_sedatives))
    st.markdown("  \n".join(lines))
    if safety.co_sedatives:
        st.text(", ".join(safety.co_sedatives))  # names as the patient wrote them: plain text


def open_flags_line(review: Review) -> None:
    """Open flags as counts by rule, safety first; new ones marked, acknowledged ones said."""
    counts = review.flag_counts
    if counts.empty:
        st.markdown("OPEN FLAGS &nbsp; none up to this date")
        return
    parts = []
    for row in counts.itertuples(index=False):
        if row.open:
            text = f"{row.name} · {row.open}" + (f" {NEW}" if row.new else "")
            parts.append(f":red[**{text}**]" if row.safety else text)
        else:
            parts.append(f":gray[{row.name} · acknowledged]")
    st.markdown("OPEN FLAGS &nbsp; " + " &nbsp;|&nbsp; ".join(parts))


# Streamlit's default top padding would push the timeline below a 768-pixel screen. A fixed
# style sheet of ours, never patient text.
COMPACT = """<style>
[data-testid="stMainBlockContainer"] {padding-top: 2.2rem; padding-bottom: 2rem;}
[data-testid="stMetricValue"] {font-size: 1.9rem;}
.st-key-patient_title [data-testid="stText"] {font-size: 1.75rem; font-weight: 700; line-height: 1.2;}
</style>"""


def first_screen(patient, review: Review, imports: pd.DataFrame, as_of: date) -> None:
    st.html(COMPACT)
    header(patient, review, imports, as_of)
    cols = st.columns([1, 1.45, 1.45], border=True)
    with cols[0]:
        current_step_card(review)
    with cols[1]:
        last_step_card(review)
    with cols[2]:
        safety_card(review)
    open_flags_line(review)


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
    cols[2].metric("Change from baseline (%)", _pct(latest["change_from_baseline_pct"]),
                   help="Truncated toward zero, so a shown figure never reaches a cut-off it did not reach.")
    cols[3].metric("Responder", latest["responder"] or "—",
                   help=f"Farrar 2001; IMMPACT 2008: ≥ {limits['responder_moderate_pct']:g} % moderately, "
                        f"≥ {limits['responder_substantial_pct']:g} % substantially important (clinic settings)")
    cols[3].caption(responder_words(limits).get(latest["responder"], ""))
    cols[4].metric("Diary days", f"{latest['diary_days']} / {latest['days']}")


def baseline_words(summary: dict) -> str:
    """What the baseline is, or why there is none, in the clinic's own settings."""
    base, limits = summary["baseline"], summary["thresholds"]
    if base["start"] is None:
        return "No baseline: no troche step is recorded, so changes from baseline are not shown."
    if base["missing"]:
        return (f"Baseline missing: only {base['pain_days']} diary day(s) with pain in the {limits['baseline_days']} "
                f"days before the first troche step (at least {limits['min_baseline_diary_days']} needed); "
                "changes from baseline are not shown.")
    return (f"baseline pain {_num(base['mean_pain'])} ({_date(base['start'])} – {_date(base['end'])}, "
            f"{base['diary_days']} diary days)")


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


def timeline(review: Review, visits: pd.DataFrame, limits: Thresholds, highlight, as_of: date) -> None:
    shown_visits = held_visits(visits)  # a booked visit is not drawn as one that happened
    shown_visits = shown_visits[shown_visits["date"] <= pd.Timestamp(as_of)]
    fig = timeline_figure(
        review.daily, review.steps, shown_visits, review.side_effect_days, timeline_flags(review.flags),
        baseline=review.summary["baseline"]["mean_pain"], bp_limits=(limits.bp_systolic_high, limits.bp_diastolic_high),
        gaps=review.gaps, highlight=highlight,
        relief_pct=(limits.responder_moderate_pct, limits.responder_substantial_pct), period=review.period,
    )
    st.plotly_chart(fig, theme=None, key="timeline_chart", config={"displaylogo": False})


def timeline_flags(status: pd.DataFrame) -> pd.DataFrame:
    """Flags as the timeline draws them: dates clipped to the review period; runs wholly before it
    are left to the flag list, which keeps their true dates."""
    kept = status[status["shown_end"] >= status["shown_start"]]
    return kept.assign(start=kept["shown_start"], end=kept["shown_end"])[
        ["rule", "name", "safety", "start", "end", "detail", "new", "acknowledged"]].reset_index(drop=True)


def visit_comparison(review: Review) -> None:
    st.subheader("Visit by visit")
    table = review.visit_table
    if table.empty or (len(table) == 1 and pd.isna(table["start"].iloc[0])):
        st.caption("No baseline or visits to compare.")
        return
    table = table[table["start"].notna()]
    latest = table["start"] == table["start"].max()
    shown = pd.DataFrame({
        "Period": [p if p == "baseline" else f"since {_date(s)}" + (" (latest)" if last else "")
                   for p, s, last in zip(table["period"], table["start"], latest)],
        "Days with diary": [f"{d} of {n}" for d, n in zip(table["diary_days"], table["days"])],
        "Mean pain": table["mean_pain"].map(_num),
        "vs baseline": [f"{_signed(p)} ({_pct(q)})" if pd.notna(p) else "—"
                        for p, q in zip(table["change_from_baseline"], table["change_from_baseline_pct"])],
        "Responder": table["responder"].map(lambda r: r or "—"),
        "≥ 2 points less": table["reduction_ge_2_points"].map(lambda v: "—" if v is None else "yes" if v else "no"),
        "Sleep": table["mean_sleep"].map(_num), "Mood": table["mean_mood"].map(_num),
        "Function": table["mean_function"].map(_num),
    })
    st.dataframe(shown, hide_index=True, column_config={
        "vs baseline": st.column_config.TextColumn(help="Points and per cent; percentages truncated toward zero"),
        "≥ 2 points less": st.column_config.TextColumn(help="A reduction of at least 2 points (Farrar 2001)"),
        "Sleep": st.column_config.TextColumn(help="0-10, 10 = best"),
        "Mood": st.column_config.TextColumn(help="0-10, 10 = best"),
        "Function": st.column_config.TextColumn(help="0-10, 10 = best")})


def step_response(review: Review) -> None:
    st.subheader("Response to each titration step")
    table = review.step_table
    if table.empty:
        st.info("No titration recorded: add the prescribed steps (titration CSV) to see the response to each step.")
        return
    limits = review.summary["thresholds"]
    # The columns that answer "did it work" come first and fit 1366 px; the rest follow.
    shown = pd.DataFrame({
        "Step": [_step_words(r) for r in table.itertuples()],
        "Dates": [f"{a:%-d %b} – {b:%-d %b %Y}" for a, b in zip(table["start"], table["end"])],
        "Response pain": [_with_ci(m, lo, hi) for m, lo, hi in
                          zip(table["response_pain"], table["ci_low"], table["ci_high"])],
        "vs previous step": [_with_ci(d, lo, hi, signed=True) for d, lo, hi in
                             zip(table["vs_difference"], table["vs_ci_low"], table["vs_ci_high"])],
        "Verdict": [v if v else ("first step" if r.lower().strip() == "troche" else "—")
                    for v, r in zip(table["verdict"], table["route"].astype(str))],
        "vs baseline": table["response_change_pct"].map(_pct),
        "Responder": table["responder"].map(lambda r: r or "—"), "Early": table["early"],
        "Days with pain": table["response_pain_days"],
    })
    early = (f"Fewer than {limits['min_response_days']} days after the {limits['onset_days']}-day onset period: "
             f"judged on its last {limits['min_response_days']} days")
    small = {"width": "small"}
    st.dataframe(shown, hide_index=True, column_config={
        "Dates": st.column_config.TextColumn(**small),
        "Response pain": st.column_config.TextColumn(help="Mean daily pain in the response window, 95 % interval "
                                                          "allowing for day-to-day correlation"),
        "vs previous step": st.column_config.TextColumn(help="Points against the previous troche step, 95 % Welch "
                                                             "interval; negative is less pain"),
        "Early": st.column_config.CheckboxColumn(help=early, **small),
        "vs baseline": st.column_config.TextColumn(help="Response pain against baseline, truncated toward zero",
                                                   **small),
        "Responder": st.column_config.TextColumn(**small),
        "Days with pain": st.column_config.NumberColumn(help="Days with pain in the response window", **small),
        "Verdict": st.column_config.TextColumn(help="Against the previous troche step: better or worse when the 95 % "
                                                    "interval excludes 0 (Welch, allowing for day-to-day correlation)")})
    led, effective = review.summary["lowest_effective_dose"], limits["effective_category"]
    if led:
        st.info(f"Pointer for your judgement, not a prescription: the lowest daily dose that reached a {effective} "
                f"response without frequent severe side effects is "
                f"{mg_per_day(led['daily_dose_mg'], led['dose_mg'])} (from {_date(led['step_start'])}).")
    else:
        st.caption(f"No step has yet reached a {effective} response without frequent severe side effects.")


def _step_words(step) -> str:
    route = "" if str(step.route).strip().lower() == "troche" else f", {step.route}"
    if pd.isna(step.daily_dose_mg):
        return f"{step.dose_mg:g} mg {step.frequency}{route}"
    if str(step.frequency).strip().lower() in ("daily", "once daily", "once a day"):
        return f"{step.daily_dose_mg:g} mg/day{route}"
    return f"{step.daily_dose_mg:g} mg/day ({step.dose_mg:g} mg {step.frequency}){route}"


def _with_ci(value, low, high, signed: bool = False) -> str:
    fmt = _signed if signed else _num
    if value is None or pd.isna(value):
        return "—"
    if low is None or pd.isna(low):
        return fmt(value)
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


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
