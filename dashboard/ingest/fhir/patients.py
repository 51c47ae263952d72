"""Whose data each resource is.

- The patient of a Patient resource is known by the clinic's identifier (import-formats.md v2):
  the ``identifier`` typed ``MR`` (medical record number, HL7 v2 table 0203), else the first
  identifier with a value; without one, its ``id``; without that, the uuid of its ``urn:uuid:``
  fullUrl. A server's resource id is no name the clinic knows the patient by. Other resources belong to the patient
  their ``subject`` names (``Patient/<id>``, or a fullUrl inside the bundle); a resource without
  a subject belongs to the file's only patient, else to the patient named at import.
- What the file says of its patient (import-formats.md v3, "The file's patient") travels with the
  ``PatientRecord``: name, birth date (a year alone as ``birth_year``), every identifier as
  (system, value), the resource id, and how the reference was found (``known_by``). A file
  without a Patient resource still names its patient in a subject's ``display`` ("Amy Shaw" in
  US Core's examples): that is the file's name for them.
"""

from __future__ import annotations

import re
from datetime import date
from typing import TYPE_CHECKING

from dashboard import patient_ref as patient_refs
from dashboard.ingest.fhir.reading import _Resource
from dashboard.ingest.fhir.values import _Bad, _get, _objects, _shown
from dashboard.ingest.records import (
    KNOWN_BY_IDENTIFIER,
    KNOWN_BY_NAMED,
    KNOWN_BY_RESOURCE_ID,
    FileRefused,
    PatientRecord,
)

if TYPE_CHECKING:
    from dashboard.ingest.fhir.parse import _Reader

PATIENT_NAME_MAX = 200  # the store's column size (patient.name)
IDENTIFIER_SYSTEM_MAX, IDENTIFIER_VALUE_MAX = 300, 200  # the store's column sizes (patient_identifier)
_PATIENT_REFERENCE = re.compile(r"(?:^|/)Patient/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]+)?")


def _patient(reader: _Reader, res: _Resource) -> None:
    ref, known_by = _patient_key(res)
    birth = _get(res.body, "birthDate", "str", "")
    year = born = None
    if birth is not None:
        match = re.fullmatch(r"([0-9]{4})(-[0-9]{2}(-[0-9]{2})?)?", birth)
        try:
            if not match:
                raise ValueError
            if match.group(3):
                born = date.fromisoformat(birth)
        except ValueError:
            raise _Bad("birthDate", birth, "not a FHIR date (YYYY, YYYY-MM or YYYY-MM-DD)") from None
        year = int(match.group(1))
    name = _patient_name(res.body)
    identifiers = _identifiers(res.body)
    reader.named.add(ref)
    if all(p.ref != ref for p in reader.out.patients):
        ident = res.body.get("id")
        reader.out.patients.append(PatientRecord(
            ref=ref, name=name, birth_year=year, birth_date=born, identifiers=identifiers, known_by=known_by,
            resource_id=f"Patient/{ident}" if isinstance(ident, str) and ident else res.full_url))


def _identifiers(body: dict) -> list[tuple[str, str]]:
    """Every identifier with a value, as (system, value); '' for an identifier without a system."""
    found = []
    for identifier, path in _objects(body, "identifier", ""):
        value = _get(identifier, "value", "str", path)
        if not value or not value.strip():
            continue
        system = (_get(identifier, "system", "str", path) or "").strip()
        if len(system) > IDENTIFIER_SYSTEM_MAX:
            raise _Bad(f"{path}.system", system, f"an identifier's system has at most {IDENTIFIER_SYSTEM_MAX} characters")
        if len(value.strip()) > IDENTIFIER_VALUE_MAX:
            raise _Bad(f"{path}.value", value, f"an identifier has at most {IDENTIFIER_VALUE_MAX} characters")
        if (system, value.strip()) not in found:
            found.append((system, value.strip()))
    return found


def _patient_ref(res: _Resource) -> str:
    return _patient_key(res)[0]


def _patient_key(res: _Resource) -> tuple[str, str]:
    """The patient's reference and how it was found (an identifier, or a resource id alone)."""
    identifiers = []
    for identifier, path in _objects(res.body, "identifier", ""):
        value = _get(identifier, "value", "str", path)
        if value and value.strip():
            kind = _get(identifier, "type", "object", path) or {}
            codes = [_get(c, "code", "str", p) for c, p in _objects(kind, "coding", f"{path}.type")]
            identifiers.append(("MR" not in codes, value.strip(), f"{path}.value"))
    if identifiers:
        _, value, path = min(identifiers, key=lambda i: i[0])  # an MR first, else the first (min is stable)
        return _bounded_ref(value, path), KNOWN_BY_IDENTIFIER
    ident = res.body.get("id")
    if ident:
        return _bounded_ref(ident, "id"), KNOWN_BY_RESOURCE_ID
    if res.full_url and res.full_url.startswith("urn:uuid:") and len(res.full_url) > 9:
        return _bounded_ref(res.full_url[9:], "fullUrl"), KNOWN_BY_RESOURCE_ID
    raise _Bad("id", None, "the Patient has no id, identifier or urn:uuid fullUrl to know it by")


def _bounded_ref(ref: str, path: str) -> str:
    """The reference as ``dashboard.patient_ref`` reads it, or refused at ``path``."""
    try:
        return patient_refs.normalise(ref)
    except patient_refs.RefusedRef as exc:
        raise _Bad(path, ref, str(exc)) from None


def _patient_name(body: dict) -> str | None:
    names = _objects(body, "name", "")
    if not names:
        return None
    order = {"official": 0, "usual": 1}
    name, path = min(names, key=lambda n: order.get(_get(n[0], "use", "str", n[1]), 2))
    given = name.get("given") or []
    if not isinstance(given, list) or not all(isinstance(g, str) for g in given):
        raise _Bad(f"{path}.given", given, "given names are an array of text")
    family = _get(name, "family", "str", path)
    text = " ".join([*given, family or ""]).strip() or _get(name, "text", "str", path)
    if text and len(text) > PATIENT_NAME_MAX:
        raise _Bad(path, text, f"a name has at most {PATIENT_NAME_MAX} characters")
    return text


def _subject(reader: _Reader, res: dict) -> str:
    """Whose data this is: the Patient the subject names (see the module docstring)."""
    subject = _get(res, "subject", "object", "")
    if subject is None:
        if reader.patient_ref:
            return reader.patient_ref
        refs = set(reader.patients.values())
        if len(refs) == 1:
            return refs.pop()
        raise _Bad("subject", None, "no subject, and the file does not hold exactly one Patient")
    reference = _get(subject, "reference", "str", "subject")
    display = _get(subject, "display", "str", "subject")
    display = display.strip()[:PATIENT_NAME_MAX] if display and display.strip() else None
    if reference is None:
        identifier = _get(subject, "identifier", "object", "subject") or {}
        value = _get(identifier, "value", "str", "subject.identifier")
        if not value:
            raise _Bad("subject.reference", None, "the subject names no patient")
        ref = value
        seen = PatientRecord(ref="", name=display, identifiers=_identifiers({"identifier": [identifier]}),
                             known_by=KNOWN_BY_IDENTIFIER)
    elif reference in reader.patients:
        ref, seen = reader.patients[reference], None
    elif reference.startswith("urn:"):
        raise _Bad("subject.reference", reference, "no Patient in this file has this fullUrl")
    else:
        match = _PATIENT_REFERENCE.search(reference)
        if not match or match.end() != len(reference):
            raise _Bad("subject.reference", reference, "the subject is not a Patient")
        ref = reader.patients.get(f"Patient/{match.group(1)}", match.group(1))
        seen = None if f"Patient/{match.group(1)}" in reader.patients else PatientRecord(
            ref="", name=display, resource_id=f"Patient/{match.group(1)}", known_by=KNOWN_BY_RESOURCE_ID)
    ref = _bounded_ref(ref, "subject")
    reader.named.add(ref)
    if seen is not None:
        seen.ref = ref
        reader.subjects.setdefault(ref, seen)  # the first subject naming a patient the file has no Patient for
    return reader.patient_ref or ref


def _subject_patients(reader: _Reader) -> None:
    """A patient the file names only in subjects (no Patient resource) is still a patient of the
    file, as the subjects name them: the resource id and the ``display`` (the file's name for them)."""
    used = {rec.patient_ref for group in (reader.out.diary, reader.out.steps, reader.out.visits,
                                          reader.out.comedications, reader.out.measures) for rec in group}
    have = {p.ref for p in reader.out.patients}
    for ref, seen in reader.subjects.items():
        if ref not in have and (reader.patient_ref or ref) in used:
            reader.out.patients.append(seen)
            have.add(ref)


def _apply_patient_ref(reader: _Reader) -> None:
    """A patient named at import takes all the data of a single-patient file."""
    if not reader.patient_ref:
        return
    if len(reader.named) > 1:
        names = ", ".join(sorted(reader.named))
        raise FileRefused(reader.out.file_name,
                          f"the file holds several patients ({names}); a patient named at import "
                          "applies only to a file of one patient", row=1, column="subject", value=_shown(names))
    for group in (reader.out.patients, reader.out.diary, reader.out.steps, reader.out.visits, reader.out.comedications,
                  reader.out.measures):
        for rec in group:
            if isinstance(rec, PatientRecord):
                rec.ref, rec.known_by = reader.patient_ref, KNOWN_BY_NAMED
            else:
                rec.patient_ref = reader.patient_ref
    reader.out.patients = reader.out.patients[:1]
