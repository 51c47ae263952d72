"""Which of the CSV formats a file is, by its header (never by its file name, which staff rename)."""

from __future__ import annotations

from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import normalise_header, read_header
from dashboard.ingest.diary_csv import KNOWN as DIARY_KNOWN
from dashboard.ingest.diary_csv import MEASURES
from dashboard.ingest.records import FileRefused


def unreadable(raw: bytes, file_name: str) -> FileRefused | None:
    """Why the file cannot be read as text at all (a NUL byte, an undecodable byte, a double
    BOM, ...), or None: the import then names that reason instead of "not a format"."""
    try:
        read_header(raw, file_name)
    except FileRefused as exc:
        return exc
    return None


def detect_csv_format(raw: bytes, file_name: str) -> str | None:
    """``diary-csv``, ``titration``, ``visits``, or None for another layout.

    A native diary has a date (or timestamp) column, at least one measure or side effect, and
    mostly native columns: other diary apps (Daylio: full_date, date, weekday, time, mood, ...)
    share a `date` and a `mood` column but are a different layout, for the mapping page.
    """
    try:
        names = [normalise_header(name) for name in read_header(raw, file_name)]
    except FileRefused:
        return None
    names = [name for name in names if name]
    present = set(names)
    if {"start_date", "dose_mg"} <= present and present & {"frequency", "route"}:
        return "titration"
    has_diary_values = bool(present & {*MEASURES, *SIDE_EFFECTS})
    if {"date", "kind"} <= present and not has_diary_values:
        return "visits"
    native = sum(1 for name in names if name in DIARY_KNOWN)
    if present & {"date", "timestamp"} and has_diary_values and native * 2 >= len(names):
        return "diary-csv"
    return None



def lacks_dates(raw: bytes, file_name: str) -> bool:
    """A diary CSV without its date: the header names diary values (pain, mood, a side effect)
    but no date or timestamp column, so the patient can be told to export it again with dates."""
    try:
        present = {normalise_header(name) for name in read_header(raw, file_name)}
    except FileRefused:
        return False
    return bool(present & {*MEASURES, *SIDE_EFFECTS}) and not present & {"date", "timestamp"}
