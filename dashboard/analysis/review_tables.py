"""The review's tables in words: visit by visit, each titration step, the notes since the last
visit and co-medication by drug, for the review page and the PDF report.

Plain text only, read from the ``Review`` (see ``review_words``).
"""

from __future__ import annotations

import pandas as pd

from dashboard.analysis.reported import truncated
from dashboard.analysis.review import Review
from dashboard.analysis.review_frames import patient_notes
from dashboard.analysis.review_words import dated, long_date, num, pct, short_date, signed, step_words, with_ci


def visit_table(review: Review) -> pd.DataFrame:
    """The baseline and each visit interval in words (the page's "Visit by visit" table)."""
    table = review.visit_table
    table = table[table["start"].notna()]
    latest = table["start"] == table["start"].max()
    return pd.DataFrame({
        "Period": [p if p == "baseline" else f"since {long_date(s)}" + (" (latest)" if last else "")
                   for p, s, last in zip(table["period"], table["start"], latest)],
        "Days with diary": [f"{d} of {n}" for d, n in zip(table["diary_days"], table["days"])],
        "Mean pain": table["mean_pain"].map(num),
        "vs baseline": [f"{signed(p)} ({pct(q)})" if pd.notna(p) else "—"
                        for p, q in zip(table["change_from_baseline"], table["change_from_baseline_pct"])],
        "Responder": table["responder"].map(lambda r: r or "—"),
        "≥ 2 points less": table["reduction_ge_2_points"].map(lambda v: "—" if v is None else "yes" if v else "no"),
        "Sleep": table["mean_sleep"].map(num), "Mood": table["mean_mood"].map(num),
        "Function": table["mean_function"].map(num),
    })


def date_range(start, end) -> str:
    """Two dates with their year: '16 Mar – 22 Apr 2026' within a year, '16 Dec 2025 – 22 Jan 2026' across one."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    return f"{start:%d %b} – {end:%d %b %Y}" if start.year == end.year else f"{start:%d %b %Y} – {end:%d %b %Y}"


FAIR_TEST_MARK = "⚠ "  # a verdict that is not a fair test (the step table's help and the first screen say why)


def step_verdict_words(row: dict) -> str:
    """A step table's verdict, marked where a qualifier holds (review-metrics.md v3): '⚠ no clear difference'."""
    verdict = row["verdict"] or ("first step" if str(row["route"]).lower().strip() == "troche" else "—")
    return (FAIR_TEST_MARK + verdict) if row.get("qualifiers") else verdict


def taken_words(mg_pct) -> str:
    """A step's adherence in the step table: '86 %' of the prescribed mg ('—' where it cannot be counted)."""
    return "—" if mg_pct is None or pd.isna(mg_pct) else f"{truncated(mg_pct):.0f} %"


def step_table(review: Review) -> pd.DataFrame:
    """Each titration step's response in words (the page's step table); "did it work" first."""
    table = review.step_table
    return pd.DataFrame({
        "Step": [step_words(r) for r in table.itertuples()],
        "Dates": [date_range(a, b) for a, b in zip(table["start"], table["end"])],
        "Response pain": [with_ci(m, lo, hi) for m, lo, hi in
                          zip(table["response_pain"], table["ci_low"], table["ci_high"])],
        "vs previous step": [with_ci(d, lo, hi, with_sign=True) for d, lo, hi in
                             zip(table["vs_difference"], table["vs_ci_low"], table["vs_ci_high"])],
        "Verdict": [step_verdict_words(row) for row in table.to_dict("records")],
        "Taken": [taken_words(row.get("mg_pct")) for row in table.to_dict("records")],
        "vs baseline": table["response_change_pct"].map(pct),
        "Responder": table["responder"].map(lambda r: r or "—"), "Early": table["early"],
        "Days with pain": table["response_pain_days"],
    })


def notes_since_last_visit(review: Review) -> pd.DataFrame:
    """The patient's notes since the last visit (all of them before a first visit), newest first."""
    last = review.last_visit
    since = None if last is None else last.date.date()
    return patient_notes(review.notes, review.period[1], since=since)


DOSE_CHANGE_WORDS = {"up": "went up", "down": "went down"}
CLASS_WORDS = {"opioid": "opioid (sedative)", "benzodiazepine": "benzodiazepine (sedative)"}
SOURCE_NAMES = {"clinic": "clinic record", "fhir": "FHIR import", "bearable": "Bearable diary",
                "pain-diary-app": "Privacy Friendly Pain Diary", "diary": "diary"}


def co_medication_table(review: Review) -> pd.DataFrame:
    """``review.co_medications`` (one line per drug) in words, for the page and the report."""
    lines = review.co_medications
    as_of = review.period[1]
    return pd.DataFrame({
        "Drug": lines["ingredient"],
        "Kind": [CLASS_WORDS.get(k, k) if isinstance(k, str) else None for k in lines["drug_class"]],
        "Latest dose": lines["dose_text"],
        "Since": [dated(d, p) for d, p in zip(lines["start"], lines["start_precision"])],
        "Last known": [short_date(d, as_of) for d in lines["last"]],
        "Dose": [DOSE_CHANGE_WORDS.get(c) if isinstance(c, str) else None for c in lines["dose_change"]],
        "Written as": [", ".join(n) if isinstance(n, (list, tuple)) else n for n in lines["names"]],
        "From": [", ".join(SOURCE_NAMES.get(x, x) for x in v) if isinstance(v, (list, tuple)) else v
                 for v in lines["sources"]],
    })
