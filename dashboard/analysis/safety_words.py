"""Safety since the last visit in words, one line per signal, for the review page, the PDF report
and the note; silence is said with how much of the interval the diary covers (review-metrics.md v3).

Plain text only, read from the ``Review`` (see ``review_words``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.analysis.measures import item9_words
from dashboard.analysis.review import Review
from dashboard.analysis.review_words import plural, short_date
from dashboard.measures import LABS, LIVER_ENZYMES


@dataclass(frozen=True)
class SafetyLine:
    label: str
    text: str
    rule: str | None  # the flag rule this line answers to (its NEW mark), if any
    level: str | None = None  # "alarm" (a finding), "warn" (a missing check) or None
    note: str = ""  # said after the finding, unemphasised
    names: tuple[str, ...] = ()  # medication names as the patient wrote them: shown as plain text only


def safety_heading(review: Review) -> str:
    safety = review.safety
    if safety.last_visit is not None:
        return f"Safety since the last visit ({short_date(safety.last_visit, review.period[1])})"
    return "Safety since the start of the review period"


def coverage_words(review: Review) -> str:
    """'on 11 of 38 days': how many days of the interval the diary speaks for."""
    safety = review.safety
    return f"{safety.diary_days} of {safety.days} days"


def _silence(review: Review, none: str) -> tuple[str, str | None]:
    """A count of 0 in words the diary can support (review-metrics.md v3, "How much the diary
    covers"): 'none reported on N of M days', or, below the coverage setting, 'diary too sparse
    to say (N of M days)', a missing check rather than a finding."""
    if review.safety.too_sparse(review.thresholds):
        return f"diary too sparse to say ({coverage_words(review)})", "warn"
    return f"{none} on {coverage_words(review)}", None


def _silent_line(review: Review, label: str, none: str) -> SafetyLine:
    text, level = _silence(review, none)
    return SafetyLine(label, text, None, level)


SHORT_LAB_NAMES = {"Total bilirubin": "bilirubin", "Alkaline phosphatase": "ALP"}


def measured(value: float) -> str:
    """A measured number as a clinician reads it: three significant figures, never an exponent
    ("41.8", "0.87", "142", "1234"). EHR exports carry what their instruments computed (Synthea's
    "41.8084 U/L"); the comparison with limits uses the number as stored, only the words round."""
    return f"{value:.0f}" if abs(value) >= 100 else f"{value:.3g}"


def lab_words(lab) -> str:
    """'ALT 142 U/L (3.46 × upper limit 41)': a result as written, with its multiple of the
    laboratory's upper limit (rounded as the JSON rounds)."""
    value = lab.answer if lab.answer is not None else measured(lab.value)
    unit = f" {lab.unit}" if lab.unit and lab.answer is None else ""
    limit = ""
    if lab.times_upper_limit is not None and lab.upper_limit is not None:
        limit = f" ({round(lab.times_upper_limit, 2):g} × upper limit {lab.upper_limit:g})"
    return f"{SHORT_LAB_NAMES.get(lab.name, lab.name)} {value}{unit}{limit}"


def labs_words(labs: list, as_of) -> str:
    """Several results, each with its date unless all share one: 'ALT 142 U/L (…), AST 88 U/L (…) on 2 Nov'."""
    days = {pd.Timestamp(lab.date).normalize() for lab in labs}
    if len(days) == 1:
        return ", ".join(lab_words(lab) for lab in labs) + f" on {short_date(next(iter(days)), as_of)}"
    return ", ".join(f"{lab_words(lab)} on {short_date(lab.date, as_of)}" for lab in labs)


def lab_lines(review: Review) -> list[SafetyLine]:
    """The latest liver tests since the last visit ("no liver tests since the last visit" when none:
    a missing check of long-term ketamine use), and urinalysis when there is one."""
    as_of, factor = review.period[1], review.thresholds.liver_uln_factor
    labs = review.safety.labs
    liver = [lab for lab in labs if LABS[lab.code].instrument == "liver"]
    urine = [lab for lab in labs if LABS[lab.code].instrument == "urinalysis"]
    since = "since the last visit" if review.safety.last_visit is not None else "in the review period"
    if liver:
        high = any(lab.code in LIVER_ENZYMES and lab.times_upper_limit is not None
                   and round(lab.times_upper_limit, 9) > factor for lab in liver)
        lines = [SafetyLine("Liver tests", labs_words(liver, as_of), "liver_tests_high",
                            "alarm" if high else None)]
    else:
        lines = [SafetyLine("Liver tests", f"no liver tests {since}", None, "warn")]
    if urine:
        lines.append(SafetyLine("Urinalysis", labs_words(urine, as_of), None))
    return lines


def safety_lines(review: Review) -> list[SafetyLine]:
    """Safety since the last visit, one line per signal; silence is said with how much of the
    interval the diary covers, never as a bare "none" (review-metrics.md v3)."""
    safety, limits = review.safety, review.thresholds
    lines = []
    if safety.bp_days == 0:
        text = "no reading since the last visit" if safety.last_visit is not None else "no reading recorded"
        lines.append(SafetyLine("Blood pressure", text, None, "warn"))
    else:
        high = (f", {plural(safety.high_readings, 'reading')} ≥ {limits.bp_systolic_high:g}/"
                f"{limits.bp_diastolic_high:g}") if safety.high_readings else ""
        # At most one decimal (a device's 134.704 reads 134.7): never rounded across the limit it is counted against.
        highest = f"highest {round(safety.max_systolic, 1):g}/{round(safety.max_diastolic, 1):g}"
        lines.append(SafetyLine("Blood pressure", f"{highest}{high}",
                                "bp_high", "alarm" if safety.high_readings else None,
                                f" (readings on {plural(safety.bp_days, 'day')})"))
    dissociation = safety.severe_dissociation_days
    if dissociation:
        lines.append(SafetyLine("Dissociation", f"severe on {plural(dissociation, 'day')}", "dissociation_severe",
                                "alarm"))
    else:
        lines.append(_silent_line(review, "Dissociation", "no severe days"))
    if safety.bladder_days:
        lines.append(SafetyLine("Bladder", f"symptoms on {plural(safety.bladder_days, 'day')}, highest "
                                f"{safety.bladder_max}/3", "bladder", "alarm"))
    else:
        lines.append(_silent_line(review, "Bladder", "none reported"))
    over = safety.over_prescribed_days
    if over:
        lines.append(SafetyLine("Above prescription", f"{plural(over, 'day')}, up to +{safety.max_excess_mg:g} mg",
                                "over_prescribed", "alarm"))
    else:
        lines.append(_silent_line(review, "Above prescription", "none reported"))
    lines += lab_lines(review)
    item9, above = item9_words(review.measures, safety.last_visit)
    lines.append(SafetyLine("PHQ-9 item 9", item9, "self_harm_thoughts", "alarm" if above else None))
    sedatives = tuple(safety.co_sedatives)
    lines.append(SafetyLine("Co-sedatives", f"{plural(len(sedatives), 'medication')} recorded" if sedatives
                            else "none recorded", "co_sedative", "alarm" if sedatives else None, names=sedatives))
    return lines
