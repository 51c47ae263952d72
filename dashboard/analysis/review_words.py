"""The review's figures in words: one wording for the review page, the PDF report and the note.

Plain text only (no markdown, no colour): the page adds its emphasis around these strings,
the report and the note print them as they are, so the three can never word a figure
differently. Every figure is read from the ``Review``; nothing here computes one.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.analysis.measures import item9_words
from dashboard.analysis.review import Review, mg_per_day, patient_notes
from dashboard.analysis.reported import truncated
from dashboard.analysis.trust import judged_from
from dashboard.config import Thresholds
from dashboard.measures import LABS, LIVER_ENZYMES


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


@dataclass(frozen=True)
class LastStep:
    """"Did the last step work?" in words: the comparison, its interval and verdict, how far to trust
    it (adherence, the qualifiers, clinical importance: review-metrics.md v3), then against baseline."""

    comparison: str  # "100 mg/day vs 50 mg/day: −0.6 points", or "First step, 50 mg/day"
    interval: str | None  # "−1.0 to −0.2", "no interval"; None on the first step
    verdict: str | None  # better, worse, no clear difference, too early to judge, too few days
    window: str
    vs_baseline: str | None  # "4.1 vs 6.2, −33 %"; None: not judged
    responder: str  # the responder category in words
    responder_key: str | None
    lowest_effective: str | None
    verdict_note: str | None = None  # after "better": "by 0.6 points, less than the 1 point …" (v3)
    adherence: str | None = None  # "92 % of the prescribed mg taken" (v3: beside every verdict)
    cautions: tuple[str, ...] = ()  # each qualifier that holds, in words: "… not a fair test of 100 mg/day"
    pending: str | None = None  # the current step, too early or too few days, when the answer is the step before

    @property
    def headline(self) -> str:
        """The answer on one line: '100 mg/day vs 50 mg/day: −0.6 points (−1.0 to −0.2), better ·
        92 % of the prescribed mg taken', then any reason it is not a fair test."""
        if self.verdict is None:
            return f"{self.comparison}: no earlier step to compare with."
        line = f"{self.comparison} ({self.interval}), {self.verdict}"
        if self.verdict_note:
            line += f" {self.verdict_note}"
        if self.adherence:
            line += f" · {self.adherence}"
        return line + "".join(f"; {c}" for c in self.cautions)

    @property
    def baseline_line(self) -> str:
        if self.vs_baseline is None:
            return "Against baseline: not judged (no baseline)."
        return f"Against baseline: {self.vs_baseline}, {self.responder}."


UNJUDGED = ("too early to judge", "too few days")
JUDGED_PREFIX = "Step just finished: "


def adherence_words(mg_pct) -> str | None:
    """A step's adherence as the page says it beside a verdict (mg taken against mg prescribed on
    every day of the step; a day without an entry counts as none taken, review-metrics.md v3)."""
    if mg_pct is None or pd.isna(mg_pct):
        return None
    return f"{truncated(mg_pct):.0f} % of the prescribed mg taken"


def verdict_note(step, limits, raised: bool) -> str | None:
    """After a "better" that is not clinically important: by how much, and what it falls short of
    (the same points ``no_benefit_escalation`` asks of a dose rise, so both can show); else None."""
    if step["verdict"] != "better" or step.get("clinically_important") is not False:
        return None
    need = limits.escalation_min_benefit_points
    what = "a higher dose should bring" if raised else "a clinically important change needs"
    return (f"by {signed(step['vs_difference']).lstrip('−+')} points, less than the {need:g} point"
            f"{'' if need == 1 else 's'} {what}")


def cautions(step, before, as_of) -> tuple[str, ...]:
    """Each qualifier that holds for a comparison, in words, naming the step or window it concerns."""
    held = list(step.get("qualifiers") or [])
    out = []
    if "low_adherence" in held:
        low = [(s, s["mg_pct"]) for s in (step, before) if pd.notna(s.get("mg_pct")) and s["mg_pct"] < 100]
        for s, mg_pct in sorted(low, key=lambda pair: pair[1])[:1]:
            out.append(f"only {adherence_words(mg_pct)} on {step_mg(s)}: not a fair test" if s is before
                       else f"only {adherence_words(mg_pct)}: not a fair test of {step_mg(s)}")
    if "sparse_diary" in held:
        sparse = []
        for s in (step, before):
            days = (pd.Timestamp(s["window_end"]) - pd.Timestamp(s["window_start"])).days + 1
            sparse.append((int(s["response_pain_days"]) / days if days > 0 else 1.0, s, days))
        _, s, days = min(sparse, key=lambda t: t[0])
        out.append(f"pain written on only {int(s['response_pain_days'])} of {days} days of the "
                   f"{step_mg(s)} window: not a fair test")
    if "infusion_in_window" in held:
        where_words = {"this window": "falls in this window", "previous window": "falls in the previous step's window",
                       "onset days": "falls in this step's onset days"}
        for given in step.get("infusions") or []:
            out.append(f"an infusion on {short_date(given['date'], as_of)} {where_words.get(given['where'], 'falls near')}"
                       ": not a fair test")
    return tuple(out)


def last_step(review: Review) -> LastStep | None:
    """The running troche step against the previous one (None when no troche step is recorded).

    When that step is still too early or has too few days, the answer is the step just finished
    (``last_judged_step``, review-metrics.md v3), with the running step and the date it can first
    be judged said in ``pending``."""
    step = review.last_troche_step
    if step is None:
        return None
    as_of = review.period[1]
    pending = None
    judged = review.last_judged
    if step["verdict"] in UNJUDGED and judged is not None and judged["step_id"] != step["step_id"]:
        pending = f"{step_mg(step)} since {short_date(step['start'], as_of)}: {step['verdict']}"
        ready = judged_from(step["start"], review.thresholds)
        if step["verdict"] == "too early to judge" and ready > pd.Timestamp(as_of):
            pending += f"; can be judged from {short_date(ready, as_of)}"
        pending += "."
        step = judged
    limits = review.thresholds
    before = None
    if step["verdict"] is None:
        comparison, interval = f"First step, {step_mg(step)}", None
    else:
        before = review.step_table.set_index("step_id").loc[step["previous_step_id"]]
        comparison = f"{step_mg(step)} vs {step_mg(before)}: {signed(step['vs_difference'])} points"
        interval = ("no interval" if pd.isna(step["vs_ci_low"])
                    else f"{signed(step['vs_ci_low'])} to {signed(step['vs_ci_high'])}")
    if pending:
        comparison = JUDGED_PREFIX + comparison
    early = ", early: judged on its last days" if step["early"] else ""
    window = (f"Response window {short_date(step['window_start'], as_of)} – {short_date(step['window_end'], as_of)}"
              f"{early}: {plural(int(step['response_pain_days']), 'day')} with pain; the 95 % interval allows for "
              "day-to-day correlation.")
    judged_now = not (step["responder"] is None or pd.isna(step["response_change_pct"]))
    vs_baseline = None
    if judged_now:
        base = review.baseline.mean_pain
        vs_baseline = f"{num(step['response_pain'])} vs {num(base)}, {pct(step['response_change_pct'])}"
    led = review.lowest_effective_dose
    lowest = None
    if led:
        lowest = (f"Lowest effective dose so far: {mg_per_day(led.daily_dose_mg, led.dose_mg)} "
                  f"(from {long_date(led.step_start)}), a pointer for judgement, not a prescription.")
    key = step["responder"] if judged_now else None
    raised = before is not None and pd.notna(step["daily_dose_mg"]) and pd.notna(before["daily_dose_mg"]) \
        and step["daily_dose_mg"] > before["daily_dose_mg"]
    adherence = adherence_words(step.get("mg_pct"))
    said = () if before is None else cautions(step, before, as_of)
    if adherence and any(c.startswith(f"only {adherence}:") for c in said):
        adherence = None  # the caution says it, with why it matters
    return LastStep(comparison=comparison, interval=interval, verdict=step["verdict"], window=window,
                    vs_baseline=vs_baseline, responder=responder_words(limits)[key], responder_key=key,
                    lowest_effective=lowest,
                    verdict_note=None if before is None else verdict_note(step, limits, raised),
                    adherence=adherence, cautions=said, pending=pending)


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


def lab_words(lab) -> str:
    """'ALT 142 U/L (3.46 × upper limit 41)': a result as written, with its multiple of the
    laboratory's upper limit (rounded as the JSON rounds)."""
    value = lab.answer if lab.answer is not None else f"{lab.value:g}"
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
        lines.append(SafetyLine("Blood pressure", f"highest {safety.max_systolic:g}/{safety.max_diastolic:g}{high}",
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
SOURCE_NAMES = {"clinic": "clinic record", "fhir": "FHIR import", "bearable": "Bearable diary", "diary": "diary"}


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
