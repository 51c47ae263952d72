"""What every format's parser hands to the one writer.

A parser reads bytes and returns a :class:`ParsedFile`: the records it accepted and the
rows it refused, each refusal saying where (row, column, value) and why. Parsers never
touch the database; :mod:`dashboard.ingest.writer` decides what is new, unchanged or in
conflict, inside one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import date, datetime

from dashboard import patient_ref as patient_refs


@dataclass(frozen=True)
class RefusedRow:
    """One refused row. ``row`` is 1-based counting the header as row 1, or a FHIR
    ``resourceType/id``; ``column`` is a column name or a FHIR field path."""

    row: int | str
    column: str
    value: str
    reason: str

    def as_dict(self) -> dict:
        return {"row": self.row, "column": self.column, "value": self.value, "reason": self.reason}


# How a file knows its patient (import-formats.md v3, "The file's patient").
KNOWN_BY_REFERENCE = "reference"  # the clinic's reference: a patient_id column, a profile's patient column
KNOWN_BY_IDENTIFIER = "identifier"  # a FHIR identifier (an MR first, else the first with a value)
KNOWN_BY_RESOURCE_ID = "resource id"  # a FHIR resource id alone ("Patient/example"): a server's, not a person's
KNOWN_BY_NAMED = "named at import"  # the reference typed at import (--patient, the page's box)


@dataclass
class PatientRecord:
    """A patient as the file names them: the reference the import uses, and the identity the file
    gives (name, birth date or year, identifiers as (system, value); ``resource_id`` such as
    ``Patient/example``), checked against the stored patient by ``dashboard.ingest.identity``."""

    ref: str
    name: str | None = None
    birth_year: int | None = None
    condition: str | None = None
    birth_date: date | None = None
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    resource_id: str | None = None
    known_by: str = KNOWN_BY_REFERENCE


@dataclass
class DiaryRecord:
    """One diary entry. ``recorded_at`` is the patient's local wall-clock time (naive);
    ``utc_offset_minutes`` is the offset written with it, if any. ``measures`` holds only
    what was recorded (keys from ``dashboard.fields.DIARY_MEASURES``/``DIARY_TEXTS``);
    ``side_effects`` maps an effect name to severity 0-3."""

    patient_ref: str
    recorded_at: datetime
    row: int | str
    utc_offset_minutes: int | None = None
    has_time: bool = True
    measures: dict[str, float | str] = field(default_factory=dict)
    side_effects: dict[str, int] = field(default_factory=dict)


@dataclass
class TitrationRecord:
    patient_ref: str
    start_date: date
    dose_mg: float
    frequency: str
    route: str
    row: int | str
    end_date: date | None = None
    max_per_day: float | None = None
    note: str | None = None
    status: str = "active"  # 'proposed' for steps read from FHIR MedicationRequests


@dataclass
class VisitRecord:
    patient_ref: str
    date: date
    kind: str  # 'in person' | 'telehealth' | 'infusion'
    row: int | str
    note: str | None = None
    status: str = "held"  # 'held' (it happened) or 'booked' (db.models.Visit)


@dataclass
class CoMedicationRecord:
    patient_ref: str
    name: str
    start_date: date | None
    row: int | str
    source: str
    rxnorm: str | None = None
    drug_class: str | None = None  # 'opioid' | 'benzodiazepine' | None
    end_date: date | None = None
    status: str | None = None
    dose_text: str | None = None
    # A partial start or end (FHIR "2015-03"): the date is its first day; 'month' or 'year'. None: a day.
    start_precision: str | None = None
    end_precision: str | None = None


@dataclass
class MeasureRecord:
    """One answer of a validated instrument, or another coded observation (``dashboard.measures``).

    ``value`` is the number (or the answer's score); a coded answer also keeps its code, text and
    1-based position on the instrument's answer list. The natural key is patient, system, code
    and ``recorded_at`` (local wall time, as for diary entries)."""

    patient_ref: str
    system: str
    code: str
    recorded_at: datetime
    row: int | str
    name: str
    instrument: str  # a key of dashboard.measures.INSTRUMENTS, or 'other'
    value: float | None = None
    answer_code: str | None = None
    answer_text: str | None = None
    answer_position: int | None = None
    unit: str | None = None
    utc_offset_minutes: int | None = None
    has_time: bool = True
    source: str = "fhir"
    reference_low: float | None = None  # a laboratory result's reference range (FHIR referenceRange)
    reference_high: float | None = None


@dataclass
class ParsedFile:
    """A file read by one parser, before anything is written."""

    file_name: str
    format: str
    patients: list[PatientRecord] = field(default_factory=list)
    diary: list[DiaryRecord] = field(default_factory=list)
    steps: list[TitrationRecord] = field(default_factory=list)
    visits: list[VisitRecord] = field(default_factory=list)
    comedications: list[CoMedicationRecord] = field(default_factory=list)
    measures: list[MeasureRecord] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    # What the file held that the diary has no place for: label -> count.
    ignored: dict[str, int] = field(default_factory=dict)
    # Identical resources (same content apart from their id) read once: how many copies were merged.
    merged: int = 0

    def holds_nothing(self) -> bool:
        """True when the file holds no record the dashboard reads (every item ignored or refused).

        Every list of records counts (a list added for a new kind of record counts too), so a
        file is "nothing to import" only when all of them are empty.
        """
        return not any(getattr(self, f.name) for f in fields(self)
                       if f.name != "refused" and isinstance(getattr(self, f.name), list))

    def patient_refs(self) -> list[str]:
        refs = {p.ref for p in self.patients}
        for group in (self.diary, self.steps, self.visits, self.comedications, self.measures):
            refs.update(r.patient_ref for r in group)
        return sorted(refs)


class FileRefused(Exception):
    """The whole file cannot be read (wrong format, undecodable, no header, ...)."""

    def __init__(self, file_name: str, reason: str, row: int | str = 1, column: str = "", value: str = ""):
        self.refused = RefusedRow(row=row, column=column, value=value, reason=reason)
        self.file_name = file_name
        super().__init__(f"{file_name}: row {row}, column {column!r}, value {value!r}: {reason}")


def named_at_import(file_name: str, text: str | None, *, required: str | None = None) -> str | None:
    """The patient an import names (``--patient``, the import page's box), normalised; None when
    none is named (blank), or FileRefused naming it. ``required`` is the refusal's reason when
    the format needs one (a Bearable export names no patient)."""
    if text is None or not text.strip():
        if required:
            raise FileRefused(file_name, required, row=1, column="patient")
        return None
    try:
        return patient_refs.normalise(text)
    except patient_refs.RefusedRef as exc:
        raise FileRefused(file_name, str(exc), row=1, column="patient", value=patient_refs.quoted(text)) from None
