""""Did the last step work?" in words: the comparison, its interval and verdict, how far to trust
it, then against baseline (review-metrics.md v3), for the review page, the PDF report and the note.

Plain text only, read from the ``Review`` (see ``review_words``).
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from dashboard.analysis.reported import truncated
from dashboard.analysis.review import Review
from dashboard.analysis.review_frames import mg_per_day
from dashboard.analysis.review_words import long_date, num, pct, plural, responder_words, short_date, signed, step_mg
from dashboard.analysis.trust import judged_from, low_adherence, sparse_window, window_pain_share


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


def cautions(step, before, as_of, limits) -> tuple[str, ...]:
    """Each qualifier that holds for a comparison, in words, naming every step or window it
    concerns (both when both fall short: a clinician must not read one as the only weak side)."""
    held = list(step.get("qualifiers") or [])
    out = []
    if "low_adherence" in held:
        low = [(s, s["mg_pct"]) for s in (step, before) if low_adherence(s, limits)]
        for s, mg_pct in sorted(low, key=lambda pair: pair[1]):
            out.append(f"only {adherence_words(mg_pct)} on {step_mg(s)}: not a fair test" if s is before
                       else f"only {adherence_words(mg_pct)}: not a fair test of {step_mg(s)}")
    if "sparse_diary" in held:
        sparse = [(window_pain_share(s), s) for s in (step, before) if sparse_window(s, limits)]
        for _, s in sorted(sparse, key=lambda t: t[0]):
            days = (pd.Timestamp(s["window_end"]) - pd.Timestamp(s["window_start"])).days + 1
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
    said = () if before is None else cautions(step, before, as_of, limits)
    if adherence and any(c.startswith(f"only {adherence}:") for c in said):
        adherence = None  # the caution says it, with why it matters
    return LastStep(comparison=comparison, interval=interval, verdict=step["verdict"], window=window,
                    vs_baseline=vs_baseline, responder=responder_words(limits)[key], responder_key=key,
                    lowest_effective=lowest,
                    verdict_note=None if before is None else verdict_note(step, limits, raised),
                    adherence=adherence, cautions=said, pending=pending)
