"""The native diary CSV (import-formats.md section 1): one row per diary entry.

Every bad cell is refused with its row and column, and the other rows still import.
``peg`` (the PEG mean, 0-10) is read too, because the store keeps it and the export writes it.
A row holding only free text (notes, other_medication) has no measure and is refused.
A column named by a LOINC code (``44261-6``: PHQ-9 total; ``44260-8``: PHQ-9 item 9, in figures
or the answer's words) carries a measure (``dashboard.measures``), never a diary value.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from itertools import zip_longest

import pandas as pd

from dashboard import fields, measures as instruments
from dashboard import patient_ref as patient_refs
from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import (
    Table,
    cell,
    parse_number,
    read_csv,
    read_rows,
    refuse,
    report_unknown_columns,
    require_patient,
    unescape_text,
)
from dashboard.ingest.records import DiaryRecord, FileRefused, MeasureRecord, ParsedFile, RefusedRow

FORMAT = "diary-csv"
# The diary's fields and ranges come from ``dashboard.fields`` (one table); 0-10 scales: pain NRS,
# PEG items (Krebs et al. 2009, J Gen Intern Med 24:733).
SCALES = fields.SCALES
BP_RANGES = {name: fields.RANGES[name] for name in fields.BLOOD_PRESSURE}
MEASURES = fields.DIARY_MEASURES
RANGES = {name: fields.RANGES[name] for name in MEASURES}
UNITS = {f.name: f" {f.unit}" for f in fields.DIARY_FIELDS if f.unit}
TEXTS = fields.DIARY_TEXTS
NOTES_MAX = fields.NOTES_MAX
SEVERITY_WORDS = {"none": 0, "mild": 1, "moderate": 2, "severe": 3}
KNOWN = {"patient_id", "date", "timestamp", *MEASURES, *SIDE_EFFECTS, *TEXTS}

_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})"
    r"(?:[T ]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?",
    re.ASCII,
)
ISO_HINT = "write it as 2026-03-01 or 2026-03-01T21:30 (ISO 8601; dates are never guessed)"


def parse_timestamp(text: str) -> tuple[datetime, int | None, bool]:
    """(local wall time, UTC offset in minutes or None, has_time). The time is kept as the
    patient wrote it: their diary day is their own, wherever the server is."""
    text = text.strip()
    match = _TIMESTAMP.fullmatch(text)
    if not match:
        what = f"{text!r} is not an ISO 8601 date or time" if text else "the date is empty"
        raise ValueError(f"{what}: {ISO_HINT}")
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        when = datetime(
            int(year), int(month), int(day), int(hour or 0), int(minute or 0), int(second or 0),
            int((fraction or "0").ljust(6, "0")),
        )
    except ValueError:
        raise ValueError(f"{text!r} is not a date and time on the calendar") from None
    if offset is None:
        return when, None, hour is not None
    if offset == "Z":
        return when, 0, True
    minutes = int(offset[1:3]) * 60 + int(offset[4:6])
    if int(offset[4:6]) > 59 or minutes > (14 * 60 if offset[0] == "+" else 12 * 60):
        raise ValueError(f"{offset} in {text!r} is not a UTC offset (offsets run from -12:00 to +14:00)")
    return when, -minutes if offset[0] == "-" else minutes, True


def parse_severity(text: str, decimal_comma: bool) -> int:
    """CTCAE-style grade 0-3, as a number or the word."""
    word = text.strip().lower()
    if word in SEVERITY_WORDS:
        return SEVERITY_WORDS[word]
    try:
        grade = parse_number(word, decimal_comma=decimal_comma)
    except ValueError:
        grade = -1.0
    if grade not in (0.0, 1.0, 2.0, 3.0):
        raise ValueError("a side effect is graded 0 (none), 1 (mild), 2 (moderate) or 3 (severe), in figures or words")
    return int(grade)


def _measure(name: str, text: str, decimal_comma: bool) -> float:
    low, high = RANGES[name]
    try:
        value = parse_number(text, decimal_comma=decimal_comma)
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        decimals = ", decimals allowed" if name in SCALES else ""
        raise ValueError(f"{name} must be a number from {low:g} to {high:g}{UNITS.get(name, '')}{decimals}")
    return value


def _blood_pressure(measures: dict, row: int, raw: dict[str, str]) -> list[RefusedRow]:
    """Both values or neither, diastolic below systolic: one without the other cannot be read."""
    given = [name for name in BP_RANGES if raw.get(name, "").strip()]
    if len(given) == 1:
        missing = "bp_diastolic" if given == ["bp_systolic"] else "bp_systolic"
        return [refuse(row, missing, "", "blood pressure needs both systolic and diastolic values, or neither")]
    systolic, diastolic = measures.get("bp_systolic"), measures.get("bp_diastolic")
    if systolic is not None and diastolic is not None and diastolic >= systolic:
        reason = f"diastolic pressure must be below systolic ({raw['bp_systolic'].strip()})"
        return [refuse(row, "bp_diastolic", raw["bp_diastolic"], reason)]
    return []


def _read_value(name: str, text: str, decimal_comma: bool) -> float | int | str:
    if name in SIDE_EFFECTS:
        return parse_severity(text, decimal_comma)
    if name not in TEXTS:
        return _measure(name, text, decimal_comma)
    text = unescape_text(text)
    if name == "notes" and len(text) > NOTES_MAX:
        raise ValueError(f"notes have at most {NOTES_MAX:,} characters (these have {len(text):,})")
    return text


def _entry_reader(table: Table, when_column: str, today: date):
    """``read_row`` for :func:`read_rows`: a DiaryRecord, or the refusals of its bad cells."""
    columns, comma = table.columns, table.decimal_comma
    present = [name for name in (*MEASURES, *SIDE_EFFECTS, *TEXTS) if name in columns]
    first_measure = next((name for name in present if name not in TEXTS), "pain")

    coded = {name: instruments.loinc_column(name) for name in columns}
    coded = {name: code for name, code in coded.items() if code}

    def read_row(cells: list[str], row: int, patient: str) -> _Row | list[RefusedRow]:
        refused: list[RefusedRow] = []
        when_text = cell(cells, columns[when_column])
        try:
            when, offset, has_time = parse_timestamp(when_text)
            problem = fields.DIARY.problem(when, today)
            if problem:
                refused.append(refuse(row, when_column, when_text, problem))
        except ValueError as exc:
            refused.append(refuse(row, when_column, when_text, str(exc)))
        raw = {name: cell(cells, columns[name]) for name in present}
        values: dict[str, float | int | str] = {}
        for name, text in raw.items():
            if text.strip():  # empty means not recorded, never 0
                try:
                    values[name] = _read_value(name, text, comma)
                except ValueError as exc:
                    refused.append(refuse(row, name, text, str(exc)))
        refused += _blood_pressure(values, row, raw)
        found = []
        for name, code in coded.items():
            text = cell(cells, columns[name])
            if text.strip():
                try:
                    found.append(_csv_measure(code, text, comma))
                except ValueError as exc:
                    refused.append(refuse(row, name, text, str(exc)))
        if not refused and not found and not any(name not in TEXTS for name in values):
            reason = "no measure recorded: a row needs pain, another measure or a side effect"
            refused.append(refuse(row, first_measure, "", reason))
        if refused:
            return refused
        for rec in found:
            rec.patient_ref, rec.recorded_at, rec.row = patient, when, row
            rec.utc_offset_minutes, rec.has_time = offset, has_time
        diary = None
        if any(name not in TEXTS for name in values) or not found:
            diary = DiaryRecord(
                patient_ref=patient, recorded_at=when, row=row, utc_offset_minutes=offset, has_time=has_time,
                measures={k: v for k, v in values.items() if k not in SIDE_EFFECTS},
                side_effects={k: v for k, v in values.items() if k in SIDE_EFFECTS},
            )
        return _Row(diary, found)

    return read_row


class _Row:
    """One row read: its diary entry (None when it holds only measures) and its measures."""

    def __init__(self, diary: DiaryRecord | None, found: list[MeasureRecord]):
        self.diary, self.measures = diary, found


def _csv_measure(code: str, text: str, decimal_comma: bool) -> MeasureRecord:
    value, answer, position = instruments.read_cell(
        code, text, lambda t: parse_number(t, decimal_comma=decimal_comma))
    instrument, item = instruments.classify(code, instruments.LOINC, [], None)
    lab = instruments.LABS.get(code)
    # A laboratory column (import-formats.md, native CSV: ALT, AST, ... by LOINC) has no reference
    # range in a CSV: the review reads ALT/AST against the default upper limit (a setting).
    name = item.name if item else (lab.name if lab else f"LOINC {code}")
    return MeasureRecord(patient_ref="", system=instruments.LOINC, code=code, recorded_at=None, row=0,
                         name=name, instrument=instrument, value=value, answer_text=answer, answer_position=position,
                         unit=lab.unit if lab and value is not None else None, source=FORMAT)


def _when_column(table: Table) -> str:
    columns = table.columns
    if "date" in columns and "timestamp" in columns:
        reason = "the file has both a 'date' and a 'timestamp' column: keep one"
        raise FileRefused(table.file_name, reason, row=1, column="timestamp")
    if "date" not in columns and "timestamp" not in columns:
        reason = f"the required column 'date' (or 'timestamp') is missing (the header has: {', '.join(table.header)})"
        raise FileRefused(table.file_name, reason, row=1, column="date")
    return "date" if "date" in columns else "timestamp"


def parse_diary_csv(
    raw: bytes, file_name: str, *, patient_ref: str | None = None, today: date | None = None
) -> ParsedFile:
    """Read a native diary CSV; ``patient_ref`` names the patient when the file has no
    ``patient_id`` column (and, when it has one, every row must be for that patient)."""
    table = read_csv(raw, file_name)
    when_column = _when_column(table)
    patient_ref = require_patient(table, patient_ref)
    parsed = ParsedFile(file_name=file_name, format=FORMAT)
    report_unknown_columns(table, KNOWN | {c for c in table.columns if instruments.loinc_column(c)}, parsed)
    rows: list[_Row] = []
    today = today or date.today()
    clean = _clean_rows(table, patient_ref, when_column, today)
    read_rows(table, patient_ref, _entry_reader(table, when_column, today), rows, parsed, ready=clean)
    parsed.diary = [r.diary for r in rows if r.diary is not None]
    parsed.measures = [m for r in rows for m in r.measures]
    return parsed


# The first pass takes only cells whose reading is plain (a bare decimal, a grade as a figure or
# word, an ISO date or minute, text with no formula escape); anything else, and every row with
# anything else, is read by ``read_row``, which alone words refusals.
_PLAIN_NUMBER = r"[0-9]+(?:\.[0-9]+)?"
_PLAIN_NUMBER_COMMA = r"[0-9]+(?:[.,][0-9]+)?"
_PLAIN_TIME = r"[0-9]{4}-[0-9]{2}-[0-9]{2}(?:[T ][0-9]{2}:[0-9]{2}(?::[0-9]{2})?)?"
_PLAIN_GRADES = {w: g for word, g in (*SEVERITY_WORDS.items(), *((str(g), g) for g in range(4)))
                 for w in (word, word.capitalize(), word.upper())}


def _clean_rows(table: Table, patient_ref: str | None, when_column: str, today: date) -> list[_Row | None]:
    """Every row's record when each of its cells is plainly valid, read column by column with
    pandas; None for a row that ``read_row`` must read cell by cell (it may be refused).

    Speed only: a row this pass takes is one ``read_row`` would take with the same values
    (tests/ingest/test_diary_first_pass.py), so refusals and their words stay in one place.
    """
    rows, columns, width = table.rows, table.columns, len(table.header)
    count = len(rows)
    if not count or any(instruments.loinc_column(name) for name in columns):
        return [None] * count  # coded measures: per row

    by_column = list(zip_longest(*(cells for _, cells in rows), fillvalue=""))  # transposed in C

    def cells_of(name: str) -> tuple[str, ...]:
        index = columns[name]  # beyond every row's last cell: all empty
        return by_column[index] if index < len(by_column) else ("",) * count

    ok = pd.Series([len(cells) == width for _, cells in rows])
    named = patient_ref or ""  # already normalised (require_patient)
    if "patient_id" in columns:
        patients = [c.strip() or named for c in cells_of("patient_id")]  # str.strip: the same blanks as row_patient
        refs = pd.Series(patients, dtype="str")
        ok &= (refs == named) if named else (refs != "")
        ok &= ~refs.str.startswith("'")
        # Only a reference already as dashboard.patient_ref reads it; another is read_row's to refuse or normalise.
        plain = {ref: patient_refs.lookup(ref) == ref for ref in set(patients)}
        ok &= pd.Series([plain[ref] for ref in patients], dtype="bool")
    else:
        patients = [named] * count
    when_text = pd.Series(cells_of(when_column), dtype="str")
    ok &= when_text.str.fullmatch(_PLAIN_TIME)
    day = when_text.str.slice(0, 10)
    ok &= (day >= fields.EARLIEST.isoformat()) & (day <= fields.DIARY.latest(today).isoformat())
    values: dict[str, list] = {}
    recorded = pd.Series(False, index=ok.index)
    number = _PLAIN_NUMBER_COMMA if table.decimal_comma else _PLAIN_NUMBER
    for name in (*MEASURES, *SIDE_EFFECTS, *TEXTS):
        if name not in columns:
            continue
        cells = cells_of(name)
        text = pd.Series(cells, dtype="str")
        empty = text == ""
        if name in SIDE_EFFECTS:
            values[name] = [_PLAIN_GRADES.get(c) for c in cells]
            ok &= empty | pd.Series([v is not None for v in values[name]])
        elif name in TEXTS:
            values[name] = [c or None for c in cells]
            ok &= pd.Series([not c or (c.strip() != "" and c[0] != "'") for c in cells])
            if name == "notes":
                ok &= text.str.len() <= NOTES_MAX
        else:
            plain = text.str.fullmatch(number)
            value = text.where(plain).str.replace(",", ".", regex=False).astype("float64")
            low, high = RANGES[name]
            ok &= empty | (plain & value.between(low, high))
            values[name] = value.astype(object).where(~empty, None).tolist()
        if name not in TEXTS:
            recorded |= ~empty
    ok &= recorded  # a row needs a measure or a side effect
    if "bp_systolic" in columns or "bp_diastolic" in columns:
        systolic = pd.Series(values.get("bp_systolic", [None] * count), dtype="float64")
        diastolic = pd.Series(values.get("bp_diastolic", [None] * count), dtype="float64")
        ok &= systolic.isna() == diastolic.isna()
        ok &= systolic.isna() | (diastolic < systolic)
    out: list[_Row | None] = [None] * count
    kept = [name for name in values if name not in SIDE_EFFECTS]
    graded = [name for name in values if name in SIDE_EFFECTS]
    kept_values = list(zip(*(values[name] for name in kept))) if kept else [()] * count
    graded_values = list(zip(*(values[name] for name in graded))) if graded else [()] * count
    when_index = columns[when_column]
    for i in ok.to_numpy().nonzero()[0].tolist():
        row, cells = rows[i]
        written = cells[when_index]
        try:
            when = datetime.fromisoformat(written)
        except ValueError:  # not a day on the calendar (2026-02-30): read_row says so
            continue
        record = DiaryRecord(
            patient_ref=patients[i], recorded_at=when, row=row, utc_offset_minutes=None,
            has_time=len(written) > 10,
            measures={k: v for k, v in zip(kept, kept_values[i]) if v is not None},
            side_effects={k: v for k, v in zip(graded, graded_values[i]) if v is not None},
        )
        out[i] = _Row(record, [])
    return out
