"""``parse_fhir``: the file's resources, one after another, to records; each resource is read
whole or refused whole, naming the resource, the field's path and the value.

- The diary stores one entry per patient and time, so resources at the same time are merged.
  When two give different values for one measure, the later resource is refused, naming both.
- Ketamine doses add up at the same time: the diary's ``dose_mg`` is the sum of doses taken.
- Resources marked entered-in-error (or cancelled / not-taken / not-done) are counted as
  ignored with that reason, never imported.
- Identical resources (the same content apart from their ``id``: a bundle that repeats a
  resource, or a portal that exports one reading twice) are read once; the copies are counted
  as ``merged``. The same id with other content is refused: one of the two is wrong.
- Validated instruments and other coded observations become measures (``measures``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime

from dashboard import fields
from dashboard.fields import SIDE_EFFECTS

from dashboard.ingest.fhir.dashboard_records import _condition, _encounter
from dashboard.ingest.fhir.measures import placed
from dashboard.ingest.fhir.medications import (
    _medication_administration,
    _medication_request,
    _medication_statement,
)
from dashboard.ingest.fhir.observations import _observation, _questionnaire_response
from dashboard.ingest.fhir.patients import _apply_patient_ref, _patient, _patient_ref, _subject_patients
from dashboard.ingest.fhir.reading import _decode, _documents, _flatten, _Resource, refuse_fhir_xml
from dashboard.ingest.fhir.values import RANGES, _Bad, _get, _number, _When
from dashboard.ingest.records import (
    DiaryRecord,
    FileRefused,
    MeasureRecord,
    ParsedFile,
    PatientRecord,
    RefusedRow,
    named_at_import,
)

SKIPPED_STATUSES = {"entered-in-error", "cancelled", "not-taken", "not-done"}
HANDLERS = {
    "Patient": _patient, "Observation": _observation,
    "QuestionnaireResponse": _questionnaire_response,
    "MedicationAdministration": _medication_administration,
    "MedicationStatement": _medication_statement, "MedicationRequest": _medication_request,
    "Encounter": _encounter, "Condition": _condition,
}


def parse_fhir(raw: bytes, file_name: str, *, patient_ref: str | None = None,
               today: date | None = None) -> ParsedFile:
    """A FHIR R4 file to records; never touches the database."""
    text = _decode(raw, file_name)
    if not text.strip():
        raise FileRefused(file_name, "the file is empty", row=1, column="resourceType")
    refuse_fhir_xml(text, file_name)
    named = named_at_import(file_name, patient_ref)
    documents, refused = _documents(text, file_name)
    ignored: dict[str, int] = {}
    resources = _flatten(documents, file_name, refused, ignored)
    reader = _Reader(file_name, named, resources, today)
    reader.out.refused.extend(refused)
    reader.out.ignored.update(ignored)
    return reader.read()


@dataclass
class _Entry:
    record: DiaryRecord
    sources: dict[str, tuple[float, int, str]] = field(default_factory=dict)  # measure -> value, rank, where


class _Reader:
    """One file's reading: who is who, the diary entries so far, what was refused or ignored."""

    def __init__(self, file_name: str, patient_ref: str | None, resources: list[_Resource],
                 today: date | None = None):
        self.out = ParsedFile(file_name=file_name, format="fhir")
        self.today = today  # the import day: dates are checked against dashboard.fields
        self.patient_ref = patient_ref
        self.resources = resources
        self.by_url: dict[str, dict] = {}
        self.patients: dict[str, str] = {}  # "Patient/id" or fullUrl -> patient ref
        self.named: set[str] = set()  # patients named by the file itself
        self.subjects: dict[str, PatientRecord] = {}  # patients named only by subjects: as they name them
        self.entries: dict[tuple[str, datetime], _Entry] = {}
        self.measures: dict[tuple[str, str, str, datetime], MeasureRecord] = {}
        self.used_medications: set[int] = set()
        for res in resources:
            self._index(res)

    def _index(self, res: _Resource) -> None:
        kind, ident = res.body["resourceType"], res.body.get("id")
        keys = [k for k in (res.full_url, f"{kind}/{ident}" if ident else None) if k]
        for key in keys:
            self.by_url.setdefault(key, res.body)
        if kind == "Patient":
            try:
                ref = _patient_ref(res)
            except _Bad:
                return  # refused when the Patient itself is read
            for key in keys:
                self.patients.setdefault(key, ref)

    def read(self) -> ParsedFile:
        copies: dict[str, str] = {}
        contents: set[str] = set()
        read: list[_Resource] = []  # not merged away nor refused as a differing copy
        for res in self.resources:
            content = json.dumps({k: v for k, v in res.body.items() if k != "id"}, sort_keys=True)
            if content in contents:
                self.out.merged += 1  # an identical resource, under this id or another: read once
                continue
            if res.body.get("id"):
                first = copies.setdefault(res.where, content)
                if first is not content:
                    self._refuse(res.where, "id", res.body["id"], "the same id appears earlier with other content")
                    continue
            contents.add(content)
            read.append(res)
            try:
                self._read_one(res.body["resourceType"], res)
            except _Bad as bad:
                self._refuse(res.where, bad.path, bad.value, bad.reason)
        for res in read:
            if res.body["resourceType"] == "Medication" and id(res.body) not in self.used_medications:
                self.ignore("Medication")
        self.out.diary = [entry.record for entry in self.entries.values()]
        self.out.measures = list(self.measures.values())
        _subject_patients(self)
        _apply_patient_ref(self)
        return self.out

    def _read_one(self, kind: str, res: _Resource) -> None:
        status = _get(res.body, "status", "str", "")
        if status in SKIPPED_STATUSES:
            self.ignore(f"{kind} {status}")
            return
        handler = HANDLERS.get(kind)
        if handler is not None:
            handler(self, res)
        elif kind != "Medication":  # Medications are counted at the end, unless something used them
            self.ignore(kind)

    def _refuse(self, where: str, column: str, value: str, reason: str) -> None:
        self.out.refused.append(RefusedRow(row=where, column=column, value=value, reason=reason))

    def ignore(self, label: str) -> None:
        self.out.ignored[label] = self.out.ignored.get(label, 0) + 1

    def add_measure(self, patient: str, when: _When, where: str, rec: MeasureRecord) -> None:
        """One measure at its patient and time; a second resource with other values is refused."""
        rec = placed(rec, patient, when, where, self.today)
        key = (patient, rec.system, rec.code, rec.recorded_at)
        first = self.measures.get(key)
        if first is None:
            self.measures[key] = rec
            return
        values = ("value", "answer_code", "answer_text", "unit", "utc_offset_minutes", "has_time")
        if any(getattr(first, k) != getattr(rec, k) for k in values):
            shown = rec.answer_text if rec.value is None else _number(rec.value)
            raise _Bad("value[x]", shown, f"{first.row} gives {rec.code} at the same time with another value")

    def add(self, patient: str, when: _When, where: str, items: list[tuple[str, float, int, str]]) -> None:
        """Merge one resource's values into the patient's entry at that time, all or nothing."""
        when.check(fields.DIARY, self.today)
        for measure, value, _, path in items:
            if isinstance(value, str):
                continue  # a text (notes, other medication): no range
            low, high = RANGES[measure]
            if not low <= value <= high:
                raise _Bad(path, _number(value), f"{measure} must be between {low:g} and {high:g}")
        key = (patient, when.local)
        entry = self.entries.get(key)
        if entry and (entry.record.utc_offset_minutes, entry.record.has_time) != (when.offset, when.has_time):
            raise _Bad(items[0][3], _number(items[0][1]),
                       f"{entry.record.row} has the same local time written with another UTC offset or without a time")
        sources = dict(entry.sources) if entry else {}
        measures = {**entry.record.measures, **entry.record.side_effects} if entry else {}
        for measure, value, _, path in items:
            if measure == "dose_mg":
                measures["dose_mg"] = measures.get("dose_mg", 0.0) + value
                if measures["dose_mg"] > RANGES["dose_mg"][1]:
                    raise _Bad(path, _number(value), f"the doses at this time add up to more than {RANGES['dose_mg'][1]:g} mg")
                continue
            if measure not in sources:
                sources[measure] = (value, where)
                measures[measure] = value
                continue
            if measure == "notes":  # each observation's own note: the entry keeps them all
                measures["notes"] = _joined_notes(str(measures["notes"]), str(value), path)
                continue
            old, old_where = sources[measure]
            if old != value:
                raise _Bad(path, _written(value), f"{old_where} gives {measure} {_written(old)} for the same "
                                                  "patient and time: the two disagree")
        if entry is None:
            entry = _Entry(DiaryRecord(patient_ref=patient, recorded_at=when.local, row=where,
                                       utc_offset_minutes=when.offset, has_time=when.has_time))
            self.entries[key] = entry
        entry.sources = sources
        entry.record.measures = {k: v for k, v in measures.items() if k not in SIDE_EFFECTS}
        entry.record.side_effects = {k: int(v) for k, v in measures.items() if k in SIDE_EFFECTS}


def _joined_notes(old: str, new: str, path: str) -> str:
    if f"\n{new}\n" in f"\n{old}\n":
        return old
    joined = f"{old}\n{new}"
    if len(joined) > fields.NOTES_MAX:
        raise _Bad(path, new, f"the notes at this time come to more than {fields.NOTES_MAX} characters")
    return joined


def _written(value: float | str) -> str:
    return value if isinstance(value, str) else _number(value)
