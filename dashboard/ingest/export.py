"""A patient's diary written back as the native diary CSV (import-formats.md section 1).

The file imports again unchanged: export -> import -> export gives the same bytes. Numbers
keep every digit they were stored with and nothing more (7, not 7.0); free text that a
spreadsheet would run as a formula gets a leading quote (OWASP CSV injection), which the
importer removes again.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.db.models import DiaryEntry
from dashboard.db.queries import diary_frame, patient_by_ref, side_effects_frame
from dashboard.fields import DIARY_FIELDS, DIARY_MEASURES, DIARY_TEXTS, SIDE_EFFECTS
from dashboard.ingest.csv_text import escape_text

COLUMNS = ("patient_id", "date", *(f.name for f in DIARY_FIELDS))
NUMBERS = DIARY_MEASURES
TEXTS = DIARY_TEXTS


class UnknownPatient(LookupError):
    """Export was asked for a patient reference the clinic does not have."""

    def __init__(self, patient_ref: str):
        self.patient_ref = patient_ref
        super().__init__(f"no patient with the reference {patient_ref!r}: nothing to export")


def format_number(value: float) -> str:
    """The shortest text that reads back as the same float, never in exponent form (which the
    importer, like a clinician, reads as plain decimals): 7, 6.5, 0.059874385741699676."""
    if value == 0:
        return "0"  # also -0.0
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def format_timestamp(recorded_at: datetime, offset_minutes: int | None, has_time: bool) -> str:
    if not has_time:
        return recorded_at.date().isoformat()
    text = recorded_at.isoformat(timespec="microseconds" if recorded_at.microsecond else "seconds")
    if offset_minutes is None:
        return text
    sign = "-" if offset_minutes < 0 else "+"
    hours, minutes = divmod(abs(offset_minutes), 60)
    return f"{text}{sign}{hours:02d}:{minutes:02d}"


def _csv_row(entry: dict, ref: str, has_time: bool, grades: dict[str, int]) -> list[str]:
    offset = None if pd.isna(entry["utc_offset_minutes"]) else int(entry["utc_offset_minutes"])
    when = format_timestamp(entry["recorded_at"].to_pydatetime(), offset, has_time)
    row = {"patient_id": escape_text(ref), "date": when}
    for name in NUMBERS:
        row[name] = "" if pd.isna(entry[name]) else format_number(float(entry[name]))
    for name in TEXTS:
        row[name] = "" if pd.isna(entry[name]) else escape_text(str(entry[name]))
    for name in SIDE_EFFECTS:
        row[name] = str(grades[name]) if name in grades else ""
    return [row[name] for name in COLUMNS]


def export_patient_csv(session: Session, patient_ref: str) -> str:
    """The patient's whole diary, oldest entry first, as text with a comma delimiter (write it as UTF-8).

    Access is the caller's check (``dashboard.usecases.exports``).
    """
    patient = patient_by_ref(session, patient_ref)
    if patient is None:
        raise UnknownPatient(patient_ref)
    diary = diary_frame(session, patient.id)
    effects = side_effects_frame(session, patient.id)
    grades: dict[int, dict[str, int]] = {}
    for entry_id, name, grade in zip(effects["entry_id"], effects["effect"], effects["severity"]):
        grades.setdefault(int(entry_id), {})[str(name)] = int(grade)
    # diary_frame does not carry has_time; a date-only entry must not come back as "00:00:00".
    dated_only = set(session.scalars(
        select(DiaryEntry.id).where(DiaryEntry.patient_id == patient.id, DiaryEntry.has_time.is_(False))
    ))
    out = io.StringIO()
    # CRLF as RFC 4180 asks; it also makes the csv module quote a text holding a lone \r.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for entry in diary.to_dict("records"):
        entry_id = int(entry["entry_id"])
        writer.writerow(_csv_row(entry, patient.ref, entry_id not in dated_only, grades.get(entry_id, {})))
    return out.getvalue()


def trail_csv(frame: pd.DataFrame) -> bytes:
    """The audit trail's events as CSV for a spreadsheet (``spreadsheet_csv``): actors include
    whatever was typed at login."""
    return spreadsheet_csv(frame)


def spreadsheet_csv(frame: pd.DataFrame) -> bytes:
    """A table as CSV for a spreadsheet (the audit trail, the worklist): a cell that starts like a
    formula (=, +, -, @, tab, CR, or a look-alike) gets a leading quote (OWASP CSV injection), a
    header too; UTF-8 with a byte order mark so that Excel reads it as UTF-8."""
    out = io.StringIO(newline="")
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([_trail_cell(name) for name in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow([_trail_cell(value) for value in row])
    return out.getvalue().encode("utf-8-sig")  # the BOM makes Excel read UTF-8


def _trail_cell(value: object) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if isinstance(value, (datetime, pd.Timestamp)):
        return value.isoformat(sep=" ", timespec="seconds")
    return escape_text(str(value))
