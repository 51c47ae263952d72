"""What a file becomes with a profile, before anything is saved: the first entries as they would be
stored, the refused rows, what is ignored, and why the file cannot be imported yet. The mapping
page shows it live while staff edit the profile (through ``usecases.imports.preview_mapping``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from dashboard.ingest.csv_text import Table
from dashboard.ingest.profiles.reader import parse_with_profile
from dashboard.ingest.profiles.spec import FIELDS, ProfileError
from dashboard.ingest.profiles.suggest import date_readings, explain_unmappable
from dashboard.ingest.profiles.survey import field_values, words_needing_numbers
from dashboard.ingest.profiles.validate import validate_profile
from dashboard.ingest.records import DiaryRecord, FileRefused, RefusedRow

PREVIEW_ROWS = 20


@dataclass
class MappingPreview:
    """``problems`` is empty when the file can be imported with the profile."""

    problems: list[str]
    entries: int = 0
    rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    refused: list[RefusedRow] = field(default_factory=list)
    ignored: dict[str, int] = field(default_factory=dict)
    date_readings: list[dict] = field(default_factory=list)


def preview_mapping(raw: bytes, file_name: str, profile: dict, *, patient_ref: str | None = None,
                    limit: int = PREVIEW_ROWS, today: date | None = None) -> MappingPreview:
    """The file read with ``profile``: its first ``limit`` entries as they would be stored. A profile
    that does not validate, or a file it refuses, gives the reason and no rows."""
    problems = explain_unmappable(raw, file_name, profile, patient_ref=patient_ref, today=today)
    try:
        p = validate_profile(profile)
        parsed = parse_with_profile(raw, file_name, p, patient_ref=patient_ref, today=today)
    except (ProfileError, FileRefused):
        return MappingPreview(problems)
    try:
        readings = date_readings(raw, file_name, p)
    except (FileRefused, ValueError):
        readings = []
    return MappingPreview(problems, len(parsed.diary), stored_rows(parsed.diary, limit), parsed.refused,
                          dict(parsed.ignored), readings)


def stored_rows(records: list[DiaryRecord], limit: int = PREVIEW_ROWS) -> pd.DataFrame:
    """Entries as the diary stores them, in the file's row order: the file row, patient, date, time
    (blank for a date-only entry), the UTC offset, and each field in the diary's order."""
    rows = []
    for rec in sorted(records, key=lambda r: (r.row if isinstance(r.row, int) else 0))[:limit]:
        values = {**rec.measures, **rec.side_effects}
        offset = rec.utc_offset_minutes
        sign = "+" if offset is not None and offset >= 0 else "-"
        rows.append({
            "file row": rec.row, "patient": rec.patient_ref, "date": rec.recorded_at.date().isoformat(),
            "time": rec.recorded_at.strftime("%H:%M") if rec.has_time else "",
            "UTC offset": "" if offset is None else f"{sign}{abs(offset) // 60:02d}:{abs(offset) % 60:02d}",
            **{name: values[name] for name in FIELDS if name in values},
        })
    return pd.DataFrame(rows)


def words_to_number(table: Table, profile: dict) -> dict[str, list[str]]:
    """For each numbered field, the words its cells hold that need a number in ``value_maps``
    ("not recorded" words and columns read by a rule left out)."""
    out = {}
    for name, cells in field_values(table, profile).items():
        words = words_needing_numbers(name, cells)
        if words:
            out[name] = words
    return out
