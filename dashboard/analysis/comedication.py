"""Co-medication, one line per drug (review-metrics.md v3, "Co-medication, one line per drug").

Co-medication records (clinic records, imported prescriptions and statements) and the diary's
other-medication entries of the same ingredient are one line: the ingredient (RxNorm where coded,
else the name before the strength, case-insensitive: ``medications.ingredient``), its class, the
latest dose text, when it started and whether the dose went down or up. Opioids and
benzodiazepines among them are co-sedatives (FDA 2023 warning on compounded ketamine; Cohen et
al. 2018, Reg Anesth Pain Med 43:521-546); reducing an opioid is also a treatment goal, so a
dose going down is said as plainly as one going up.

Pure pandas: the frames of ``db.queries`` in, frames out.
"""

from __future__ import annotations

import re
from datetime import date

import pandas as pd

from dashboard.analysis.daily import as_object, day
from dashboard.medications import drug_class, ingredient, strength_mg, strength_text

CO_SEDATIVE_CLASSES = ("opioid", "benzodiazepine")  # as safety_flags.CO_SEDATIVE_CLASSES (it imports this module)
MENTION_COLUMNS = ["ingredient", "name", "drug_class", "dose_text", "start", "end", "source", "start_precision"]
LINE_COLUMNS = ["ingredient", "drug_class", "dose_text", "start", "last", "dose_change", "names", "sources",
                "start_precision"]
# A start written as a month or a year alone (FHIR "2015-03", import-formats.md v3) is its first
# day; of two starts on one day, the finer one says more.
_FINER = {None: 0, "month": 1, "year": 2}
_SPLIT = re.compile(r"[;,\n]")


def _text(value) -> str | None:
    return None if value is None or pd.isna(value) or not str(value).strip() else str(value).strip()


def mentions(diary: pd.DataFrame, comedications: pd.DataFrame, as_of: date) -> pd.DataFrame:
    """Every record and diary mention of a drug up to the as-of date, one row each.

    A record's dates are its start (unknown: the as-of date, as the flags read it) to its end
    (open and active: the as-of date; otherwise its start, all that is known). A diary mention is
    one drug of an entry's other medication (parts split at commas and semicolons), on its day.
    ``start_precision`` is the record's ('month' or 'year' for a partial date, else None).
    """
    as_of = day(as_of)
    rows = []
    for rec in comedications.itertuples(index=False):
        start = as_of if pd.isna(rec.start_date) else day(rec.start_date)
        precision = None if pd.isna(rec.start_date) else _text(rec.start_precision)
        if start > as_of:
            continue
        rxnorm = _text(rec.rxnorm)
        active = str(rec.status or "").lower() == "active"
        end = min(day(rec.end_date), as_of) if not pd.isna(rec.end_date) else (as_of if active else start)
        given = _text(rec.drug_class)
        cls = given if given in CO_SEDATIVE_CLASSES else (drug_class(rec.name, rxnorm) or given)
        rows.append((ingredient(rec.name, rxnorm), str(rec.name), cls, _text(rec.dose_text) or strength_text(rec.name),
                     start, end, str(rec.source), precision))
    texts = diary[(diary["diary_date"] <= as_of) & diary["other_medication"].notna()]
    for when, text in zip(texts["diary_date"], texts["other_medication"].astype(str)):
        for part in _SPLIT.split(text):
            part = " ".join(part.split())
            if part:
                rows.append((ingredient(part), part, drug_class(part), strength_text(part), day(when), day(when),
                             "diary", None))
    frame = pd.DataFrame(rows, columns=MENTION_COLUMNS)
    for column in ("drug_class", "dose_text", "start_precision"):
        frame[column] = as_object(frame[column])
    return frame.astype({"start": "datetime64[ns]", "end": "datetime64[ns]"})


def dose_change(doses: list[float | None]) -> str | None:
    """'up' or 'down': the latest strength against the one before it that differs; None when the
    dose never changed or is not written in mg."""
    known = [d for d in doses if d is not None]
    if len(known) < 2:
        return None
    latest = known[-1]
    before = next((d for d in reversed(known[:-1]) if abs(d - latest) > 1e-9), None)
    if before is None:
        return None
    return "up" if latest > before else "down"


def comedication_lines(found: pd.DataFrame) -> pd.DataFrame:
    """One line per ingredient of ``mentions``: its class, the latest dose text, the first start,
    the last day it is known to be taken, whether the dose went up or down, the names it was
    written under and the sources; by start, then ingredient. ``start_precision``: the first
    start's ('month' or 'year' when written so, the finer of two on one day)."""
    lines = []
    for name, group in found.groupby("ingredient", sort=True):
        ordered = group.sort_values(["start", "end"], kind="stable")
        classes = [c for c in ordered["drug_class"] if c]
        doses = [t for t in ordered["dose_text"] if t]
        lines.append({
            "ingredient": name, "drug_class": classes[-1] if classes else None,
            "dose_text": doses[-1] if doses else None, "start": ordered["start"].min(), "last": ordered["end"].max(),
            "dose_change": dose_change([strength_mg(t) for t in ordered["dose_text"]]),
            "names": sorted(set(ordered["name"]), key=lambda n: (n.casefold(), n)),
            "sources": sorted(set(ordered["source"])),
            "start_precision": min(ordered.loc[ordered["start"] == ordered["start"].min(), "start_precision"],
                                   key=lambda p: _FINER.get(p, 0)),
        })
    table = pd.DataFrame(lines, columns=LINE_COLUMNS)
    for column in ("drug_class", "dose_text", "dose_change", "start_precision"):
        table[column] = as_object(table[column])  # None when missing, never NaN
    return table.sort_values(["start", "ingredient"], kind="stable").reset_index(drop=True).astype(
        {"start": "datetime64[ns]", "last": "datetime64[ns]"})


def drug_starts(found: pd.DataFrame) -> dict[str, pd.Timestamp]:
    """When each ingredient was first recorded or mentioned: a co-sedative is new only when this
    is after the last visit."""
    return {name: day(start) for name, start in found.groupby("ingredient")["start"].min().items()}


def lines_json(lines: pd.DataFrame) -> list[dict]:
    """``co_medications`` of ``summary --json``; ``start_precision`` is 'month' or 'year' when the
    start was written so (``start`` is then its first day), else null."""
    return [{"ingredient": r.ingredient, "drug_class": r.drug_class, "dose_text": r.dose_text, "start": r.start,
             "start_precision": r.start_precision,
             "dose_change": r.dose_change, "names": list(r.names), "sources": list(r.sources)}
            for r in lines.itertuples(index=False)]
