"""Flags for review, not alarms: each names its rule, its dates and the values behind it.

Rules and defaults: review-metrics.md, "Flags". Safety sources: ketamine raises blood
pressure, causes dissociation and can cause ulcerative cystitis, and is open to misuse
(FDA 2023 warning on compounded ketamine; ASRA/AAPM/ASA consensus, Cohen et al. 2018, Reg
Anesth Pain Med 43:521-546); opioids and benzodiazepines add sedation. Severity grades
follow CTCAE (3 = severe).

Runs: a daily rule is evaluated on the days its measure was recorded (BP on days with a
reading, bladder on days the symptom was rated, ...). Firing days with no evaluated,
non-firing day between them form one run and one flag (``start``..``end``), so a week of
high readings is one flag, and only a recorded normal value ends a run; a day without a
diary entry neither breaks nor extends it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import pandas as pd

from dashboard.analysis import comedication
from dashboard.analysis.adherence import over_prescribed_days, route_key
from dashboard.analysis.daily import daily_values, day
from dashboard.analysis.periods import steps_table
from dashboard.analysis.response import step_response_table
from dashboard.analysis.side_effects import SEVERE, daily_side_effect_severity
from dashboard.config import Thresholds
from dashboard.medications import drug_class

FLAG_COLUMNS = ["rule", "start", "end", "detail"]


@dataclass(frozen=True)
class FlagRule:
    """A flag rule as the clinician reads it: its key (in JSON and settings), name and kind."""

    key: str
    name: str
    safety: bool


# The one list of rules, in the order they are read: safety first (review-metrics.md v2,
# "Reading flags"), then the course of treatment. Pages, charts and the summary ask it.
RULES: dict[str, FlagRule] = {rule.key: rule for rule in (
    FlagRule("bp_high", "High blood pressure", True),
    FlagRule("bladder", "Bladder / urinary symptoms", True),
    FlagRule("dissociation_severe", "Severe dissociation", True),
    FlagRule("over_prescribed", "More taken than prescribed", True),
    FlagRule("co_sedative", "Opioid or benzodiazepine", True),
    FlagRule("liver_tests_high", "High liver tests (ALT/AST)", True),
    FlagRule("self_harm_thoughts", "Thoughts of self-harm (PHQ-9 item 9)", True),
    FlagRule("pain_spike", "Pain spike", False),
    FlagRule("low_mood", "Low mood", False),
    FlagRule("diary_gap", "Diary gap", False),
    FlagRule("no_benefit_escalation", "Dose raised without benefit", False),
)}
RULE_ORDER = {key: i for i, key in enumerate(RULES)}


def rule_name(key: str) -> str:
    """The human name of a rule; an unknown key (a newer database) is shown as it is."""
    return RULES[key].name if key in RULES else str(key)
TOLERANCE = 1e-9
BLADDER_WORDS = ("bladder", "urin", "cystitis", "dysuria")
CO_SEDATIVE_CLASSES = ("opioid", "benzodiazepine")


def _n(value: float) -> str:
    return f"{round(float(value), 2):g}"


def _frame(rows: list[dict]) -> pd.DataFrame:
    # Built column by column with its dtype: the review builds this for every rule, and a
    # frame of records followed by astype costs several times more.
    return pd.DataFrame({
        "rule": pd.Series([r["rule"] for r in rows], dtype="object"),
        "start": pd.Series([r["start"] for r in rows], dtype="datetime64[ns]"),
        "end": pd.Series([r["end"] for r in rows], dtype="datetime64[ns]"),
        "detail": pd.Series([r["detail"] for r in rows], dtype="object"),
    })


def run_spans(fired) -> list[tuple[int, int]]:
    """Positions [a, b) of the runs of consecutive firing rows (``fired``: the rule on each
    evaluated row, sorted by date, one row a day)."""
    edges = np.diff(np.concatenate(([0], np.asarray(fired, dtype=bool).astype(np.int8), [0])))
    return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


class _Run:
    """One run's columns as array slices: what a rule's ``describe`` reads (``run[column]``,
    ``len(run)``). A 3-year diary has a hundred bladder runs; a frame per run cost most of
    the flags' time (issue 8)."""

    def __init__(self, columns: dict[str, np.ndarray], start: int, stop: int):
        self._columns, self._start, self._stop = columns, start, stop

    def __getitem__(self, column: str) -> np.ndarray:
        return self._columns[column][self._start:self._stop]

    def __len__(self) -> int:
        return self._stop - self._start


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    kept = [p for p in parts if not p.empty]
    return _frame([]) if not kept else pd.concat(kept, ignore_index=True)


def _run_flags(rule: str, evaluated: pd.DataFrame, fired: pd.Series, date_col: str, describe,
               min_length: int = 1) -> pd.DataFrame:
    spans = [(a, b) for a, b in run_spans(fired) if b - a >= min_length]
    if not spans:
        return _frame([])
    columns = {name: evaluated[name].to_numpy() for name in evaluated.columns}
    dates = columns[date_col]
    return _frame([{"rule": rule, "start": dates[a], "end": dates[b - 1], "detail": describe(_Run(columns, a, b))}
                   for a, b in spans])


def _days(n: int) -> str:
    return f"{n} day" if n == 1 else f"{n} days"


def bp_high(daily: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Systolic >= ``bp_systolic_high`` or diastolic >= ``bp_diastolic_high`` mmHg on the day's highest reading.

    Ketamine raises blood pressure (FDA 2023 compounded-ketamine warning; Cohen et al. 2018).
    """
    days = daily.dropna(subset=["bp_systolic", "bp_diastolic"], how="all")
    fired = ((days["bp_systolic"] >= thresholds.bp_systolic_high)
             | (days["bp_diastolic"] >= thresholds.bp_diastolic_high))
    limit = f">= {_n(thresholds.bp_systolic_high)}/{_n(thresholds.bp_diastolic_high)} mmHg"
    return _run_flags("bp_high", days, fired, "diary_date", lambda run: (
        f"BP {limit} on {_days(len(run))}; highest systolic {_highest(run['bp_systolic'])}, "
        f"highest diastolic {_highest(run['bp_diastolic'])} mmHg"))


def _highest(values: np.ndarray) -> str:
    """The highest recorded value; a run may hold only one of the two BP readings."""
    recorded = values[~np.isnan(values)]
    return _n(recorded.max()) if len(recorded) else "not recorded"


def _effect_days(severity: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    worst = severity[columns].max(axis=1).dropna() if columns else pd.Series(dtype="float64")
    return pd.DataFrame({"diary_date": worst.index, "severity": worst.to_numpy()})


def bladder_columns(severity: pd.DataFrame) -> list:
    """The side effects that are bladder or urinary symptoms, whatever an app called them."""
    return [c for c in severity.columns if any(w in str(c).lower() for w in BLADDER_WORDS)]


def bladder(severity: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Any bladder or urinary symptom (severity >= 1): possible ketamine cystitis, which the
    ASRA/AAPM/ASA consensus (Cohen et al. 2018) and the FDA 2023 warning name for repeated use."""
    columns = bladder_columns(severity)
    days = _effect_days(severity, columns)
    return _run_flags("bladder", days, days["severity"] >= 1, "diary_date", lambda run: (
        f"bladder/urinary symptom on {_days(len(run))}, highest severity {int(run['severity'].max())} "
        "(possible ketamine cystitis)"))


def dissociation_severe(severity: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Dissociation rated severe (CTCAE-style grade 3); a known dose-related effect (Cohen et al. 2018)."""
    days = _effect_days(severity, [c for c in severity.columns if c == "dissociation"])
    return _run_flags("dissociation_severe", days, days["severity"] >= SEVERE, "diary_date",
                      lambda run: f"severe dissociation (3) on {_days(len(run))}")


def over_prescribed(over_days: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """The day's total (or the 7-day total) above the step's maximum; ``over_days`` is
    ``adherence.over_prescribed_days``. Runs do not cross steps: each has its own maximum."""
    parts = [_run_flags("over_prescribed", group, group["over"], "diary_date", _describe_over)
             for _, group in over_days.groupby("step_id", sort=False)]
    return _concat(parts)


def _describe_over(run: _Run) -> str:
    window, max_mg, dose, frequency = (run[c][0] for c in ("window_days", "max_mg", "dose_mg", "frequency"))
    total = "daily total" if window == 1 else "7-day total"
    maximum = "max" if window == 1 else "weekly max"
    return (f"{total} up to {_n(run['taken_mg'].max())} mg on {_days(len(run))}; prescribed {maximum} "
            f"{_n(max_mg)} mg ({_n(dose)} mg {frequency})")


def co_sedative(diary: pd.DataFrame, comedications: pd.DataFrame, as_of: date,
                found: pd.DataFrame | None = None) -> pd.DataFrame:
    """An opioid or benzodiazepine in the diary's other medication or in co-medication records
    (clinic records and imported prescriptions): added sedation and respiratory depression with
    ketamine (FDA 2023 warning; Cohen et al. 2018). Recognised by ``dashboard.medications.drug_class``.

    v3: one drug is one ingredient (``medications.ingredient``: RxNorm, else the name before the
    strength, case-insensitive), however it is spelled; each flag carries ``drug_start``, when that
    drug was first recorded or mentioned, so that it is new only when the drug started since the
    last visit (``flag_status``)."""
    if found is None:  # ``comedication.mentions``, given when the review has it already
        found = comedication.mentions(diary, comedications, as_of)
    starts = comedication.drug_starts(found)
    sedatives = found[found["drug_class"].isin(list(CO_SEDATIVE_CLASSES))]
    flags = _concat([_diary_co_sedatives(diary, sedatives, as_of), _record_co_sedatives(sedatives)])
    drug = flags.pop("_ingredient") if "_ingredient" in flags else pd.Series(dtype="object")
    return flags.assign(drug_start=pd.Series([starts.get(d) for d in drug], index=flags.index,
                                             dtype="datetime64[ns]"))


def _diary_co_sedatives(diary: pd.DataFrame, sedatives: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Per co-sedative ingredient, runs of days whose other medication names it; a day naming
    something else ends a run, a day without any other medication neither breaks nor extends it."""
    texts = diary[(diary["diary_date"] <= day(as_of)) & diary["other_medication"].notna()]
    texts = texts[texts["other_medication"].astype(str).str.strip() != ""]
    evaluated = pd.DataFrame({"diary_date": sorted(set(texts["diary_date"]))}, dtype="datetime64[ns]")
    mentioned = sedatives[sedatives["source"] == "diary"]
    parts = []
    for drug, group in mentioned.groupby("ingredient", sort=True):
        texts_by_day = group.groupby("start")[["name", "drug_class"]].agg(list)
        per_day = evaluated.assign(
            text=[texts_by_day["name"].get(d, []) for d in evaluated["diary_date"]],
            drug_class=[texts_by_day["drug_class"].get(d, []) for d in evaluated["diary_date"]])
        fired = per_day["text"].map(bool).astype(bool)

        def describe(run: _Run) -> str:
            named = sorted({f"{c}: '{t}'" for ts, cs in zip(run["text"], run["drug_class"]) for t, c in zip(ts, cs)})
            return f"{'; '.join(named)} in the diary's other medication on {_days(len(run))}"

        flags = _run_flags("co_sedative", per_day, fired, "diary_date", describe)
        parts.append(flags.assign(_ingredient=drug))
    return _concat(parts)


def _record_co_sedatives(sedatives: pd.DataFrame) -> pd.DataFrame:
    # One flag per drug (ingredient): start of its first record, end of its last. An open record
    # ends on the as-of date if active, else on its start (all that is known); a record of unknown
    # start is known on the as-of date (``comedication.mentions``).
    records = sedatives[sedatives["source"] != "diary"]
    flags = []
    for drug, group in records.groupby("ingredient", sort=True):
        names = ", ".join(f"'{n}'" for n in sorted(set(group["name"]), key=lambda n: (n.casefold(), n)))
        sources = ", ".join(sorted(set(group["source"].astype(str))))
        cls = [c for c in group.sort_values("start")["drug_class"] if c][-1]
        flags.append({"rule": "co_sedative", "start": group["start"].min(), "end": group["end"].max(),
                      "detail": f"{cls}: {names} in co-medication records ({sources}), {len(group)} record(s)",
                      "_ingredient": drug})
    return _frame(flags).assign(_ingredient=pd.Series([f["_ingredient"] for f in flags], dtype="object"))


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) else str(value)


SPIKE_REFERENCE_DAYS = 7  # diary days with pain the spike is measured against
SPIKE_LOOKBACK_DAYS = 14  # ... found within this many calendar days before the day
SPIKE_MIN_REFERENCE_DAYS = 3


def spike_reference(daily: pd.DataFrame) -> pd.DataFrame:
    """Per diary day with pain: the mean daily pain of the previous 7 diary days with pain found
    within the previous 14 calendar days, and how many there were (review-metrics.md v2).

    One bad day after one good day is ordinary variation; a day well above the patient's
    recent week is worth a look.
    """
    days = daily.dropna(subset=["pain"])[["diary_date", "pain"]].reset_index(drop=True)
    total = pd.Series(0.0, index=days.index)
    count = pd.Series(0, index=days.index)
    for k in range(1, SPIKE_REFERENCE_DAYS + 1):
        within = (days["diary_date"] - days["diary_date"].shift(k)).dt.days <= SPIKE_LOOKBACK_DAYS
        total += days["pain"].shift(k).where(within, 0.0).fillna(0.0)
        count += within.astype("int64")
    return days.assign(reference=(total / count).where(count > 0), reference_days=count)


def pain_spike(daily: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Daily pain ``pain_spike_points`` or more above the mean of the previous 7 diary days with
    pain within 14 calendar days (at least 3 of them); consecutive spike days are one run."""
    days = spike_reference(daily)
    fired = ((days["reference_days"] >= SPIKE_MIN_REFERENCE_DAYS)
             & ((days["pain"] - days["reference"]).round(9) >= thresholds.pain_spike_points))
    return _run_flags("pain_spike", days, fired, "diary_date", lambda run: (
        f"pain {_n(run['pain'].max())} at most, up to +{_n((run['pain'] - run['reference']).max())} over the "
        f"previous week's mean, on {_days(len(run))}"))


def low_mood(daily: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Mood <= ``low_mood_max`` on ``low_mood_days`` consecutive diary days with mood recorded."""
    days = daily.dropna(subset=["mood"])[["diary_date", "mood"]].reset_index(drop=True)
    fired = days["mood"] <= thresholds.low_mood_max + TOLERANCE
    return _run_flags("low_mood", days, fired, "diary_date", lambda run: (
        f"mood <= {_n(thresholds.low_mood_max)} on {len(run)} consecutive diary days "
        f"({', '.join(_n(m) for m in run['mood'])})"), min_length=thresholds.low_mood_days)


def diary_gap(daily: pd.DataFrame, as_of: date, thresholds: Thresholds,
              period_start: pd.Timestamp | None = None) -> pd.DataFrame:
    """``diary_gap_days`` or more days without an entry, counted from the first entry on or after
    ``period_start`` (the review period's start; None: the first entry), dated from the first to
    the last day without one (a gap still open on the as-of date ends there).

    v3: a lone reading years before the diary (a 1999 blood pressure in a FHIR file) is outside the
    review period and starts no gap; a gap's start is never after its end."""
    kept = daily["diary_date"]
    if period_start is not None:
        kept = kept[kept >= day(period_start)]
    kept = kept[kept <= day(as_of)]
    dates = list(kept) + ([day(as_of) + pd.Timedelta(days=1)] if len(kept) else [])
    rows = []
    for before, after in zip(dates, dates[1:]):
        missing = (after - before).days - 1
        if missing >= thresholds.diary_gap_days:
            rows.append({"rule": "diary_gap", "start": before + pd.Timedelta(days=1),
                         "end": after - pd.Timedelta(days=1), "detail": f"{missing} days without an entry"})
    return _frame(rows)


def no_benefit_escalation(step_response_tbl: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """A troche step raised the daily dose (mg/day) over the previous troche step, neither step is
    early, and its response pain is not at least ``escalation_min_benefit_points`` below the
    previous step's. An early step is "too early to judge", not a flag. Dated by the step."""
    steps = step_response_tbl[route_key(step_response_tbl["route"]) == "troche"].sort_values("start")
    rows = []
    for prev, step in zip(steps.iloc[:-1].itertuples(), steps.iloc[1:].itertuples()):
        if pd.isna(step.daily_dose_mg) or pd.isna(prev.daily_dose_mg) or step.daily_dose_mg <= prev.daily_dose_mg:
            continue
        if step.early or prev.early or pd.isna(step.response_pain) or pd.isna(prev.response_pain):
            continue
        benefit = round(prev.response_pain - step.response_pain, 9)
        if benefit < thresholds.escalation_min_benefit_points:
            rows.append({"rule": "no_benefit_escalation", "start": step.start, "end": step.end, "detail": (
                f"{_n(prev.daily_dose_mg)} -> {_n(step.daily_dose_mg)} mg/day; response pain "
                f"{_n(step.response_pain)} vs {_n(prev.response_pain)} before ({_n(-benefit):s} points; needs a "
                f"drop of {_n(thresholds.escalation_min_benefit_points)})")})
    return _frame(rows)


LIVER_ENZYME_NAMES = {"1742-6": "ALT", "1920-8": "AST"}


def liver_tests_high(labs: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """ALT (LOINC 1742-6) or AST (1920-8) above ``liver_uln_factor`` x the upper limit of normal
    (the result's own referenceRange.high, else ``liver_upper_limit_u_l``): the FDA's 2009 guidance
    on drug-induced liver injury reads ALT or AST > 3 x ULN as a signal (Hy's law), and repeated
    ketamine has injured the liver (Noppers et al. 2011, Pain 152:2173-2178). Exactly 3 x does not
    fire. ``labs``: ``analysis.measures.lab_results``. Days with an ALT/AST result are evaluated;
    consecutive firing days form one run, as for the other daily rules."""
    enzymes = labs[labs["code"].isin(list(LIVER_ENZYME_NAMES)) & labs["value"].notna() & labs["upper_limit"].notna()]
    above = (enzymes["value"] - thresholds.liver_uln_factor * enzymes["upper_limit"]).round(9) > 0
    results = enzymes.assign(above=above, text=[
        f"{LIVER_ENZYME_NAMES[c]} {_n(v)}{'' if pd.isna(u) else ' ' + str(u)} = {_n(t)} x the upper limit {_n(limit)}"
        for c, v, u, t, limit in zip(enzymes["code"], enzymes["value"], enzymes["unit"],
                                     enzymes["times_upper_limit"], enzymes["upper_limit"])])
    per_day = results.groupby("diary_date", sort=True).agg(
        above=("above", "any"), text=("text", lambda ts: [t for t, a in zip(ts, results.loc[ts.index, "above"]) if a]),
    ).reset_index()
    return _run_flags("liver_tests_high", per_day, per_day["above"], "diary_date", lambda run: (
        f"{'; '.join(t for ts in run['text'] for t in ts)} (above {_n(thresholds.liver_uln_factor)} x) "
        f"on {_days(len(run))}"))


def self_harm_thoughts(answers: pd.DataFrame) -> pd.DataFrame:
    """PHQ-9 item 9 (LOINC 44260-8: thoughts of being better off dead or of self-harm) answered
    above "not at all" (0). ``answers``: diary_date, value (0-3), from an imported questionnaire
    or observation. Each answer day is a flag: it asks for a conversation, not a trend."""
    fired = answers[answers["value"] > 0].sort_values("diary_date")
    return _frame([{"rule": "self_harm_thoughts", "start": row.diary_date, "end": row.diary_date,
                    "detail": f"PHQ-9 item 9 answered {_n(row.value)} (0 = not at all, 3 = nearly every day)"}
                   for row in fired.itertuples(index=False)])


NO_ANSWERS = pd.DataFrame({"diary_date": pd.Series(dtype="datetime64[ns]"), "value": pd.Series(dtype="float64")})


def flags_table(*, diary: pd.DataFrame, side_effects: pd.DataFrame, steps: pd.DataFrame,
                comedications: pd.DataFrame, as_of: date, thresholds: Thresholds,
                phq9_item9: pd.DataFrame = NO_ANSWERS) -> pd.DataFrame:
    """Every rule's flags from the query frames, safety rules first, then by start date."""
    daily = daily_values(diary, as_of)
    steps_tbl = steps_table(steps, as_of)
    return review_flags(
        daily=daily, severity=daily_side_effect_severity(side_effects, as_of), steps_tbl=steps_tbl,
        step_response_tbl=step_response_table(daily, steps_tbl, None, thresholds), diary=diary,
        comedications=comedications, as_of=as_of, thresholds=thresholds, phq9_item9=phq9_item9,
    )


def review_flags(*, daily, severity, steps_tbl, step_response_tbl, diary, comedications, as_of,
                 thresholds: Thresholds, phq9_item9: pd.DataFrame = NO_ANSWERS,
                 over_days: pd.DataFrame | None = None, period_start: pd.Timestamp | None = None,
                 labs: pd.DataFrame | None = None, mentions: pd.DataFrame | None = None) -> pd.DataFrame:
    """``flags_table`` from frames already derived (daily values, severity, steps, responses and,
    if known, ``adherence.over_prescribed_days``); ``period_start``: the review period's start,
    where ``diary_gap`` begins counting; ``labs``: ``analysis.measures`` frames of lab results;
    ``mentions``: ``comedication.mentions``, when the caller has it."""
    answers = phq9_item9[phq9_item9["diary_date"] <= day(as_of)]
    over_days = over_prescribed_days(daily, steps_tbl) if over_days is None else over_days
    parts = [
        bp_high(daily, thresholds), bladder(severity, thresholds), dissociation_severe(severity, thresholds),
        over_prescribed(over_days, thresholds), co_sedative(diary, comedications, as_of, mentions),
        liver_tests_high(labs, thresholds) if labs is not None else _frame([]),
        self_harm_thoughts(answers), pain_spike(daily, thresholds), low_mood(daily, thresholds),
        diary_gap(daily, as_of, thresholds, period_start), no_benefit_escalation(step_response_tbl, thresholds),
    ]
    return safety_first(_concat(parts))


def safety_first(flags: pd.DataFrame) -> pd.DataFrame:
    """Rules in the order of ``RULES`` (safety first), each rule's runs by start date."""
    order = flags["rule"].map(RULE_ORDER).fillna(len(RULE_ORDER))
    return (flags.assign(_order=order).sort_values(["_order", "start"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))


STATUS_COLUMNS = ["name", "safety", "new", "acknowledged", "acknowledged_by", "acknowledged_at", "acknowledgement_note",
                  "shown_start", "shown_end"]


def flag_status(flags: pd.DataFrame, *, last_visit: pd.Timestamp | None, acknowledgements: pd.DataFrame,
                period_start: pd.Timestamp | None, as_of: date) -> pd.DataFrame:
    """What a clinician needs to read each flag (review-metrics.md v2, "Reading flags").

    ``new``: the run ends after the last visit (no visit yet: every flag is new); a co-sedative
    (a flag with ``drug_start``) only when the drug started after the last visit (v3).
    ``acknowledged``: a clinician acknowledged this run (same rule and true start) on or before
    the as-of date; a later run of the rule has another start and is a new flag.
    ``shown_start``/``shown_end``: the dates clipped to the review period (``period_start`` to
    the as-of date) for display; ``start``/``end`` keep the truth.
    """
    as_of = day(as_of)
    acks = acknowledgements[acknowledgements["acknowledged_at"] < as_of + pd.Timedelta(days=1)]
    acks = acks.sort_values("acknowledged_at").drop_duplicates(["rule", "flag_start"], keep="first")
    merged = flags.merge(acks.rename(columns={"flag_start": "start", "note": "acknowledgement_note"})
                         [["rule", "start", "acknowledged_by", "acknowledged_at", "acknowledgement_note"]],
                         on=["rule", "start"], how="left")
    lower = flags["start"] if period_start is None else flags["start"].clip(lower=day(period_start))
    # A run wholly before the period is shown on its own end day: a shown start never follows the shown end.
    lower = lower.clip(upper=as_of).where(lower.clip(upper=as_of) <= flags["end"].clip(upper=as_of),
                                          flags["end"].clip(upper=as_of))
    table = merged.assign(
        name=merged["rule"].map(rule_name),
        safety=merged["rule"].map(lambda key: key in RULES and RULES[key].safety).astype(bool),
        new=_new(merged, last_visit),
        acknowledged=merged["acknowledged_at"].notna(),
        shown_start=lower.to_numpy(), shown_end=merged["end"].clip(upper=as_of),
    )
    table["new"] = table["new"].astype(bool)
    return table[[*FLAG_COLUMNS, *STATUS_COLUMNS]].astype({"shown_start": "datetime64[ns]",
                                                          "shown_end": "datetime64[ns]"})


def _new(flags: pd.DataFrame, last_visit: pd.Timestamp | None) -> pd.Series | bool:
    if last_visit is None:
        return True
    new = flags["end"] > day(last_visit)
    if "drug_start" in flags:
        drug = flags["drug_start"].notna()
        new = new.where(~drug, new & (flags["drug_start"] > day(last_visit)))
    return new


def open_flag_counts(status: pd.DataFrame) -> pd.DataFrame:
    """One line per rule that fired, safety first: runs, open (not acknowledged), new and open,
    acknowledged, and the last day (review-metrics.md v2: acknowledged flags stay visible but
    no longer count as open)."""
    columns = ["rule", "name", "safety", "runs", "open", "new", "acknowledged", "last"]
    if status.empty:
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(
            columns, ["object", "object", "bool", "int64", "int64", "int64", "int64", "datetime64[ns]"])})
    open_ = ~status["acknowledged"]
    grouped = status.assign(_open=open_, _new=open_ & status["new"]).groupby("rule", sort=False)
    table = pd.DataFrame({
        "runs": grouped.size(), "open": grouped["_open"].sum(), "new": grouped["_new"].sum(),
        "acknowledged": grouped["acknowledged"].sum(), "last": grouped["shown_end"].max(),
    }).reset_index()
    table = table.assign(name=table["rule"].map(rule_name),
                         safety=table["rule"].map(lambda key: key in RULES and RULES[key].safety).astype(bool))
    table = table.astype({"runs": "int64", "open": "int64", "new": "int64", "acknowledged": "int64"})
    return safety_first(table.assign(start=table["last"]))[columns]
