"""Import speed against what the database can take at all, measured side by side in one run.

The dashboard's import (``import_file``: detection, full validation of every cell, conflicts
against stored entries, side effects, the import record with the file's bytes, the audit row)
against two baselines into the same ``diary_entry`` table of a new database:

* ``executemany``: ``pandas.read_csv``, the few conversions the table needs (dates, patient ids),
  then one plain SQLAlchemy ``executemany`` of every row — no validation, no side effects;
* ``copy`` (PostgreSQL): the same frame written with ``COPY ... FROM STDIN`` (CSV).

Figures are rows per second; the ratio is the import's speed over the baseline's.
"""

from __future__ import annotations

import io
import time
from datetime import datetime

import pandas as pd
from sqlalchemy import insert

from dashboard.db.models import DiaryEntry, Patient
from dashboard.db.session import get_engine

MEASURES = ["pain", "sleep", "mood", "function", "dose_mg", "bp_systolic", "bp_diastolic"]


def _frame(raw: bytes, patient_ids: dict[str, int]) -> pd.DataFrame:
    csv = pd.read_csv(io.BytesIO(raw))
    when = pd.to_datetime(csv["date"])
    frame = pd.DataFrame({
        "patient_id": csv["patient_id"].map(patient_ids), "recorded_at": when, "utc_offset_minutes": None,
        "has_time": True, "diary_date": when.dt.date, **{m: csv[m] for m in MEASURES if m in csv},
        "notes": csv.get("notes"), "source": "diary-csv", "import_id": None,
    })
    return frame


def _patients(conn, raw: bytes) -> dict[str, int]:
    refs = pd.read_csv(io.BytesIO(raw), usecols=["patient_id"])["patient_id"].unique()
    now = datetime.now()
    return {ref: conn.execute(insert(Patient).values(ref=ref, created_at=now).returning(Patient.id)).scalar_one()
            for ref in refs}


def baseline_executemany(url: str, raw: bytes) -> float:
    """Seconds for read_csv + one executemany of every row into diary_entry."""
    started = time.perf_counter()
    with get_engine(url).begin() as conn:
        frame = _frame(raw, _patients(conn, raw))
        records = frame.astype(object).where(frame.notna(), None).to_dict("records")
        conn.execute(insert(DiaryEntry.__table__), records)
    return time.perf_counter() - started


def baseline_copy(url: str, raw: bytes) -> float:
    """Seconds for read_csv + COPY FROM STDIN of every row (PostgreSQL only)."""
    started = time.perf_counter()
    with get_engine(url).begin() as conn:
        frame = _frame(raw, _patients(conn, raw))
        text = frame.to_csv(index=False, header=False)
        columns = ", ".join(f'"{c}"' for c in frame.columns)
        cursor = conn.connection.driver_connection.cursor()
        with cursor.copy(f"COPY diary_entry ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(text)
    return time.perf_counter() - started


def full_import(url: str, raw: bytes) -> float:
    from dashboard.ingest.service import import_file

    started = time.perf_counter()
    report = import_file(raw, "bench-100k.csv", url=url, actor="bench")
    seconds = time.perf_counter() - started
    if report.status != "imported":
        raise RuntimeError(f"the benchmark file did not import: {report.status} {report.message}")
    return seconds


def measure(new_database, raw: bytes, backend: str) -> dict:
    """``new_database()`` gives the URL of a new, migrated, empty database (one per measurement)."""
    rows = raw.count(b"\n") - 1
    out = {"rows": rows, "file_mb": round(len(raw) / 1e6, 2)}
    out["import_s"] = full_import(new_database(), raw)
    out["executemany_s"] = baseline_executemany(new_database(), raw)
    if backend == "postgresql":
        out["copy_s"] = baseline_copy(new_database(), raw)
    for key in ("import", "executemany", "copy"):
        if f"{key}_s" in out:
            out[f"{key}_rows_per_s"] = round(rows / out[f"{key}_s"])
    out["ratio_to_executemany"] = round(out["executemany_s"] / out["import_s"], 3)
    if "copy_s" in out:
        out["ratio_to_copy"] = round(out["copy_s"] / out["import_s"], 3)
    return out
