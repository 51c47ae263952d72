"""The clinic's own records as CSV (import-formats.md section 5): titration steps and visits.

Same reading rules as the diary CSV (encodings, delimiters, header names, patient column).
Spelling is normalised to one canonical word per meaning, so analysis compares like with like:

- frequency: ``daily`` (also once daily, once a day, every day, qd), ``twice daily`` (twice a
  day, two/2 times daily, bid), ``every other day`` (alternate days, qod), ``N per week`` with
  N 1-14 (also ``N times per week``, ``Nx/week``, ``N a week``), ``as needed`` (prn). An as-needed
  step needs its maximum per day: a ``max_per_day`` column, or written ``as needed max 2 per day``
  (also ``prn, max 2/day``, ``as needed (max 2 a day)``).
- route: ``troche`` (buccal, sublingual, lozenge), ``IV`` (intravenous), ``IM`` (intramuscular),
  ``intranasal`` (nasal).
- visit kind: ``in person`` (in-person, office), ``telehealth`` (telemedicine, video, phone),
  ``infusion`` (an in-clinic IV/IM session).

``max_per_day`` is stored only when the file gives it: a daily step implies one dose a day, and
reading that is left to analysis.
"""

from __future__ import annotations

import re
from datetime import date
from functools import partial

from dashboard import fields
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

DOSE_MAX_MG = 1000.0
MAX_DOSES_PER_DAY = 24.0
_WORDS = re.compile(r"[\s_\-]+")
FREQUENCIES = {
    "daily": "daily", "once daily": "daily", "once a day": "daily", "every day": "daily", "qd": "daily",
    "twice daily": "twice daily", "twice a day": "twice daily", "two times daily": "twice daily",
    "2 times daily": "twice daily", "2x daily": "twice daily", "bid": "twice daily",
    "every other day": "every other day", "alternate days": "every other day", "qod": "every other day",
    "as needed": "as needed", "prn": "as needed",
}
_PER_WEEK = re.compile(r"([0-9]+) ?(?:x|times)? ?(?:per|a|/) ?week", re.ASCII)
_AS_NEEDED_MAX = re.compile(
    r"(?:as needed|prn),? \(?max(?:imum)?\.? ?([0-9]+(?:[.,][0-9]+)?) ?(?:x|times|doses?)? ?(?:per|a|/) ?day\)?",
    re.ASCII,
)
ROUTES = {
    "troche": "troche", "troches": "troche", "buccal": "troche", "sublingual": "troche", "lozenge": "troche",
    "buccal troche": "troche", "sublingual troche": "troche",
    "iv": "IV", "intravenous": "IV", "im": "IM", "intramuscular": "IM",
    "intranasal": "intranasal", "nasal": "intranasal", "nasal spray": "intranasal",
}
VISIT_KINDS = {
    "in person": "in person", "inperson": "in person", "office": "in person", "office visit": "in person",
    "telehealth": "telehealth", "telemedicine": "telehealth", "video": "telehealth", "phone": "telehealth",
    "infusion": "infusion",
}
TITRATION_KNOWN = {"patient_id", "start_date", "end_date", "dose_mg", "frequency", "max_per_day", "route", "note"}
VISIT_KNOWN = {"patient_id", "date", "kind", "note"}


def _words(text: str) -> str:
    return _WORDS.sub(" ", text.strip().lower()).rstrip(".")


def parse_frequency(text: str) -> tuple[str, float | None]:
    """(canonical frequency, maximum doses a day if written in it)."""
    words = _words(text)
    if words in FREQUENCIES:
        return FREQUENCIES[words], None
    per_week = _PER_WEEK.fullmatch(words)
    if per_week:
        count = int(per_week.group(1))
        if not 1 <= count <= 14:
            raise ValueError(f"{text.strip()!r}: a weekly frequency is 1 to 14 per week")
        return f"{count} per week", None
    as_needed = _AS_NEEDED_MAX.fullmatch(words)
    if as_needed:
        return "as needed", _doses_per_day(as_needed.group(1), decimal_comma=True)
    raise ValueError(
        f"{text.strip()!r} is not a frequency: use daily, twice daily, every other day, "
        "N per week (N 1-14) or as needed (with a maximum per day)"
    )


def _doses_per_day(text: str, *, decimal_comma: bool) -> float:
    value = parse_number(text, decimal_comma=decimal_comma)
    if not 1 <= value <= MAX_DOSES_PER_DAY:
        raise ValueError(f"the maximum per day is a number of doses from 1 to {MAX_DOSES_PER_DAY:g}")
    return value


def _plan_date(text: str, today: date | None) -> date:
    """An ISO date within :data:`dashboard.fields.PLAN` (1900 to five years ahead)."""
    day = parse_iso_date(text)
    problem = fields.PLAN.problem(day, today)
    if problem:
        raise ValueError(problem)
    return day


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
    if written_max is not None and max_per_day is not None and written_max != max_per_day:
        reason = f"differs from the maximum written in the frequency ({text['frequency'].strip()!r})"
        refused.append(refuse(row, "max_per_day", text["max_per_day"], reason))
    max_per_day = max_per_day if max_per_day is not None else written_max
    if frequency == "as needed" and max_per_day is None:
        reason = "an as-needed step needs a maximum per day: fill max_per_day or write 'as needed max 2 per day'"
        refused.append(refuse(row, "frequency", text["frequency"], reason))
    if values["end_date"] is not None and values["end_date"] < values["start_date"]:
        reason = f"the end date is before the start date ({values['start_date']})"
        refused.append(refuse(row, "end_date", text["end_date"], reason))
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
    if not 0 < value <= DOSE_MAX_MG:
        raise ValueError(f"dose_mg must be a number of mg above 0 and at most {DOSE_MAX_MG:g}")
    return value


def _route(text: str) -> str:
    words = _words(text)
    if words not in ROUTES:
        raise ValueError(f"{text.strip()!r} is not a route: use troche (buccal or sublingual), IV, IM or intranasal")
    return ROUTES[words]


def _visit_row(table: Table, cells: list[str], row: int, patient: str,
               today: date | None = None) -> VisitRecord | list[RefusedRow]:
    columns = table.columns
    date_text, kind_text, note = (cell(cells, columns.get(name)) for name in ("date", "kind", "note"))
    refused: list[RefusedRow] = []
    try:
        when = _plan_date(date_text, today)
    except ValueError as exc:
        refused.append(refuse(row, "date", date_text, str(exc)))
    kind = VISIT_KINDS.get(_words(kind_text))
    if kind is None:
        reason = f"{kind_text.strip()!r} is not a visit kind: use in person, telehealth or infusion"
        refused.append(refuse(row, "kind", kind_text, reason))
    if refused:
        return refused
    note = unescape_text(note) if note.strip() else None
    return VisitRecord(patient_ref=patient, date=when, kind=kind, row=row, note=note)


def _parse(raw: bytes, file_name: str, fmt: str, required: tuple[str, ...], known: set[str], read_row, patient_ref):
    table = read_csv(raw, file_name)
    require_columns(table, *required)
    require_patient(table, patient_ref)
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
