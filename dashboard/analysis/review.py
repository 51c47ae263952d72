"""The review page's model: every number and frame of a patient's review, computed once.

``build_review`` derives daily values, steps, responses, flags and safety once per patient,
as-of date and data version, into typed records (``analysis.reported``) and frames;
``Review.to_dict`` writes ``summary --json`` from the same records, so the page, the note, the
report and the summary can never disagree (review-metrics.md v2). ``review_of`` is the one place
a stored patient's query frames become a review (the page's cache and the command line both call it).
Visits: ``visit_dates``; the chart and table frames: ``review_frames``.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Mapping

import pandas as pd

from dashboard.analysis.adherence import (
    HOME_ROUTE, daily_prescription, over_prescribed_days, route_key, troche_steps,
)
from dashboard.analysis.completeness import completeness_last_days
from dashboard.analysis.daily import daily_values, day
from dashboard.analysis import comedication, measures as measure_table
from dashboard.analysis.flags import NO_ANSWERS, flag_status, open_flag_counts, review_flags
from dashboard.analysis.recent import RecentActivity, recent_activity
from dashboard.analysis.periods import (
    baseline, steps_table, visit_aligned_pain, visit_comparison_table, visit_interval_stats,
)
from dashboard.analysis.response import lowest_effective_dose, step_response_table
from dashboard.analysis.review_frames import chart_daily, labelled_by_step, long_severity, patient_notes
from dashboard.analysis.safety import SafetySinceLastVisit, safety_since_last_visit
from dashboard.analysis.side_effects import daily_side_effect_severity, side_effects_by_step
from dashboard.analysis.reported import (
    Baseline, Completeness, LastJudgedStep, LowestEffectiveDose, PatientDetails, StepSummary, VisitInterval,
    baseline_of, completeness_of, json_ready, last_judged_step as last_judged_record, lowest_effective_dose as led_record,
    step_summary, visit_interval,
)
from dashboard.analysis.trust import judged_from, last_judged_step, with_trust
from dashboard.analysis.visit_dates import Visit, last_visit, next_visit, overdue_visit
from dashboard.config import Thresholds


NO_ACKNOWLEDGEMENTS = pd.DataFrame({
    "rule": pd.Series(dtype="object"), "flag_start": pd.Series(dtype="datetime64[ns]"),
    "flag_end": pd.Series(dtype="datetime64[ns]"), "note": pd.Series(dtype="object"),
    "acknowledged_by": pd.Series(dtype="object"), "acknowledged_at": pd.Series(dtype="datetime64[ns]"),
})


@dataclass(frozen=True)
class CurrentStep:
    """The step running on the as-of date, read as "25 mg twice daily = 50 mg/day"."""

    step_id: int
    start: pd.Timestamp
    dose_mg: float
    daily_dose_mg: float | None
    frequency: str
    max_per_day: float | None
    route: str
    days_on_step: int
    judged_from: pd.Timestamp | None = None  # first as-of date the step is no longer early (v3)

    @property
    def words(self) -> str:
        dose = f"{self.dose_mg:g} mg {self.frequency}"
        if self.daily_dose_mg is None or pd.isna(self.daily_dose_mg):
            return f"{dose}, {self.route}"
        if str(self.frequency).strip().lower() in ("daily", "once daily", "once a day"):
            return f"{self.daily_dose_mg:g} mg/day, {self.route}"
        return f"{dose} = {self.daily_dose_mg:g} mg/day, {self.route}"


@dataclass(frozen=True)
class Review:
    """A patient's review as of a date, computed once; the page, the note, the report, the worklist,
    the cohort and ``summary --json`` (``to_dict``, the one writer of its JSON) read these fields
    instead of recomputing them. Typed records hold their figures as the JSON reports them."""

    patient: PatientDetails
    as_of: pd.Timestamp
    period: tuple[pd.Timestamp, pd.Timestamp]  # baseline start (or first record) to the as-of date
    baseline: Baseline
    step_summaries: tuple[StepSummary, ...]  # one per row of ``steps``, with its period and response
    visit_intervals: tuple[VisitInterval, ...]  # oldest first; the last runs to the as-of date
    lowest_effective_dose: LowestEffectiveDose | None
    completeness_last_30_days: Completeness
    last_judged_step: LastJudgedStep | None  # ``last_judged`` with the previous step's mg/day
    current_step: CurrentStep | None
    last_visit: Visit | None
    next_visit: Visit | None
    treatment_days: int | None
    safety: SafetySinceLastVisit
    daily: pd.DataFrame  # chart input: one row per diary day
    steps: pd.DataFrame  # steps_table: start, end, dose_mg, daily_dose_mg, ...
    side_effect_days: pd.DataFrame  # diary_date, effect, severity (long)
    gaps: pd.DataFrame  # start, end
    flags: pd.DataFrame  # rule, start, end, detail + flags.STATUS_COLUMNS
    flag_counts: pd.DataFrame  # flags.open_flag_counts
    visit_table: pd.DataFrame
    step_table: pd.DataFrame  # response.step_response_table
    aligned: pd.DataFrame
    effects_by_step: pd.DataFrame
    notes: pd.DataFrame  # recorded_at, diary_date, notes, other_medication
    thresholds: Thresholds
    measures: pd.DataFrame = field(default_factory=lambda: measure_table.NO_MEASURES)  # up to the as-of date
    recent: RecentActivity | None = None  # last 14 days' pain against the 14 before, last entry, last BP
    overdue_visit: Visit | None = None  # booked before the as-of date, never recorded as held
    responder_since_last_visit: str | None = None  # the category of the interval since the last visit
    # v3: the most recent troche step with a verdict of better, worse or no clear difference, a row of
    # ``step_table`` (which carries mg_pct, qualifiers, infusions and clinically_important); None if none.
    last_judged: pd.Series | None = None
    # v3: one line per drug (comedication.LINE_COLUMNS): ingredient, drug_class, dose_text, start, last,
    # dose_change ('up', 'down' or None), names, sources.
    co_medications: pd.DataFrame = field(default_factory=lambda: comedication.comedication_lines(
        pd.DataFrame(columns=comedication.MENTION_COLUMNS)))

    @property
    def days_since_last_visit(self) -> int | None:
        return None if self.last_visit is None else int((self.as_of - self.last_visit.date).days)

    def to_dict(self) -> dict:
        """``summary --json``: the one place the review becomes its JSON (review-metrics.md), in its key order."""
        visit, current = _visit_json, self.current_step
        return json_ready({
            "patient": asdict(self.patient),
            "as_of": self.as_of,
            "review_period": {"start": self.period[0], "end": self.period[1]},
            "baseline": asdict(self.baseline),
            "steps": [asdict(step) for step in self.step_summaries],
            "visit_intervals": [asdict(interval) for interval in self.visit_intervals],
            "lowest_effective_dose": _asdict(self.lowest_effective_dose),
            "flags": self.flags.to_dict("records"),
            "flag_counts": self.flag_counts.to_dict("records"),
            "safety_since_last_visit": self.safety.json(),
            "completeness_last_30_days": asdict(self.completeness_last_30_days),
            "current_step": None if current is None else {**asdict(current), "words": current.words},
            "last_judged_step": _asdict(self.last_judged_step),
            "co_medications": comedication.lines_json(self.co_medications),
            "last_visit": None if self.last_visit is None else {**visit(self.last_visit),
                                                                "days_since": self.days_since_last_visit},
            "next_visit": visit(self.next_visit),
            "overdue_visit": visit(self.overdue_visit),
            "responder_since_last_visit": self.responder_since_last_visit,
            "recent": None if self.recent is None else self.recent.json(),
            "thresholds": asdict(self.thresholds),
            "measures": measure_table.summary(self.measures),
        })

    def to_json(self) -> str:
        """``summary --json`` as printed: UTF-8 text, indented by 2."""
        return json.dumps(self.to_dict(), ensure_ascii=False, indent=2)

    @property
    def last_troche_step(self) -> pd.Series | None:
        """The troche step the question "did the last step work?" is about: the one running, or the latest."""
        troche = troche_steps(self.step_table)
        return None if troche.empty else troche.sort_values("start").iloc[-1]


def _asdict(record) -> dict | None:
    return None if record is None else asdict(record)


def _visit_json(visit: Visit | None) -> dict | None:
    return None if visit is None else {"date": visit.date, "kind": visit.kind}


REVIEW_FRAMES = ("diary", "side_effects", "steps", "visits", "comedications", "measures", "acknowledgements")


def review_of(patient, frames: Mapping[str, pd.DataFrame], *, thresholds: Thresholds, as_of: date) -> Review:
    """The review of a stored patient (a ``db.models.Patient`` or ``PatientDetails``) from its query
    frames (``REVIEW_FRAMES``, as ``db.queries`` and ``db.flag_reviews.acknowledgements_frame`` give
    them; others are ignored): the one place the review's inputs are put together."""
    return build_review(patient=PatientDetails.of(patient), thresholds=thresholds, as_of=as_of,
                        **{name: frames[name] for name in REVIEW_FRAMES})


def build_review(*, patient: PatientDetails | Mapping, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                 visits: pd.DataFrame, comedications: pd.DataFrame, thresholds: Thresholds, as_of: date,
                 acknowledgements: pd.DataFrame = NO_ACKNOWLEDGEMENTS,
                 phq9_item9: pd.DataFrame = NO_ANSWERS,
                 measures: pd.DataFrame = measure_table.NO_MEASURES) -> Review:
    """Every figure of the review from the query frames, each computed once.

    ``measures`` (validated instruments, other observations) is the one source of the PHQ-9
    item 9 answers the ``self_harm_thoughts`` flag reads; ``phq9_item9`` adds answers given directly.
    """
    measures = measure_table.up_to(measures, as_of)
    phq9_item9 = pd.concat([phq9_item9, measure_table.item9_answers(measures)], ignore_index=True)
    daily = daily_values(diary, as_of)
    steps_tbl = steps_table(steps, as_of)
    severity = daily_side_effect_severity(side_effects, as_of)
    prescription = daily_prescription(steps_tbl)
    base = baseline(daily, steps_tbl, thresholds)
    responses = with_trust(step_response_table(daily, steps_tbl, base["mean_pain"], thresholds), daily,
                           prescription, steps_tbl, visits, as_of, thresholds)
    by_step = side_effects_by_step(severity, daily, steps_tbl)
    over_days = over_prescribed_days(daily, steps_tbl)
    period = review_period(base, daily, steps_tbl, as_of)
    labs = measure_table.lab_results(measures, thresholds)
    mentioned = comedication.mentions(diary, comedications, as_of)  # once: the flags and the lines read it
    drugs = comedication.comedication_lines(mentioned)
    last = last_visit(visits, as_of)
    flags = review_flags(daily=daily, severity=severity, steps_tbl=steps_tbl, step_response_tbl=responses,
                         diary=diary, comedications=comedications, as_of=as_of, thresholds=thresholds,
                         phq9_item9=phq9_item9, over_days=over_days, period_start=period[0], labs=labs,
                         mentions=mentioned)
    status = flag_status(flags, last_visit=None if last is None else last.date, acknowledgements=acknowledgements,
                         period_start=period[0], as_of=as_of)
    safety = safety_since_last_visit(diary=diary, severity=severity, over_days=over_days,
                                     comedications=comedications, last_visit=None if last is None else last.date,
                                     period_start=period[0], as_of=as_of, thresholds=thresholds, labs=labs)
    intervals = visit_interval_stats(daily, severity, prescription, visits, as_of, base["mean_pain"], thresholds)
    current = current_step(steps_tbl, as_of, thresholds)
    judged = last_judged_step(responses)
    nxt = next_visit(visits, as_of)
    overdue = overdue_visit(visits, as_of)
    recent = recent_activity(daily, as_of)
    since_last = intervals[-1]["responder"] if intervals else None
    led = lowest_effective_dose(responses, troche_by_step(by_step, steps_tbl), thresholds)
    counts = open_flag_counts(status)
    return Review(
        patient=PatientDetails.of(patient), as_of=day(as_of), period=period, baseline=baseline_of(base),
        step_summaries=tuple(step_summary(step, response, daily, severity, prescription, thresholds) for step, response
                             in zip(steps_tbl.itertuples(index=False), responses.to_dict("records"))),
        visit_intervals=tuple(visit_interval(interval) for interval in intervals),
        lowest_effective_dose=led_record(led), completeness_last_30_days=completeness_of(
            completeness_last_days(daily, as_of, 30)),
        last_judged_step=last_judged_record(judged, responses),
        current_step=current, last_visit=last, next_visit=nxt,
        treatment_days=treatment_days(steps_tbl, as_of), safety=safety,
        daily=chart_daily(daily, steps_tbl), steps=steps_tbl, side_effect_days=long_severity(severity),
        gaps=flags.loc[flags["rule"] == "diary_gap", ["start", "end"]].reset_index(drop=True),
        flags=status, flag_counts=counts,
        visit_table=visit_comparison_table(daily, severity, prescription, steps_tbl, visits, as_of, thresholds,
                                           base=base, intervals=intervals),
        step_table=responses,
        aligned=visit_aligned_pain(daily, visits, as_of),
        effects_by_step=labelled_by_step(troche_by_step(by_step, steps_tbl), steps_tbl),
        notes=patient_notes(diary, as_of), thresholds=thresholds, measures=measures,
        recent=recent, overdue_visit=overdue, responder_since_last_visit=since_last, last_judged=judged,
        co_medications=drugs,
    )


def troche_by_step(by_step: pd.DataFrame, steps_tbl: pd.DataFrame) -> pd.DataFrame:
    return by_step[by_step["step_id"].isin(list(troche_steps(steps_tbl)["step_id"]))]


def review_period(base: dict, daily: pd.DataFrame, steps_tbl: pd.DataFrame,
                  as_of: date) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Baseline start to the as-of date; without a baseline, from the first diary day or step."""
    if base["start"] is not None:
        return day(base["start"]), day(as_of)
    firsts = [d for d in (daily["diary_date"].min() if len(daily) else None,
                          steps_tbl["start"].min() if len(steps_tbl) else None) if d is not None and not pd.isna(d)]
    return (min(firsts) if firsts else day(as_of)), day(as_of)


def current_step(steps_tbl: pd.DataFrame, as_of: date, thresholds: Thresholds | None = None) -> CurrentStep | None:
    """The step running on the as-of date, a troche step first (the one the patient takes at home),
    with the first as-of date its verdict can be given (``trust.judged_from``)."""
    running = steps_tbl[steps_tbl["end"] == day(as_of)]
    if running.empty:
        return None
    ranked = running.assign(_away=route_key(running["route"]) != HOME_ROUTE)
    step = ranked.sort_values(["_away", "start"], ascending=[True, False]).iloc[0]
    max_per_day = None if pd.isna(step["max_per_day"]) else float(step["max_per_day"])
    daily = None if pd.isna(step["daily_dose_mg"]) else float(step["daily_dose_mg"])
    return CurrentStep(step_id=step["step_id"], start=step["start"], dose_mg=float(step["dose_mg"]),
                       daily_dose_mg=daily, frequency=str(step["frequency"]), max_per_day=max_per_day,
                       route=str(step["route"]), days_on_step=int((day(as_of) - step["start"]).days) + 1,
                       judged_from=judged_from(step["start"], thresholds or Thresholds()))


def treatment_days(steps_tbl: pd.DataFrame, as_of: date) -> int | None:
    """Days since the first step started, counting the review day."""
    if steps_tbl.empty:
        return None
    return int((day(as_of) - steps_tbl["start"].min()).days) + 1
