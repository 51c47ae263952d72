"""The flag rules' catalogue (``RULES``: key, name, safety or course, in reading order) and the runs
every daily rule's flags are made of.

Rules and defaults: review-metrics.md, "Flags". Runs: a daily rule is evaluated on the days its
measure was recorded (BP on days with a reading, bladder on days the symptom was rated, ...).
Firing days with no evaluated, non-firing day between them form one run and one flag
(``start``..``end``), so a week of high readings is one flag, and only a recorded normal value
ends a run; a day without a diary entry neither breaks nor extends it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


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


def safety_first(flags: pd.DataFrame) -> pd.DataFrame:
    """Rules in the order of ``RULES`` (safety first), each rule's runs by start date."""
    order = flags["rule"].map(RULE_ORDER).fillna(len(RULE_ORDER))
    return (flags.assign(_order=order).sort_values(["_order", "start"], kind="stable")
            .drop(columns="_order").reset_index(drop=True))
