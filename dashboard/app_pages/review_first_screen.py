"""The review page's first screen: the patient's header, the current step, "did the last step
work?", safety since the last visit and the open flags, on one screen at 1366 x 768; with the
page's fixed style sheet (``COMPACT``). Widgets only: numbers and words come from the Review model.

Labels are fixed strings; patient- or file-derived text goes through st.text, which renders it as text.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import streamlit as st

from dashboard.analysis import last_step_words, safety_words
from dashboard.analysis import review_words as words
from dashboard.analysis.review import Review


VERDICT_BADGE = {  # the verdict of a step against the previous one, as a coloured word
    "better": ":green-badge[better]", "worse": ":red-badge[worse]",
    "no clear difference": ":gray-badge[no clear difference]", "too early to judge": ":blue-badge[too early to judge]",
    "too few days": ":gray-badge[too few days]",
}
NEW = ":orange-badge[NEW]"


def header(patient, review: Review, imports: pd.DataFrame, as_of: date) -> None:
    """Who, since when, how complete, from where: one title and one line."""
    # The name is patient data: plain text (never a markdown heading), set large by COMPACT's style.
    with st.container(key="patient_title"):
        st.text(f"{patient.name or 'Name not recorded'} · {patient.born()} · {patient.ref}")
    # The birth date is in the title, beside the name: not said twice.
    facts = [f for f in words.header_facts(review, imports) if not f.startswith("born ")]
    # Condition and name are patient data: plain text, never markdown.
    st.text(" · ".join(f for f in facts if f))


def current_step_card(review: Review) -> None:
    st.caption("CURRENT STEP")
    value, lines = words.current_step_lines(review)
    st.metric("Current step", value, label_visibility="collapsed")
    st.text("\n".join(lines))  # the route and frequency come from imported records: plain text


def last_step_card(review: Review) -> None:
    """Did the last step work? The running troche step against the previous one, then against baseline."""
    st.caption("DID THE LAST STEP WORK?")
    answer = last_step_words.last_step(review)
    if answer is None:
        st.markdown("No troche step recorded yet.")
        return
    if answer.pending:
        st.caption(answer.pending)
    # Step doses, dates and figures only (never patient text), so markdown is safe here.
    if answer.verdict is None:
        st.markdown(f"**{answer.comparison}**: no earlier step to compare with.")
    else:
        said = f" {answer.verdict_note}" if answer.verdict_note else ""
        trust = f" · {answer.adherence}" if answer.adherence else ""
        st.markdown(f"**{answer.comparison}** ({answer.interval}) {VERDICT_BADGE[answer.verdict]}{said}{trust}")
        if answer.cautions:
            caution = "; ".join(answer.cautions)
            st.markdown(f":orange[**{caution[:1].upper()}{caution[1:]}.**]")
    lines = [answer.window, "Against baseline: not judged (no baseline)." if answer.vs_baseline is None
             else f"Against baseline: {answer.vs_baseline}, **{answer.responder}**."]
    if answer.lowest_effective:
        lines.append(answer.lowest_effective)
    st.caption("  \n".join(lines))


def safety_card(review: Review) -> None:
    """Safety since the last visit, one line per signal; new open flags marked, silence said."""
    st.caption(safety_words.safety_heading(review).upper())
    new = words.new_open_rules(review)
    shown = []
    for line in safety_words.safety_lines(review):
        text = {"alarm": f":red[**{line.text}**]", "warn": f":orange[**{line.text}**]"}.get(line.level, line.text)
        shown.append(f"**{line.label}:** {text}{line.note}" + (f" {NEW}" if line.rule in new else ""))
    st.markdown("  \n".join(shown))
    names = [name for line in safety_words.safety_lines(review) for name in line.names]
    if names:
        st.text(", ".join(names))  # names as the patient wrote them: plain text


def open_flags_line(review: Review) -> None:
    """Open flags as counts by rule, safety first; new ones marked, acknowledged ones said."""
    counts = review.flag_counts
    if counts.empty:
        st.markdown("OPEN FLAGS &nbsp; none up to this date")
        return
    parts = []
    for row in counts.itertuples(index=False):
        if row.open:
            # The badge counts the new runs (open ones since the last visit), not all open runs.
            text = f"{row.name} · {row.open}" + (f" :orange-badge[{row.new} NEW]" if row.new else "")
            parts.append(f":red[**{text}**]" if row.safety else text)
        else:
            parts.append(f":gray[{row.name} · acknowledged]")
    st.markdown("OPEN FLAGS &nbsp; " + " &nbsp;|&nbsp; ".join(parts))


# Streamlit's default top padding would push the timeline below a 768-pixel screen, and its 5rem
# side padding would leave the step table ~900 px at 1366 px (display.TABLE_PX: ~986 with 2.5rem).
# A fixed style sheet of ours, never patient text.
COMPACT = """<style>
[data-testid="stMainBlockContainer"] {padding: 2.2rem 2.5rem 2rem 2.5rem;}
[data-testid="stMetricValue"] {font-size: 1.9rem;}
.st-key-patient_title [data-testid="stText"] {font-size: 1.75rem; font-weight: 700; line-height: 1.2;}
</style>"""
# A date typed into "Review as of" applies when focus leaves the field for another element, not on
# Enter (Streamlit 1.67's date field; a bare blur() with its calendar open is not enough). On Enter,
# focus moves to an invisible element of ours, so a typed date applies as one expects. A fixed
# script of ours, no data in it (tests/e2e/test_review.py).
ENTER_APPLIES_DATE = """<script>
if (!window.__enterAppliesDate) {
  window.__enterAppliesDate = true;
  document.addEventListener("keydown", (event) => {
    const inField = event.target && event.target.closest && event.target.closest('[data-testid="stDateInput"]');
    if (event.key !== "Enter" || !inField) { return; }
    let sink = document.getElementById("date-enter-sink");
    if (!sink) {
      sink = document.createElement("span");
      sink.id = "date-enter-sink";
      sink.tabIndex = -1;
      sink.style.position = "fixed";
      sink.style.width = "1px";
      sink.style.height = "1px";
      sink.style.overflow = "hidden";
      document.body.appendChild(sink);
    }
    sink.focus();
  }, true);
}
</script>"""


def first_screen(patient, review: Review, imports: pd.DataFrame, as_of: date) -> None:
    st.html(COMPACT + ENTER_APPLIES_DATE, unsafe_allow_javascript=True)
    header(patient, review, imports, as_of)
    cols = st.columns([1, 1.45, 1.45], border=True)
    with cols[0]:
        current_step_card(review)
    with cols[1]:
        last_step_card(review)
    with cols[2]:
        safety_card(review)
    open_flags_line(review)
