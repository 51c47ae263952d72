"""The clinic's own records as CSV (import-formats.md section 5): titration steps and visits.

Same reading rules as the diary CSV (encodings, delimiters, header names, patient column).
What a step or a visit may say (frequencies, routes, doses, dates, visit kinds, the rules
between a step's fields) is ``dashboard.clinic_rules``, which the review page's forms apply
too; this module reads the cells and names the row and column of each refusal.

``max_per_day`` is stored only when the file gives it: a daily step implies one dose a day, and
reading that is left to analysis.
"""

from __future__ import annotations

from datetime import date
from functools import partial

from dashboard import clinic_rules as rules
from dashboard.ingest.csv_text import (
    Table,
    cell,
    parse_iso_date,
    parse_number,
    read_csv,
    read_rows,
    refuse,
    report_unknown_columns,
    require_columns,
    require_patient,
    unescape_text,
)
from dashboard.ingest.records import ParsedFile, RefusedRow, TitrationRecord, VisitRecord

TITRATION_KNOWN = {"patient_id", "start_date", "end_date", "dose_mg", "frequency", "max_per_day", "route", "note"}
VISIT_KNOWN = {"patient_id", "date", "kind", "note"}


def parse_frequency(text: str) -> tuple[str, float | None]:
    """(canonical frequency, maximum doses a day if written in it)."""
    return rules.frequency(text)


def _doses_per_day(text: str, *, decimal_comma: bool) -> float:
    return rules.doses_per_day(parse_number(text, decimal_comma=decimal_comma))


def _plan_date(text: str, today: date | None) -> date:
    """An ISO date within :data:`dashboard.fields.PLAN` (1900 to five years ahead)."""
    return rules.plan_date(parse_iso_date(text), today)


def _step_cells(table: Table, text: dict[str, str], row: int, today: date | None) -> tuple[dict, list[RefusedRow]]:
    """Each cell read on its own; optional cells left empty are None."""
    comma = table.decimal_comma
    readers = {
        "start_date": lambda t: _plan_date(t, today),
        "dose_mg": lambda t: _dose(t, comma),
        "frequency": parse_frequency,
        "route": _route,
        "end_date": lambda t: _plan_date(t, today),
        "max_per_day": lambda t: _doses_per_day(t, decimal_comma=comma),
    }
    values: dict = {}
    refused: list[RefusedRow] = []
    for name, read in readers.items():
        try:
            optional_and_empty = name in ("end_date", "max_per_day") and not text[name].strip()
            values[name] = None if optional_and_empty else read(text[name])
        except ValueError as exc:
            refused.append(refuse(row, name, text[name], str(exc)))
    return values, refused


def _titration_row(table: Table, cells: list[str], row: int, patient: str,
                   today: date | None = None) -> TitrationRecord | list[RefusedRow]:
    text = {name: cell(cells, table.columns.get(name)) for name in TITRATION_KNOWN}
    values, refused = _step_cells(table, text, row, today)
    if refused:
        return refused
    (frequency, written_max), max_per_day = values["frequency"], values["max_per_day"]
    max_per_day, problems = rules.step_problems(start=values["start_date"], end=values["end_date"],
                                                frequency_name=frequency, written_max=written_max,
                                                max_per_day=max_per_day)
    refused += [refuse(row, p.field, text[p.field], p.reason) for p in problems]
    try:
        rules.dose(values["dose_mg"], values["route"])
    except ValueError as exc:
        refused.append(refuse(row, "dose_mg", text["dose_mg"], str(exc)))
    if refused:
        return refused
    return TitrationRecord(
        patient_ref=patient, start_date=values["start_date"], dose_mg=values["dose_mg"], frequency=frequency,
        route=values["route"], row=row, end_date=values["end_date"], max_per_day=max_per_day,
        note=unescape_text(text["note"]) if text["note"].strip() else None,
    )


def _dose(text: str, decimal_comma: bool) -> float:
    try:
        value = parse_number(text, decimal_comma=decimal_comma)
    except ValueError:
        value = 0.0
    return rules.dose(value)


def _route(text: str) -> str:
    return rules.route(text)


def _visit_row(table: Table, cells: list[str], row: int, patient: str,
               today: date | None = None) -> VisitRecord | list[RefusedRow]:
    columns = table.columns
    date_text, kind_text, note = (cell(cells, columns.get(name)) for name in ("date", "kind", "note"))
    refused: list[RefusedRow] = []
    try:
        when = _plan_date(date_text, today)
    except ValueError as exc:
        refused.append(refuse(row, "date", date_text, str(exc)))
    try:
        kind = rules.visit_kind(kind_text)
    except ValueError as exc:
        refused.append(refuse(row, "kind", kind_text, str(exc)))
    if refused:
        return refused
    note = unescape_text(note) if note.strip() else None
    return VisitRecord(patient_ref=patient, date=when, kind=kind, row=row, note=note)


def _parse(raw: bytes, file_name: str, fmt: str, required: tuple[str, ...], known: set[str], read_row, patient_ref):
    table = read_csv(raw, file_name)
    require_columns(table, *required)
    patient_ref = require_patient(table, patient_ref)
    parsed = ParsedFile(file_name=file_name, format=fmt)
    report_unknown_columns(table, known, parsed)
    accepted = parsed.steps if fmt == "titration" else parsed.visits
    read_rows(table, patient_ref, lambda cells, row, patient: read_row(table, cells, row, patient), accepted, parsed)
    return parsed


def parse_titration_csv(raw: bytes, file_name: str, *, patient_ref: str | None = None,
                        today: date | None = None) -> ParsedFile:
    """Prescribed titration steps: a step lasts until the next starts, or until its end_date."""
    required = ("start_date", "dose_mg", "frequency", "route")
    return _parse(raw, file_name, "titration", required, TITRATION_KNOWN, partial(_titration_row, today=today),
                  patient_ref)


def parse_visits_csv(raw: bytes, file_name: str, *, patient_ref: str | None = None,
                     today: date | None = None) -> ParsedFile:
    """Clinic visits: in person, telehealth, or infusion (an in-clinic IV/IM session)."""
    return _parse(raw, file_name, "visits", ("date", "kind"), VISIT_KNOWN, partial(_visit_row, today=today),
                  patient_ref)
