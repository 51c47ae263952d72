"""What the dashboard's own FHIR export writes in its own codes (``dashboard_codes``), read
back: a diary entry's other measures, a visit, the condition ketamine is prescribed for.

Only resources carrying those codes are read here; any other Encounter or Condition is
counted as ignored, as before, so a health record's encounters never become clinic visits.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from dashboard import fields
from dashboard.ingest.fhir import dashboard_codes as codes
from dashboard.ingest.fhir.patients import _subject
from dashboard.ingest.fhir.reading import _Resource
from dashboard.ingest.fhir.values import (
    _Bad, _Concept, _concept, _first_time, _get, _objects, _quantity_value,
)
from dashboard.ingest.records import PatientRecord, VisitRecord

if TYPE_CHECKING:
    from dashboard.ingest.fhir.parse import _Reader

NOTES_MAX = fields.NOTES_MAX  # the native diary's limit (import-formats.md section 1)


def _diary_entry(reader: _Reader, res: _Resource) -> None:
    """A diary-entry Observation: scores, side-effect grades and texts as components, notes as note."""
    body = res.body
    items: list[tuple[str, float | str, int, str]] = []
    for component, path in _objects(body, "component", ""):
        concept = _concept(component, "code", path) or _Concept(None, [])
        name = next((c for c in concept.codes({codes.DIARY_SYSTEM})
                     if c in codes.DIARY_SCORES or c in codes.DIARY_GRADES or c in codes.DIARY_TEXTS), None)
        if name is None:
            continue
        items.append((name, *_component_value(component, path, name)))
    items += observation_notes(body)
    if not items:
        reader.ignore("Observation diary entry without values")
        return
    timed = _first_time(body, "effectiveDateTime", "effectivePeriod.start", "issued")
    if timed is None:
        raise _Bad("effectiveDateTime", None, "no time: effectiveDateTime is needed for a diary entry")
    reader.add(_subject(reader, body), timed[0], res.where, items)


def observation_notes(body: dict) -> list[tuple[str, str, int, str]]:
    """``Observation.note`` (the patient's words, kept as text) as the entry's notes item, or none."""
    notes = [(_get(note, "text", "str", path), path) for note, path in _objects(body, "note", "")]
    text = "\n".join(t for t, _ in notes if t)
    if not text:
        return []
    if len(text) > NOTES_MAX:
        raise _Bad("note", text, f"notes have at most {NOTES_MAX} characters")
    return [("notes", text, 1, "note[0].text")]


def _component_value(component: dict, path: str, name: str) -> tuple[float | str, int, str]:
    if name in codes.DIARY_TEXTS:
        text = _get(component, "valueString", "str", path)
        if text is None:
            raise _Bad(f"{path}.valueString", None, f"{name} is text: valueString is needed")
        return text, 1, f"{path}.valueString"
    if name in codes.DIARY_GRADES:
        grade = _get(component, "valueInteger", "integer", path)
        if grade is None:
            raise _Bad(f"{path}.valueInteger", None, f"{name} is a grade 0-3: valueInteger is needed")
        return float(grade), 1, f"{path}.valueInteger"
    quantity = _get(component, "valueQuantity", "object", path)
    if quantity is None:
        raise _Bad(f"{path}.valueQuantity", None, f"{name} is a score 0-10: valueQuantity is needed")
    return _quantity_value(quantity, f"{path}.valueQuantity"), 1, f"{path}.valueQuantity.value"


def _encounter(reader: _Reader, res: _Resource) -> None:
    """An Encounter typed with the dashboard's visit kinds is a clinic visit; others are ignored."""
    body = res.body
    kind = next((codes.VISIT_KIND_OF_CODE[c] for c in _codes(body, "type", codes.VISIT_KIND_SYSTEM)
                 if c in codes.VISIT_KIND_OF_CODE), None)
    if kind is None:
        reader.ignore("Encounter")
        return
    timed = _first_time(body, "period.start")
    if timed is None:
        raise _Bad("period.start", None, "no date: a visit needs period.start")
    timed[0].check(fields.PLAN, reader.today)
    note = None
    for extension, path in _objects(body, "extension", ""):
        if extension.get("url") == codes.VISIT_NOTE_URL:
            note = _get(extension, "valueString", "str", path)
    # A planned (or arrived, triaged...) Encounter has not happened yet: booked; finished ones were held.
    status = "booked" if _get(body, "status", "str", "") in ("planned", "arrived", "triaged", "in-progress",
                                                               "onleave") else "held"
    reader.out.visits.append(VisitRecord(patient_ref=_subject(reader, body), date=timed[0].local.date(), kind=kind,
                                         row=res.where, note=note, status=status))


def _condition(reader: _Reader, res: _Resource) -> None:
    """A Condition in the dashboard's indication category is the patient's condition; others are ignored."""
    body = res.body
    if codes.INDICATION not in _codes(body, "category", codes.CONDITION_CATEGORY_SYSTEM):
        reader.ignore("Condition")
        return
    concept = _concept(body, "code", "")
    text = concept.name() if concept else None
    if not text:
        raise _Bad("code.text", None, "the condition has no text or code")
    if len(text) > 200:
        raise _Bad("code.text", text, "a condition has at most 200 characters")
    ref = _subject(reader, body)
    record = next((p for p in reader.out.patients if p.ref == ref), None)
    if record is None:
        record = PatientRecord(ref=ref)
        reader.out.patients.append(record)
    record.condition = text


def _codes(body: dict, key: str, system: str) -> list[str]:
    """The codes of ``system`` in an array of CodeableConcepts (Encounter.type, Condition.category)."""
    found = []
    for concept, path in _objects(body, key, ""):
        for coding, coding_path in _objects(concept, "coding", path):
            if _get(coding, "system", "str", coding_path) == system:
                found.append(_get(coding, "code", "str", coding_path))
    return [code for code in found if code]
