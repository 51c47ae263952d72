"""Small frames for the analysis tests, with exactly the columns and dtypes of dashboard.db.queries."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pandas as pd

from dashboard.db.models import DIARY_MEASURES
from dashboard.db.queries import (
    COMEDICATION_COLUMNS,
    DIARY_COLUMNS,
    SIDE_EFFECT_COLUMNS,
    STEP_COLUMNS,
    VISIT_COLUMNS,
    _frame,
)


def day(text: str) -> date:
    return date.fromisoformat(text)


def ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text).as_unit("ns")


def dates(*texts: str) -> pd.Series:
    return pd.Series([ts(t) for t in texts], dtype="datetime64[ns]")


def diary(*entries: dict) -> pd.DataFrame:
    """Entries as dicts: ``date`` (the local diary date), optional ``at`` (local time) and measures."""
    rows = []
    for i, entry in enumerate(entries, start=1):
        values = dict.fromkeys(DIARY_COLUMNS)
        values.update(entry_id=i, source="csv", diary_date=day(entry["date"]))
        values["recorded_at"] = datetime.fromisoformat(entry.get("at", f"{entry['date']}T12:00"))
        values.update({k: v for k, v in entry.items() if k not in ("date", "at")})
        rows.append(tuple(values[c] for c in DIARY_COLUMNS))
    return _frame(rows, DIARY_COLUMNS, dates=("recorded_at", "diary_date"), floats=DIARY_MEASURES)


def daily_diary(first: str, values: list, measure: str = "pain", **others) -> pd.DataFrame:
    """One entry a day from ``first``; a None value means no entry that day."""
    start = day(first)
    return diary(*[
        {"date": (start + timedelta(days=i)).isoformat(), measure: v, **others}
        for i, v in enumerate(values) if v is not None
    ])


def side_effects(*rows: tuple) -> pd.DataFrame:
    """Rows (diary date, effect, severity); each its own entry unless an entry id is given fourth."""
    built = [(r[3] if len(r) > 3 else i, day(r[0]), r[1], r[2]) for i, r in enumerate(rows, start=1)]
    frame = _frame(built, SIDE_EFFECT_COLUMNS, dates=("diary_date",))
    frame["severity"] = frame["severity"].astype("int64")
    return frame


def steps(*rows: dict) -> pd.DataFrame:
    """Steps as dicts with ``start`` and ``dose``; troche, daily and active unless said."""
    built = []
    for i, r in enumerate(rows, start=1):
        built.append((
            r.get("step_id", i), day(r["start"]), day(r["end"]) if r.get("end") else None, float(r["dose"]),
            r.get("frequency", "daily"), r.get("max_per_day"), r.get("route", "troche"), r.get("note"),
            r.get("status", "active"),
        ))
    return _frame(built, STEP_COLUMNS, dates=("start_date", "end_date"), floats=("dose_mg", "max_per_day"))


def visits(*rows: tuple) -> pd.DataFrame:
    """Rows (date, kind) or (date, kind, status); the status is 'held' unless given."""
    return _frame([(i, day(r[0]), r[1], None, r[2] if len(r) > 2 else "held") for i, r in enumerate(rows, start=1)],
                  VISIT_COLUMNS, dates=("date",))


def comedications(*rows: dict) -> pd.DataFrame:
    built = [(r["name"], r.get("rxnorm"), r.get("drug_class"), day(r["start"]),
              day(r["end"]) if r.get("end") else None, r.get("status"), r.get("dose_text"), r.get("source", "csv"),
              r.get("start_precision"), r.get("end_precision"))
             for r in rows]
    return _frame(built, COMEDICATION_COLUMNS, dates=("start_date", "end_date"))
