"""The review's figures in words: one wording for the review page, the PDF report and the note.

Plain text only (no markdown, no colour): the page adds its emphasis around these strings,
the report and the note print them as they are, so the three can never word a figure
differently. Every figure is read from the ``Review``; nothing here computes one.

Here: the formats (numbers, changes, dates) and the header, current step and baseline lines;
"did the last step work?" is ``last_step_words``, safety ``safety_words``, the tables ``review_tables``.
"""

from __future__ import annotations

import pandas as pd

from dashboard.analysis.review import Review
from dashboard.analysis.review_frames import mg_per_day
from dashboard.analysis.reported import truncated
from dashboard.config import Thresholds


def num(value, unit: str = "", digits: int = 1) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.{digits}f}{unit}"


def signed(value, digits: int = 1) -> str:
    """A change with its sign and a real minus: '−0.6', '+1.2'.

    Rounded from the 2 decimals ``summary --json`` carries (``json_ready``), so the page, the note,
    the report and the JSON never differ by a rounding (−0.0498 is −0.05 there, so '−0.1' here,
    not '−0.0'); only one rounding rule decides what a clinician and the JSON read."""
    if value is None or pd.isna(value):
        return "—"
    return f"{round(float(value), 2):+.{digits}f}".replace("-", "−")


def pct(value) -> str:
    """Truncated toward zero (review-metrics.md v2): −29.7 % is '−29 %', never a rounded −30 %."""
    return "—" if value is None or pd.isna(value) else f"{truncated(value):+.0f} %".replace("-", "−")


def long_date(value) -> str:
    return "—" if value is None or pd.isna(value) else pd.Timestamp(value).strftime("%d %b %Y")


PRECISION_FORMATS = {"month": "%b %Y", "year": "%Y"}


def dated(value, precision=None) -> str:
    """A date at the precision it was written (import-formats.md v3): a FHIR partial date
    ``2015-03`` (stored as its first day, precision 'month') is 'Mar 2015', ``2015`` is '2015';
    a day is ``long_date``'s '01 Mar 2015'."""
    if value is None or pd.isna(value):
        return "—"
    shown = PRECISION_FORMATS.get(precision) if isinstance(precision, str) else None
    return pd.Timestamp(value).strftime(shown or "%d %b %Y")


def short_date(value, as_of=None) -> str:
    """'3 Nov', with its year when not in the as-of date's year (review-metrics.md v3, "Dates"):
    a date a year earlier must never read as this year's."""
    if value is None or pd.isna(value):
        return "—"
    value = pd.Timestamp(value)
    if as_of is not None and value.year != pd.Timestamp(as_of).year:
        return value.strftime("%-d %b %Y")
    return value.strftime("%-d %b")


def plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def step_mg(step) -> str:
    """A step row's daily dose: '50 mg/day' (or one administration's mg without a daily amount)."""
    return mg_per_day(step["daily_dose_mg"], step["dose_mg"])


def step_words(step) -> str:
    """A step as the step table names it: '50 mg/day (25 mg twice daily)', with the route when not a troche."""
    route = "" if str(step.route).strip().lower() == "troche" else f", {step.route}"
    if pd.isna(step.daily_dose_mg):
        return f"{step.dose_mg:g} mg {step.frequency}{route}"
    if str(step.frequency).strip().lower() in ("daily", "once daily", "once a day"):
        return f"{step.daily_dose_mg:g} mg/day{route}"
    return f"{step.daily_dose_mg:g} mg/day ({step.dose_mg:g} mg {step.frequency}){route}"


def with_ci(value, low, high, with_sign: bool = False) -> str:
    fmt = signed if with_sign else num
    if value is None or pd.isna(value):
        return "—"
    if low is None or pd.isna(low):
        return fmt(value)
    return f"{fmt(value)} ({fmt(low)} to {fmt(high)})"


def responder_words(limits: Thresholds) -> dict:
    """Each responder category in words, with the clinic's own cut-offs (Farrar 2001; IMMPACT 2008)."""
    return {
        "substantial": f"substantial (≥ {limits.responder_substantial_pct:g} % less pain)",
        "moderate": f"moderate (≥ {limits.responder_moderate_pct:g} %)",
        "minimal": f"minimal (≥ {limits.responder_minimal_pct:g} %)",
        "none": "no meaningful change",
        "worse": f"worse (≥ {limits.worse_pct:g} % more pain)",
        None: "not judged (no baseline)",
    }


def baseline_words(review: Review) -> str:
    """What the baseline is, or why there is none, in the clinic's own settings."""
    base, limits = review.baseline, review.thresholds
    if base.start is None:
        return "No baseline: no troche step is recorded, so changes from baseline are not shown."
    if base.missing:
        return (f"Baseline missing: only {base.pain_days} diary day(s) with pain in the {limits.baseline_days} "
                f"days before the first troche step (at least {limits.min_baseline_diary_days} needed); "
                "changes from baseline are not shown.")
    return (f"baseline pain {num(base.mean_pain)} ({long_date(base.start)} – {long_date(base.end)}, "
            f"{base.diary_days} diary days)")


def current_step_lines(review: Review) -> tuple[str, list[str]]:
    """The current step as its mg/day figure and the lines under it (schedule, days on it, visits)."""
    step = review.current_step
    if step is None:
        value = "none"
        lines = ["No titration recorded" if review.steps.empty else "No step running on this date"]
    else:
        value = f"{step.daily_dose_mg:g} mg/day" if step.daily_dose_mg is not None else f"{step.dose_mg:g} mg"
        lines = [f"{step.dose_mg:g} mg {step.frequency}, {step.route}",
                 f"since {long_date(step.start)} ({plural(step.days_on_step, 'day')})"]
    last, nxt = review.last_visit, review.next_visit
    lines.append(f"Last visit {long_date(last.date)} ({last.kind})" if last else "No visit recorded")
    lines.append(f"Next visit {long_date(nxt.date)} ({nxt.kind})" if nxt else "Next visit not booked")
    if review.overdue_visit is not None:
        due = review.overdue_visit
        lines.append(f"Visit booked {long_date(due.date)} ({due.kind}) overdue: no record that it happened")
    return value, lines


def new_open_rules(review: Review) -> set[str]:
    """Rules with an open run that began since the last visit (marked NEW)."""
    flags = review.flags
    return set(flags.loc[flags["new"] & ~flags["acknowledged"], "rule"])


def flag_count_words(row) -> str:
    """One rule of ``review.flag_counts``: 'High blood pressure · 2 (1 new)', or '... · acknowledged'."""
    if not row.open:
        return f"{row.name} · acknowledged"
    return f"{row.name} · {row.open}" + (f" ({row.new} new)" if row.new else "")


def header_facts(review: Review, imports: pd.DataFrame) -> list[str]:
    """Who, since when, how complete, from where: the facts under the patient's name."""
    patient = review.patient
    facts = [f"born {patient.birth_year}" if patient.birth_year else "",
             patient.condition or "condition not recorded"]
    if review.treatment_days is not None:
        facts.append(f"on ketamine {review.treatment_days} days")
    done = review.completeness_last_30_days
    facts.append(f"diary {done.diary_days} of the last {done.days} days")
    facts.append(imports_words(imports))
    facts.append(baseline_words(review))
    return [f for f in facts if f]


def imports_words(imports: pd.DataFrame) -> str:
    if imports.empty:
        return "no imports recorded"
    formats = ", ".join(sorted(set(imports["format"])))
    return f"{plural(len(imports), 'import')} ({formats}), last {long_date(imports['imported_at'].max())}"
