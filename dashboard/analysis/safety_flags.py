"""The safety flag rules: blood pressure, bladder, dissociation, more taken than prescribed,
co-sedatives, liver tests and thoughts of self-harm (review-metrics.md, "Flags").

Sources: ketamine raises blood pressure, causes dissociation and can cause ulcerative cystitis,
and is open to misuse (FDA 2023 warning on compounded ketamine; ASRA/AAPM/ASA consensus, Cohen et
al. 2018, Reg Anesth Pain Med 43:521-546); opioids and benzodiazepines add sedation. Severity
grades follow CTCAE (3 = severe). Each daily rule's flags are runs (``flag_rules``).
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from dashboard.analysis import comedication
from dashboard.analysis.daily import day
from dashboard.analysis.flag_rules import _concat, _days, _frame, _n, _Run, _run_flags
from dashboard.analysis.side_effects import SEVERE
from dashboard.config import Thresholds


BLADDER_WORDS = ("bladder", "urin", "cystitis", "dysuria")
CO_SEDATIVE_CLASSES = ("opioid", "benzodiazepine")


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
