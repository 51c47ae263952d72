"""Measures on the review: validated instruments over time, other measures listed, and the
PHQ-9 item 9 answers the ``self_harm_thoughts`` flag reads (review-metrics.md, "Flags").

Pure pandas: the frames of ``db.queries.measures_frame`` in, frames and plain values out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import pandas as pd

from dashboard.analysis.daily import day
from dashboard.config import Thresholds
from dashboard.measures import INSTRUMENTS, LABS, LIVER_ENZYMES, LOINC_SYSTEMS, OTHER, PHQ9_BANDS, PHQ9_ITEM9

NO_MEASURES = pd.DataFrame({
    "recorded_at": pd.Series(dtype="datetime64[ns]"), "diary_date": pd.Series(dtype="datetime64[ns]"),
    "instrument": pd.Series(dtype="object"), "system": pd.Series(dtype="object"), "code": pd.Series(dtype="object"),
    "name": pd.Series(dtype="object"), "value": pd.Series(dtype="float64"), "answer_code": pd.Series(dtype="object"),
    "answer_text": pd.Series(dtype="object"), "answer_position": pd.Series(dtype="float64"),
    "unit": pd.Series(dtype="object"), "source": pd.Series(dtype="object"), "import_id": pd.Series(dtype="float64"),
    "reference_low": pd.Series(dtype="float64"), "reference_high": pd.Series(dtype="float64"),
})
CHARTED = tuple(key for key, spec in INSTRUMENTS.items() if spec.charted)


def up_to(measures: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Measures on or before the review date: nothing after it counts."""
    return measures[measures["diary_date"] <= day(as_of)].reset_index(drop=True)


def item9_answers(measures: pd.DataFrame) -> pd.DataFrame:
    """PHQ-9 item 9 (LOINC 44260-8) answers with a score, as ``flags.self_harm_thoughts`` reads them:
    diary_date, value (0 not at all .. 3 nearly every day)."""
    found = measures[(measures["code"] == PHQ9_ITEM9) & measures["system"].isin(LOINC_SYSTEMS)
                     & measures["value"].notna()]
    return found[["diary_date", "value"]].reset_index(drop=True)


def charted(measures: pd.DataFrame) -> pd.DataFrame:
    """The instruments drawn over time (scores with a number), with their human names."""
    shown = measures[measures["instrument"].isin(CHARTED) & measures["value"].notna()]
    return shown.assign(instrument_name=shown["instrument"].map(lambda k: INSTRUMENTS[k].name))


def listed(measures: pd.DataFrame) -> pd.DataFrame:
    """Everything not charted, newest first, as a table: questionnaire items, urine drug screens
    and other measures, each with its instrument's name ("Other measure" for the rest)."""
    rest = measures[~measures.index.isin(charted(measures).index)]
    kind = rest["instrument"].map(lambda k: INSTRUMENTS[k].name if k in INSTRUMENTS else "Other measure")
    return rest.assign(kind=kind).sort_values("recorded_at", ascending=False).reset_index(drop=True)


def phq9_severity(score: float) -> str:
    """PHQ-9 severity band (Kroenke et al. 2001): 5 mild, 10 moderate, 15 moderately severe, 20 severe."""
    return next(name for low, high, name in reversed(PHQ9_BANDS) if score >= low)


def latest(measures: pd.DataFrame) -> list[dict]:
    """The latest answer of every instrument's code (not other measures), for ``summary --json``."""
    own = measures[measures["instrument"] != OTHER].sort_values("recorded_at")
    rows = []
    for (instrument, code), group in own.groupby(["instrument", "code"], sort=True):
        last = group.iloc[-1]
        value = None if pd.isna(last["value"]) else float(last["value"])
        rows.append({
            "instrument": instrument, "code": code, "name": last["name"], "date": last["diary_date"],
            "value": value, "answer": None if pd.isna(last["answer_text"]) else last["answer_text"],
            "unit": None if pd.isna(last["unit"]) else last["unit"], "count": int(len(group)),
            **({"severity": phq9_severity(value)} if instrument == "phq9" and value is not None else {}),
        })
    return rows


def summary(measures: pd.DataFrame) -> dict:
    """``measures`` of ``summary --json``: the latest of each instrument and the count of other measures."""
    return {"latest": latest(measures), "other_measures": int((measures["instrument"] == OTHER).sum())}


def item9_words(measures: pd.DataFrame, since: pd.Timestamp | None) -> tuple[str, bool]:
    """The safety card's PHQ-9 item 9 line: what was answered since ``since`` (the last visit, or
    the whole review when None), and whether it is above "not at all" (the flag's rule)."""
    answers = item9_answers(measures)
    if answers.empty:
        return "no questionnaire imported", False
    recent = answers if since is None else answers[answers["diary_date"] >= since]
    if recent.empty:
        last = answers.iloc[-1]
        return f"not answered since the last visit (last {last['value']:g}/3 on {last['diary_date']:%d %b %Y})", False
    highest = float(recent["value"].max())
    return f"highest {highest:g}/3 (0 = not at all) in {len(recent)} answer(s)", highest > 0


# ------------------------------------------------------------------ laboratory results (v3)

LAB_COLUMNS = ["diary_date", "recorded_at", "code", "name", "value", "unit", "answer_text", "upper_limit",
               "times_upper_limit"]
_DEFAULT_LIMIT_UNITS = {"", "u/l", "iu/l", "[iu]/l", "u/l (37 c)"}


@dataclass(frozen=True)
class LabResult:
    """The latest result of one laboratory test since the last visit (review-metrics.md v3)."""

    code: str
    name: str
    value: float | None
    unit: str | None
    upper_limit: float | None  # the laboratory's referenceRange.high, else the setting for ALT/AST in U/L
    times_upper_limit: float | None
    date: pd.Timestamp
    answer: str | None = None  # a result written in words ("negative", "1+", "< 5")

    def json(self) -> dict:
        return {"code": self.code, "name": self.name, "value": self.value, "unit": self.unit,
                "upper_limit": self.upper_limit, "times_upper_limit": self.times_upper_limit, "date": self.date,
                **({"answer": self.answer} if self.answer is not None else {})}


def lab_results(measures: pd.DataFrame, thresholds: Thresholds) -> pd.DataFrame:
    """Liver tests and urinalysis (``dashboard.measures.LABS``, LOINC) with their upper limit and
    the value's multiple of it, oldest first.

    The upper limit is the observation's own ``referenceRange.high``; without one, ALT and AST in
    U/L (or without a unit) are read against ``liver_upper_limit_u_l``; other tests have none."""
    found = measures[measures["code"].isin(list(LABS)) & measures["system"].isin(LOINC_SYSTEMS)]
    found = found.sort_values(["recorded_at", "code"], kind="stable")
    own = found["reference_high"].astype("float64")
    units = found["unit"].fillna("").astype("str").str.strip().str.lower()
    default = found["code"].isin(list(LIVER_ENZYMES)) & units.isin(list(_DEFAULT_LIMIT_UNITS))
    limit = own.where(own.notna() & (own > 0), pd.Series(thresholds.liver_upper_limit_u_l, index=found.index)
                      .where(default))
    value = found["value"].astype("float64")
    table = found.assign(name=found["code"].map(lambda c: LABS[c].name), value=value, upper_limit=limit,
                         times_upper_limit=value / limit)
    return table[LAB_COLUMNS].reset_index(drop=True).astype({"upper_limit": "float64", "times_upper_limit": "float64"})


def labs_since(labs: pd.DataFrame, start: pd.Timestamp | None, end: pd.Timestamp) -> list[LabResult]:
    """The latest result of each test from ``start`` (None: from the first) to ``end``, in the
    order of ``dashboard.measures.LABS`` (liver tests first); an empty list when none."""
    kept = labs[(labs["diary_date"] <= day(end)) & ((labs["diary_date"] >= day(start)) if start is not None else True)]
    latest_rows = kept.groupby("code", sort=False).tail(1).set_index("code")
    out = []
    for code in LABS:
        if code not in latest_rows.index:
            continue
        row = latest_rows.loc[code]
        out.append(LabResult(code=code, name=row["name"], value=_num(row["value"]),
                             unit=None if pd.isna(row["unit"]) else str(row["unit"]),
                             upper_limit=_num(row["upper_limit"]), times_upper_limit=_num(row["times_upper_limit"]),
                             date=row["diary_date"],
                             answer=None if pd.isna(row["answer_text"]) else str(row["answer_text"])))
    return out


def _num(value) -> float | None:
    return None if value is None or pd.isna(value) else float(value)
