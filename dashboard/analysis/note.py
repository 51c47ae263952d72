"""The review as a few lines of a clinical note, to paste into the health record.

Plain text from the ``Review`` in the page's own words (``review_words`` and its siblings): current regimen in
mg/day, response since the last visit with its responder category (Farrar 2001; IMMPACT
2008), did the last step work, safety findings, open flags, the flags acknowledged since the
last visit with who acknowledged them and their note, and a plan for the clinician to write.
Nothing is recomputed, and the note proposes no dose: the plan line is left to the clinician.
"""

from __future__ import annotations

from dashboard.analysis import last_step_words, safety_words
from dashboard.analysis import review_words as words
from dashboard.analysis.review import Review

PLAN_PLACEHOLDER = "Plan: [to be completed by the clinician]"


def clinical_note(review: Review) -> str:
    """A handful of lines, each a sentence a clinician would write; no markdown, no HTML."""
    patient = review.patient
    name = patient.name or "Name not recorded"
    lines = [f"Ketamine titration review: {name} ({patient.ref}), as of {words.long_date(review.as_of)}.",
             f"Condition: {patient.condition or 'not recorded'}.",
             regimen_line(review), response_line(review)]
    answer = last_step_words.last_step(review)
    if answer is not None:
        if answer.pending:
            lines.append(f"Current step: {answer.pending}")
        # With a pending step the headline already opens "Step just finished: ".
        lines.append(f"{'' if answer.pending else 'Last step: '}{answer.headline.rstrip('.')}.")
    lines += [safety_line(review), flags_line(review)]
    acknowledged = acknowledged_line(review)
    if acknowledged:
        lines.append(acknowledged)
    lines.append(PLAN_PLACEHOLDER)
    return "\n".join(lines)


def regimen_line(review: Review) -> str:
    step = review.current_step
    if step is None:
        return "Current regimen: " + ("no titration recorded." if review.steps.empty else "no step running on this date.")
    return (f"Current regimen: ketamine {step.words}; day {step.days_on_step} on this step "
            f"(since {words.long_date(step.start)}).")


def response_line(review: Review) -> str:
    """Since the last visit: mean pain, the change from baseline and the responder category."""
    intervals = review.visit_intervals
    if not intervals:
        base = words.baseline_words(review).rstrip(".")
        return f"Response: no visit recorded yet. {base[:1].upper()}{base[1:]}."
    latest = intervals[-1]
    since = (f"Response since the last visit ({words.long_date(latest.start)}): mean pain "
             f"{words.num(latest.mean_pain)}/10 on {latest.diary_days} of {latest.days} diary days")
    if latest.change_from_baseline is None or latest.responder is None:
        return f"{since}; change from baseline not judged (no baseline)."
    return (f"{since}; vs baseline {words.num(review.baseline.mean_pain)}: "
            f"{words.signed(latest.change_from_baseline)} points ({words.pct(latest.change_from_baseline_pct)}), "
            f"responder: {words.responder_words(review.thresholds)[latest.responder]}.")


def safety_line(review: Review) -> str:
    parts = []
    for line in safety_words.safety_lines(review):
        names = f" ({', '.join(line.names)})" if line.names else ""
        parts.append(f"{line.label.lower() if line.label != 'PHQ-9 item 9' else line.label}: "
                     f"{line.text}{names}{line.note}")
    return f"{safety_words.safety_heading(review)}: " + "; ".join(parts) + "."


def flags_line(review: Review) -> str:
    """Open flags by rule, safety first; acknowledged ones have their own line (``acknowledged_line``)."""
    counts = review.flag_counts
    shown = [words.flag_count_words(row) for row in counts.itertuples(index=False) if row.open]
    return "Open flags: " + ("; ".join(shown) if shown else "none") + "."


def acknowledged_line(review: Review) -> str | None:
    """The runs since the last visit that a clinician acknowledged, each with who, when and the
    note they wrote, safety first: what was seen and decided belongs in the record too (issue 19).
    None when there are none. The note is the clinician's text, kept on one line."""
    runs = review.flags
    if runs.empty or "acknowledged" not in runs:
        return None
    runs = runs[runs["acknowledged"].astype(bool) & runs["new"].astype(bool)]
    if runs.empty:
        return None
    runs = runs.sort_values(["safety", "start"], ascending=[False, True], kind="stable")
    parts = []
    for run in runs.itertuples(index=False):
        when = words.long_date(run.start) if run.start == run.end else \
            f"{words.long_date(run.start)} – {words.long_date(run.end)}"
        note = " ".join(str(run.acknowledgement_note or "").split())
        parts.append(f"{run.name} {when} (acknowledged by {run.acknowledged_by}, "
                     f"{words.long_date(run.acknowledged_at)}: \"{note}\")")
    return "Acknowledged since the last visit: " + "; ".join(parts) + "."
