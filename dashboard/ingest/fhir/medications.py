"""Medications: ketamine doses taken go to the diary, ketamine prescriptions to proposed
titration steps (see ``titration``), any other drug to a co-medication record.

- Ketamine is recognised by RxNorm 6130 or its name, in the medication, a contained or
  referenced Medication, or one of its ingredients.
- What FHIR allows to be absent is never a refusal (import-formats.md v2): a MedicationStatement
  of another drug without ``effective[x]`` or ``dateAsserted`` is a co-medication of unknown
  start; a Medication without a code is known by its text (``code.text``, the reference's
  ``display``, or its narrative). A ketamine statement without a time cannot be a dose on a
  day, and a medication named nowhere cannot be told from any other: both are counted as
  ignored with that reason.
- Version 3 ("FHIR, version 3"): a co-medication's start and end may be a year or a month alone
  (``2015-03``), kept as its first day with its precision and shown as "Mar 2015"; a
  MedicationRequest of another drug without any date is, like such a statement, a co-medication
  of unknown start. A ketamine dose still needs a day.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from dashboard import fields
from dashboard.ingest.fhir.patients import _subject
from dashboard.ingest.fhir.reading import _Resource
from dashboard.ingest.fhir.titration import _bounds, _dose_quantity, _titration_step
from dashboard.ingest.fhir.values import (
    RXNORM,
    _Bad,
    _Concept,
    _concept,
    _first_time,
    _get,
    _join,
    _mg,
    _objects,
    _When,
)
from dashboard.ingest.records import CoMedicationRecord
from dashboard.medications import KETAMINE_RXNORM, drug_class, names_ketamine

if TYPE_CHECKING:
    from dashboard.ingest.fhir.parse import _Reader

# FHIR R4 status codes of the medication resources we keep (the store keeps the status).
MEDICATION_STATUSES = {
    "MedicationRequest": {"active", "on-hold", "cancelled", "completed", "entered-in-error", "stopped", "draft",
                          "unknown"},
    "MedicationStatement": {"active", "completed", "entered-in-error", "intended", "stopped", "on-hold", "unknown",
                            "not-taken"},
}
DRUG_NAME_MAX = 300  # the store's column size


def _drug(reader: _Reader, res: dict) -> _Drug:
    concept = _concept(res, "medicationCodeableConcept", "")
    if concept is not None:
        return _drug_of(concept, [], "medicationCodeableConcept")
    reference = _get(res, "medicationReference", "object", "")
    if reference is None:
        raise _Bad("medicationCodeableConcept", None,
                   "no medication: medicationCodeableConcept or medicationReference is required")
    target = _get(reference, "reference", "str", "medicationReference")
    medication, prefix = None, f"medicationReference({target})"
    if target and target.startswith("#"):
        for contained, path in _objects(res, "contained", ""):
            if contained.get("id") == target[1:] and contained.get("resourceType") == "Medication":
                medication, prefix = contained, path
    elif target:
        found = reader.by_url.get(target)
        if found is not None and found.get("resourceType") == "Medication":
            medication = found
            reader.used_medications.add(id(found))
    display = _get(reference, "display", "str", "medicationReference")
    if medication is None:
        if display:
            return _drug_of(_Concept(display, []), [], "medicationReference.display")
        raise _Bad("medicationReference.reference", target, "the referenced Medication is not in the file")
    ingredients = []
    for ingredient, path in _objects(medication, "ingredient", prefix):
        item = _concept(ingredient, "itemCodeableConcept", path)
        if item is not None:
            ingredients.append(item)
    code = _concept(medication, "code", prefix) or _Concept(None, [])
    if not code.name() and not any(i.name() for i in ingredients):
        code = _Concept(display or _narrative(medication), [])
    return _drug_of(code, ingredients, _join(prefix, "code"))


def _narrative(resource: dict) -> str | None:
    """A resource's human-readable narrative (``text.div``) as plain text, tags removed."""
    div = (resource.get("text") or {}).get("div") if isinstance(resource.get("text"), dict) else None
    if not isinstance(div, str):
        return None
    words = re.sub(r"\s+", " ", re.sub(r"<[^>]*>", " ", div)).strip()
    return words or None


def _named_drug(reader: _Reader, body: dict) -> _Drug | None:
    try:
        return _drug(reader, body)
    except _Unnamed:
        reader.ignore(f"{body['resourceType']} of a medication named nowhere (no code, text or display)")
        return None


def _medication_request(reader: _Reader, res: _Resource) -> None:
    body = res.body
    if _get(body, "doNotPerform", "bool", ""):
        reader.ignore("MedicationRequest doNotPerform")
        return
    drug = _named_drug(reader, body)
    if drug is None:
        return
    patient = _subject(reader, body)
    dosages = _objects(body, "dosageInstruction", "")
    if drug.ketamine:
        reader.out.steps.append(_titration_step(body, res.where, patient, dosages, reader.today))
        return
    bounds = _bounds(dosages)
    start = _first_time(body, "authoredOn", partial=True) \
        or (bounds and _first_time(bounds[0], "start", base=bounds[1], partial=True)) \
        or _first_time(body, "dispenseRequest.validityPeriod.start", partial=True)
    end = bounds and _first_time(bounds[0], "end", base=bounds[1], partial=True)
    _co_medication(reader, res, drug, patient, start, end, dosages)


def _medication_statement(reader: _Reader, res: _Resource) -> None:
    body = res.body
    drug = _named_drug(reader, body)
    if drug is None:
        return
    patient = _subject(reader, body)
    dosages = _objects(body, "dosage", "")
    if drug.ketamine:
        timed = _first_time(body, "effectiveDateTime", "effectivePeriod.start")
        if timed is None:
            reader.ignore("MedicationStatement for ketamine without a time (no day to place a dose on)")
            return
        dose, path = _dose_quantity(dosages, "dosage")
        reader.add(patient, timed[0], res.where, [("dose_mg", dose, 1, path)])
        return
    start = _first_time(body, "effectiveDateTime", "effectivePeriod.start", "dateAsserted", partial=True)
    end = _first_time(body, "effectivePeriod.end", partial=True)
    _co_medication(reader, res, drug, patient, start, end, dosages)


def _co_medication(reader: _Reader, res: _Resource, drug: _Drug, patient: str, start: tuple[_When, str] | None,
                   end: tuple[_When, str] | None, dosages: list[tuple[dict, str]]) -> None:
    for timed in (start, end):
        if timed:
            timed[0].check(fields.PLAN, reader.today)  # a co-medication's dates, like a titration step's
    status = _get(res.body, "status", "str", "")
    if status is not None and status not in MEDICATION_STATUSES[res.body["resourceType"]]:
        raise _Bad("status", status, f"not a {res.body['resourceType']} status of FHIR R4")
    reader.out.comedications.append(CoMedicationRecord(
        patient_ref=patient, name=drug.name, start_date=start[0].local.date() if start else None, row=res.where, source="fhir",
        rxnorm=drug.rxnorm, drug_class=drug.drug_class, end_date=end[0].local.date() if end else None,
        status=status, dose_text=_dose_text(dosages), start_precision=start[0].precision if start else None,
        end_precision=end[0].precision if end else None))


def _medication_administration(reader: _Reader, res: _Resource) -> None:
    body = res.body
    drug = _drug(reader, body)
    if not drug.ketamine:
        reader.ignore("MedicationAdministration (not ketamine)")
        return
    timed = _first_time(body, "effectiveDateTime", "effectivePeriod.start")
    if timed is None:
        raise _Bad("effectiveDateTime", None,
                   "no time: a ketamine dose needs effectiveDateTime or effectivePeriod.start")
    dosage = _get(body, "dosage", "object", "") or {}
    dose = _get(dosage, "dose", "object", "dosage")
    if dose is None:
        raise _Bad("dosage.dose", None, "no dose: a ketamine administration needs dosage.dose in mg")
    items = [("dose_mg", _mg(dose, "dosage.dose"), 1, "dosage.dose.value")]
    reader.add(_subject(reader, body), timed[0], res.where, items)


class _Unnamed(_Bad):
    """A medication with no code, text or name anywhere: legal FHIR, but nothing to know it by."""


@dataclass
class _Drug:
    name: str
    rxnorm: str | None
    ketamine: bool
    drug_class: str | None


def _drug_of(concept: _Concept, ingredients: list[_Concept], path: str) -> _Drug:
    """RxNorm codes in files are mostly clinical drugs (SCD), not ingredients: the name carries
    most of the weight for drug_class, so ingredients' names count too."""
    name = concept.name()
    parts = [n for n in (i.name() for i in ingredients) if n]
    if name and parts and not all(p.lower() in name.lower() for p in parts):
        name = f"{name} ({' / '.join(parts)})"
    name = name or " / ".join(parts)
    if not name:
        raise _Unnamed(path, None, "the medication has no name or code")
    if len(name) > DRUG_NAME_MAX:
        name = name[: DRUG_NAME_MAX - 1] + "…"
    rxnorm = next((code for code in concept.codes({RXNORM}) if re.fullmatch(r"[0-9]{1,20}", code)), None)
    every = [concept, *ingredients]
    ketamine = any(KETAMINE_RXNORM in c.codes({RXNORM}) or any(names_ketamine(w) for w in c.words()) for c in every)
    found = drug_class(name, rxnorm) or next(
        (k for k in (drug_class(c.name(), next(iter(c.codes({RXNORM})), None)) for c in ingredients) if k), None)
    return _Drug(name, rxnorm, ketamine, found)


SCHEDULE_WORDS = {(1, 1, "d"): "once daily", (2, 1, "d"): "twice daily", (1, 2, "d"): "every other day"}


def _dose_text(dosages: list[tuple[dict, str]]) -> str | None:
    """The dosage as written, or a few words from its dose and schedule."""
    if not dosages:
        return None
    dosage, path = dosages[0]
    text = _get(dosage, "text", "str", path)
    if text:
        return text
    words = []
    for rate, rate_path in _objects(dosage, "doseAndRate", path):
        quantity = _get(rate, "doseQuantity", "object", rate_path)
        if quantity is not None:
            value = _get(quantity, "value", "number", f"{rate_path}.doseQuantity")
            unit = _get(quantity, "unit", "str", f"{rate_path}.doseQuantity") or ""
            if value is not None:
                words.append(f"{value:g} {unit}".strip())
            break
    timing = _get(dosage, "timing", "object", path) or {}
    repeat = _get(timing, "repeat", "object", f"{path}.timing") or {}
    here = f"{path}.timing.repeat"
    period = _get(repeat, "period", "number", here)
    if period is not None:
        count = _get(repeat, "frequency", "integer", here) or 1
        unit = _get(repeat, "periodUnit", "str", here) or ""
        words.append(SCHEDULE_WORDS.get((count, period, unit), f"{count} every {period:g} {unit}".strip()))
    if _get(dosage, "asNeededBoolean", "bool", path) or dosage.get("asNeededCodeableConcept") is not None:
        words.append("as needed")
    return " ".join(words) or None
