"""A file read with a profile: rows for the same patient and time merge into one diary entry,
imported whole or not at all, and ignored columns and items are reported with their counts."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from statistics import fmean

from dashboard.fields import SIDE_EFFECTS
from dashboard.ingest.csv_text import (
    Table,
    decode,
    extra_cells,
    normalise_header,
    read_csv,
    refuse,
    report_unknown_columns,
    sniff_delimiter,
)
from dashboard.ingest.diary_csv import BP_RANGES, TEXTS
from dashboard.ingest.profiles.rows import RowReader, When
from dashboard.ingest.profiles.spec import ProfileError, named_columns, positional
from dashboard.ingest.profiles.validate import validate_profile
from dashboard.ingest.records import DiaryRecord, FileRefused, ParsedFile, RefusedRow, named_at_import


def read_profile_table(raw: bytes, file_name: str, header_row: int = 1, header: bool = True) -> Table:
    """The file as cells, its header on ``header_row``; data rows keep the file's row numbers.
    Without a header (``header=False``) every row is data and the columns are "column 1", "column 2", ..."""
    if not header:
        return _headerless(raw, file_name)
    if header_row == 1:
        return read_csv(raw, file_name)
    lines = io.StringIO(decode(raw, file_name), newline="")
    for _ in range(header_row - 1):
        lines.readline()
    rest = lines.read()
    if not rest.strip():
        raise FileRefused(file_name, f"the header should be on row {header_row}, but the file ends before it",
                          row=header_row)
    if rest[0] in "\r\n":
        raise FileRefused(file_name, f"row {header_row} is blank, but the profile says the header is there",
                          row=header_row)
    offset = header_row - 1
    try:
        table = read_csv(rest.encode("utf-8"), file_name)
    except FileRefused as exc:
        r = exc.refused
        row = r.row + offset if isinstance(r.row, int) else r.row
        raise FileRefused(file_name, r.reason, row=row, column=r.column, value=r.value) from None
    return Table(file_name, table.header, [(row + offset, cells) for row, cells in table.rows], table.delimiter)


def _headerless(raw: bytes, file_name: str) -> Table:
    """Every row is data, row 1 included: a header of "column 1" ... is put above the file to read
    it, and the rows keep the file's own numbers."""
    text = decode(raw, file_name).lstrip("\r\n")
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    try:
        width = max((len(cells) for cells in csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)), default=0)
    except csv.Error:
        width = 1  # read_csv below names the row whose quotes are wrong
    names = positional(max(width, 1))
    try:
        table = read_csv((delimiter.join(names) + "\n" + text).encode("utf-8"), file_name)
    except FileRefused as exc:
        r = exc.refused
        raise FileRefused(file_name, r.reason, row=r.row - 1 if isinstance(r.row, int) else r.row,
                          column=r.column, value=r.value) from None
    return Table(file_name, table.header, [(row - 1, cells) for row, cells in table.rows], table.delimiter)


def parse_with_profile(
    raw: bytes, file_name: str, profile: dict, *, patient_ref: str | None = None, today: date | None = None
) -> ParsedFile:
    """Read ``raw`` as the profile describes. Rows for the same patient and time merge into one
    entry, because the store knows an entry by its patient and time."""
    try:
        p = validate_profile(profile)
    except ProfileError as exc:
        named = f" {profile['name']!r}" if isinstance(profile, dict) and profile.get("name") else ""
        raise FileRefused(file_name, f"the mapping profile{named} cannot be used: {exc}", row=1) from None
    table = read_profile_table(raw, file_name, p["header_row"], p["header"])
    patient_ref = named_at_import(file_name, patient_ref)
    if not p["patient_column"] and not patient_ref:
        raise FileRefused(file_name, "the profile names no patient column: name the patient when importing",
                          row=1, column="patient")
    reader = RowReader(table, p, patient_ref, today or date.today())
    parsed = ParsedFile(file_name=file_name, format=f"profile:{p['name']}" if p.get("name") else "profile")
    entries: dict[tuple[str, datetime], _Entry] = {}
    spoiled: dict[tuple[str, datetime], int] = {}
    for row, cells in table.rows:
        reader.remember(cells)
        got = reader.values(cells, row)
        if got is None:
            continue
        patient, when = reader.patient(cells, row), reader.when(cells, row)
        refused = [r for r in (patient, when, extra_cells(cells, table, row)) if isinstance(r, RefusedRow)]
        refused += [r for r in got if isinstance(r, RefusedRow)]
        key = (patient, when.at) if isinstance(patient, str) and isinstance(when, When) else None
        if refused:
            parsed.refused += refused
            if key:
                spoiled.setdefault(key, row)
            continue
        entry = entries.setdefault(key, _Entry(rows=[], when=when))
        entry.rows.append(row)
        for name, value in got:
            entry.values.setdefault(name, []).append(value)
    _build(parsed, entries, spoiled, reader)
    _report_ignored(parsed, table, p, reader)
    return parsed


def _build(parsed: ParsedFile, entries: dict, spoiled: dict, reader: RowReader) -> None:
    p = reader.p
    source = p["value_column"] if p["layout"] == "long" else None

    def labels(name: str) -> str:
        if source:
            return reader.label(source)
        column = next((c for c, f in p["columns"].items() if f == name), None)
        return reader.label(column) if column else name

    for (patient, _), entry in entries.items():
        bad_row = spoiled.get((patient, entry.when.at))
        if bad_row is not None:
            reason = f"row {bad_row} of the same entry was refused: an entry's rows are imported whole or not at all"
            parsed.refused += [refuse(row, entry.when.column, entry.when.text, reason) for row in entry.rows]
            continue
        result = _entry_record(patient, entry, p["aggregate"], labels)
        if isinstance(result, RefusedRow):
            parsed.refused.append(result)
        else:
            parsed.diary.append(result)
    parsed.diary.sort(key=lambda r: (r.patient_ref, r.recorded_at))
    parsed.refused.sort(key=lambda r: r.row if isinstance(r.row, int) else 0)


def _report_ignored(parsed: ParsedFile, table: Table, p: dict, reader: RowReader) -> None:
    used = set(named_columns(p).values()) | {c for c, f in (p.get("columns") or {}).items() if f}
    report_unknown_columns(table, {normalise_header(name) for name in used}, parsed)
    for column, count in reader.unmatched.items():
        parsed.ignored[f"column '{reader.label(column)}': no match for its rule (not recorded)"] = count
    if p["layout"] == "long":
        item_label = reader.label(p["item_column"])
        for key, count in reader.ignored_items.most_common():
            spelled = reader.item_spelling[key]
            parsed.ignored[f"{item_label} '{spelled}'" if spelled else f"{item_label} (blank)"] = count


@dataclass
class _Entry:
    """The rows that make one diary entry, and the values each gave, before they merge."""

    rows: list[int]
    when: When
    values: dict[str, list] = field(default_factory=dict)


def _entry_record(patient: str, entry: _Entry, aggregate: str, labels) -> DiaryRecord | RefusedRow:
    """The rows of one entry merged; refused as a whole when the merged entry breaks a rule."""
    values = {name: _combine(name, got, aggregate) for name, got in entry.values.items()}
    first = entry.rows[0]
    together = f" (rows {', '.join(map(str, entry.rows))} make this entry)" if len(entry.rows) > 1 else ""
    bp = [name for name in BP_RANGES if name in values]
    if len(bp) == 1:
        missing = "bp_diastolic" if bp == ["bp_systolic"] else "bp_systolic"
        reason = "blood pressure needs both systolic and diastolic values, or neither"
        return refuse(first, labels(missing), "", reason + together)
    if len(bp) == 2 and values["bp_diastolic"] >= values["bp_systolic"]:
        reason = f"diastolic pressure must be below systolic ({values['bp_systolic']:g})" + together
        return refuse(first, labels("bp_diastolic"), f"{values['bp_diastolic']:g}", reason)
    if not any(name not in TEXTS for name in values):
        reason = "no measure recorded: an entry needs pain, another measure or a side effect" + together
        return refuse(first, entry.when.column, entry.when.text, reason)
    return DiaryRecord(
        patient_ref=patient, recorded_at=entry.when.at, row=first, utc_offset_minutes=entry.when.offset,
        has_time=entry.when.has_time,
        measures={k: v for k, v in values.items() if k not in SIDE_EFFECTS},
        side_effects={k: v for k, v in values.items() if k in SIDE_EFFECTS},
    )


def _combine(name: str, values: list, aggregate: str):
    """Several values for one field of one entry, merged as the ``aggregate`` key documents."""
    if name in TEXTS:
        return "; ".join(dict.fromkeys(values))
    if name == "dose_mg":
        return round(sum(values), 6)
    if aggregate == "mean" and name not in SIDE_EFFECTS:
        return round(fmean(values), 3)
    return max(values)
