"""A patient as a FHIR R4 Bundle (type ``collection``): what the clinic holds, for a health
record or another clinic, in codes that ``dashboard.ingest.fhir`` reads back.

- Pain 72514-3, blood pressure panels 85354-9 (8480-6 / 8462-4, mm[Hg]), PEG items (75893-8,
  91145-3, 91146-1; a 91147-9 panel only where the diary stored the PEG score itself, so that
  importing it never adds a mean the diary did not have), ketamine doses as
  MedicationAdministrations (RxNorm 6130, mg), titration steps as MedicationRequests, other
  medication as MedicationStatements, visits as Encounters, the condition as a Condition.
- What no public code system names (sleep, mood, function, worst pain, side-effect grades,
  the diary's texts, visit kinds) uses ``dashboard_codes``; the patient's notes are
  ``Observation.note`` text, never markup.
- Stable ids: every resource's id is a uuid5 of the patient reference and the row's natural
  key (an entry's local time, a step's start and route, a visit's date and kind, ...), never
  a database id, so exporting twice gives the same bytes except ``Bundle.timestamp``, and an
  entry added later leaves every other id as it was.
- A diary dose of 0 mg (the patient wrote that no troche was taken) is a MedicationAdministration
  with status ``not-done``; FHIR has no 0 mg dose taken.
"""

from __future__ import annotations

import json
import re
import uuid
from datetime import date, datetime, timezone

import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from dashboard.db import queries
from dashboard.db.models import SIDE_EFFECTS, DiaryEntry, Measure
from dashboard.ingest.export import UnknownPatient, format_timestamp
from dashboard.ingest.fhir import dashboard_codes as codes
from dashboard.ingest.fhir.observations import (
    BP_PANEL, DIASTOLIC, PAIN_NRS, PEG_ACTIVITY, PEG_ENJOYMENT, PEG_MEAN, PEG_PAIN, SYSTOLIC,
)
from dashboard.ingest.fhir.values import RXNORM
from dashboard.medications import KETAMINE_RXNORM

LOINC, UCUM, SNOMED = "http://loinc.org", "http://unitsofmeasure.org", "http://snomed.info/sct"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
NAMESPACE = uuid.UUID("5f0c1f8e-3a52-5b8e-9c1d-6b2f7d0e4a11")  # ours; never change it, ids derive from it
FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")
LOINC_NAMES = {
    PAIN_NRS: "Pain severity - 0-10 verbal numeric rating [Score] - Reported",
    BP_PANEL: "Blood pressure panel with all children optional",
    SYSTOLIC: "Systolic blood pressure", DIASTOLIC: "Diastolic blood pressure",
    PEG_MEAN: "PEG 3 item pain scale [Score]", PEG_PAIN: "Pain average past week [Score]",
    PEG_ENJOYMENT: "Pain interference with enjoyment of life past week [Score]",
    PEG_ACTIVITY: "Pain interference with general activity past week [Score]",
}
PEG_ITEMS = (("peg_pain", PEG_PAIN), ("enjoyment_interference", PEG_ENJOYMENT), ("activity_interference", PEG_ACTIVITY))
# The clinic's routes to SNOMED CT route codes the importer maps back (titration.ROUTE_CODES).
ROUTES = {"troche": ("54471007", "Buccal route"), "IV": ("47625008", "Intravenous route"),
          "IM": ("78421000", "Intramuscular route"), "intranasal": ("46713006", "Nasal route")}
# The clinic's frequencies (import-formats.md section 5) to timing.repeat.
SCHEDULES = {"daily": (1, 1, "d"), "twice daily": (2, 1, "d"), "every other day": (1, 2, "d")}
KETAMINE = {"coding": [{"system": RXNORM, "code": KETAMINE_RXNORM, "display": "ketamine"}], "text": "ketamine"}


def export_patient_fhir(session: Session, patient_ref: str, *, now: datetime | None = None) -> str:
    """The patient as a FHIR R4 Bundle, JSON text (write it as UTF-8).

    Access is the caller's check (``dashboard.usecases.exports``).
    ``now`` is the Bundle's timestamp, the only part that changes between two exports.
    """
    patient = queries.patient_by_ref(session, patient_ref)
    if patient is None:
        raise UnknownPatient(patient_ref)
    bundle = _Bundle(patient.ref)
    bundle.add("Patient", "patient", _patient(patient))
    if patient.condition:
        bundle.add("Condition", "condition", _condition(patient.condition, bundle.subject))
    dated_only = set(session.scalars(
        select(DiaryEntry.id).where(DiaryEntry.patient_id == patient.id, DiaryEntry.has_time.is_(False))))
    grades = _grades(queries.side_effects_frame(session, patient.id))
    for entry in queries.diary_frame(session, patient.id).to_dict("records"):
        entry_id = int(entry["entry_id"])
        _diary_entry(bundle, entry, entry_id not in dated_only, grades.get(entry_id, {}))
    for step in queries.titration_frame(session, patient.id, include_proposed=True).to_dict("records"):
        if step["status"] in ("active", "proposed"):
            bundle.add("MedicationRequest", f"step|{step['start_date']:%Y-%m-%d}|{step['route']}|{step['status']}",
                       _medication_request(step, bundle.subject))
    stamp = (now or datetime.now(timezone.utc)).astimezone(timezone.utc)
    for visit in queries.visits_frame(session, patient.id).to_dict("records"):
        bundle.add("Encounter", f"visit|{visit['date']:%Y-%m-%d}|{visit['kind']}",
                   _encounter(visit, bundle.subject, stamp.date()))
    for measure in session.scalars(select(Measure).where(Measure.patient_id == patient.id)
                                   .order_by(Measure.recorded_at, Measure.system, Measure.code)):
        bundle.add("Observation", f"measure|{measure.system}|{measure.code}|{measure.recorded_at.isoformat()}",
                   _measure(measure, bundle.subject))
    for med in queries.comedications_frame(session, patient.id).to_dict("records"):
        bundle.add("MedicationStatement", f"comedication|{med['name']}|{med['start_date']:%Y-%m-%d}|{med['source']}",
                   _medication_statement(med, bundle.subject))
    return bundle.json(stamp.strftime("%Y-%m-%dT%H:%M:%SZ"))


class _Bundle:
    def __init__(self, ref: str):
        self.ref = ref
        self.entries: list[dict] = []
        self.subject = {"reference": f"urn:uuid:{self.uuid('patient')}"}

    def uuid(self, key: str) -> str:
        return str(uuid.uuid5(NAMESPACE, f"{self.ref}\x1f{key}"))

    def add(self, kind: str, key: str, body: dict) -> None:
        ident = self.uuid(key)
        resource = {"resourceType": kind, "id": ident, **body}
        if kind == "Patient":
            # The importer knows a patient by its id, so the id is the clinic's reference; a reference
            # FHIR cannot carry as an id (spaces, underscores, ...) travels as the identifier alone.
            resource = {"resourceType": kind, "id": self.ref, **body} if FHIR_ID.fullmatch(self.ref) \
                else {"resourceType": kind, **body}
        self.entries.append({"fullUrl": f"urn:uuid:{ident}", "resource": resource})

    def json(self, timestamp: str) -> str:
        bundle = {"resourceType": "Bundle", "id": self.uuid("bundle"), "type": "collection",
                  "timestamp": timestamp, "entry": self.entries}
        return json.dumps(bundle, ensure_ascii=False, separators=(",", ":")) + "\n"


def _patient(patient) -> dict:
    body: dict = {"identifier": [{"system": codes.PATIENT_REF_SYSTEM, "value": patient.ref}]}
    if patient.name:
        body["name"] = [{"text": patient.name}]
    if patient.birth_date:
        body["birthDate"] = patient.birth_date.isoformat()
    elif patient.birth_year:
        body["birthDate"] = f"{patient.birth_year:04d}"
    return body


def _condition(condition: str, subject: dict) -> dict:
    return {"clinicalStatus": {"coding": [{"system": CONDITION_CLINICAL, "code": "active"}]},
            "category": [{"coding": [{"system": codes.CONDITION_CATEGORY_SYSTEM, "code": codes.INDICATION,
                                      "display": "Condition ketamine is prescribed for"}]}],
            "code": {"text": condition}, "subject": subject}


def _grades(effects: pd.DataFrame) -> dict[int, dict[str, int]]:
    grades: dict[int, dict[str, int]] = {}
    for entry_id, name, grade in zip(effects["entry_id"], effects["effect"], effects["severity"]):
        grades.setdefault(int(entry_id), {})[str(name)] = int(grade)
    return grades


def _effective(entry: dict, has_time: bool) -> dict:
    """effectiveDateTime as the diary stored it; a time without its offset as the date plus our extension."""
    recorded = entry["recorded_at"].to_pydatetime()
    offset = None if pd.isna(entry["utc_offset_minutes"]) else int(entry["utc_offset_minutes"])
    if has_time and offset is None:
        return {"effectiveDateTime": recorded.date().isoformat(),
                "_effectiveDateTime": {"extension": [{"url": codes.LOCAL_TIME_URL,
                                                      "valueTime": recorded.time().isoformat()}]}}
    return {"effectiveDateTime": format_timestamp(recorded, offset, has_time)}


def _loinc(code: str) -> dict:
    return {"coding": [{"system": LOINC, "code": code, "display": LOINC_NAMES[code]}]}


def _category(code: str) -> list[dict]:
    return [{"coding": [{"system": OBSERVATION_CATEGORY, "code": code}]}]


def _score(value: float) -> dict:
    return {"valueQuantity": {"value": float(value), "unit": "{score}", "system": UCUM, "code": "{score}"}}


def _present(entry: dict, name: str) -> bool:
    return not pd.isna(entry[name])


def _diary_entry(bundle: _Bundle, entry: dict, has_time: bool, grades: dict[str, int]) -> None:
    """One diary entry's resources, all at the entry's time (the importer merges them back into one)."""
    when = _effective(entry, has_time)
    key = entry["recorded_at"].to_pydatetime().isoformat()
    base = {"status": "final", "subject": bundle.subject}
    if _present(entry, "pain"):
        bundle.add("Observation", f"{key}|pain", {**base, "category": _category("survey"), "code": _loinc(PAIN_NRS),
                                                   **when, **_score(entry["pain"])})
    if _present(entry, "bp_systolic") and _present(entry, "bp_diastolic"):
        components = [{"code": _loinc(code), "valueQuantity": {"value": float(entry[name]), "unit": "mm[Hg]",
                                                               "system": UCUM, "code": "mm[Hg]"}}
                      for name, code in (("bp_systolic", SYSTOLIC), ("bp_diastolic", DIASTOLIC))]
        bundle.add("Observation", f"{key}|bp", {**base, "category": _category("vital-signs"), "code": _loinc(BP_PANEL),
                                                 **when, "component": components})
    _peg(bundle, entry, key, base, when)
    _other_measures(bundle, entry, key, base, when, grades)
    if _present(entry, "dose_mg"):
        dose = _administration(float(entry["dose_mg"]), bundle.subject, when)
        bundle.add("MedicationAdministration", f"{key}|dose", dose)


def _peg(bundle: _Bundle, entry: dict, key: str, base: dict, when: dict) -> None:
    items = [(name, code) for name, code in PEG_ITEMS if _present(entry, name)]
    if _present(entry, "peg"):
        components = [{"code": _loinc(code), **_score(entry[name])} for name, code in items]
        body = {**base, "category": _category("survey"), "code": _loinc(PEG_MEAN), **when, **_score(entry["peg"])}
        bundle.add("Observation", f"{key}|peg", {**body, **({"component": components} if components else {})})
        return
    for name, code in items:
        bundle.add("Observation", f"{key}|{name}", {**base, "category": _category("survey"), "code": _loinc(code),
                                                     **when, **_score(entry[name])})


def _other_measures(bundle: _Bundle, entry: dict, key: str, base: dict, when: dict, grades: dict[str, int]) -> None:
    """Sleep, mood, function, worst pain, side effects, other medication and notes in one Observation."""
    components = []
    for name, display in codes.DIARY_SCORES.items():
        if _present(entry, name):
            components.append({"code": _diary_code(name, display), **_score(entry[name])})
    for name in SIDE_EFFECTS:
        if name in grades:
            components.append({"code": _diary_code(name, codes.DIARY_GRADES[name]), "valueInteger": grades[name]})
    for name, display in codes.DIARY_TEXTS.items():
        if _present(entry, name):
            components.append({"code": _diary_code(name, display), "valueString": str(entry[name])})
    notes = entry["notes"] if _present(entry, "notes") else None
    if not components and notes is None:
        return
    body = {**base, "category": _category("survey"),
            "code": {"coding": [{"system": codes.DIARY_SYSTEM, "code": codes.DIARY_ENTRY, "display": "Diary entry"}]},
            **when}
    if notes is not None:
        body["note"] = [{"text": str(notes)}]
    if components:
        body["component"] = components
    bundle.add("Observation", f"{key}|diary", body)


def _measure(measure: Measure, subject: dict) -> dict:
    """An instrument's answer or another coded observation, with the code and the answer it came
    with (import-formats.md v2, section 3): a scored answer as the answer's code and words, a
    number as a Quantity (its unit) or an integer, anything else as the text it was written as."""
    body: dict = {"status": "final", "subject": subject,
                  "code": {"coding": [{"system": measure.system, "code": measure.code, "display": measure.name}],
                           "text": measure.name}}
    if measure.instrument in ("liver", "urinalysis"):
        body["category"] = _category("laboratory")
        bounds = {key: {"value": value, **({"unit": measure.unit} if measure.unit else {})}
                  for key, value in (("low", measure.reference_low), ("high", measure.reference_high))
                  if value is not None}
        if bounds:
            body["referenceRange"] = [bounds]
    elif measure.instrument != "other":
        body["category"] = _category("survey")
    body.update(_effective({"recorded_at": pd.Timestamp(measure.recorded_at),
                            "utc_offset_minutes": measure.utc_offset_minutes}, measure.has_time))
    if measure.answer_code is not None or (measure.answer_text is not None and measure.answer_position is not None):
        concept: dict = {"text": measure.answer_text} if measure.answer_text else {}
        if measure.answer_code is not None:
            concept["coding"] = [{"system": LOINC, "code": measure.answer_code,
                                  **({"display": measure.answer_text} if measure.answer_text else {})}]
        body["valueCodeableConcept"] = concept
    elif measure.answer_text is not None:
        body["valueString"] = measure.answer_text
    elif measure.unit:
        body["valueQuantity"] = {"value": measure.value, "unit": measure.unit}
    elif float(measure.value).is_integer():
        body["valueInteger"] = int(measure.value)
    else:
        body["valueQuantity"] = {"value": measure.value}
    return body


def _diary_code(name: str, display: str) -> dict:
    return {"coding": [{"system": codes.DIARY_SYSTEM, "code": name, "display": display}]}


def _mg(value: float) -> dict:
    return {"value": value, "unit": "mg", "system": UCUM, "code": "mg"}


def _administration(dose: float, subject: dict, when: dict) -> dict:
    body = {"status": "completed" if dose > 0 else "not-done", "medicationCodeableConcept": KETAMINE,
            "subject": subject, **when}
    if dose > 0:
        body["dosage"] = {"dose": _mg(dose)}
    return body


def _day(value) -> str | None:
    if value is None or pd.isna(value):
        return None
    return (value.date() if isinstance(value, (pd.Timestamp, datetime)) else value).isoformat()


def _at_precision(value, precision) -> str | None:
    """A date as FHIR writes it at its precision: '2015-03' (month), '2015' (year), else the day."""
    day = _day(value)
    if day is None or not isinstance(precision, str):
        return day
    return {"month": day[:7], "year": day[:4]}.get(precision, day)


def _medication_request(step: dict, subject: dict) -> dict:
    """A titration step: the dose, the schedule, the route and the maximum per day."""
    start, end = _day(step["start_date"]), _day(step["end_date"])
    repeat: dict = {"boundsPeriod": {"start": start, **({"end": end} if end else {})}}
    dosage: dict = {"timing": {"repeat": repeat}}
    frequency = str(step["frequency"])
    weekly = re.fullmatch(r"([0-9]+) per week", frequency)
    if frequency in SCHEDULES:
        count, period, unit = SCHEDULES[frequency]
        repeat.update(frequency=count, period=period, periodUnit=unit)
    elif weekly:
        repeat.update(frequency=int(weekly.group(1)), period=1, periodUnit="wk")
    elif frequency == "as needed":
        dosage["asNeededBoolean"] = True
    code, display = ROUTES.get(str(step["route"]), ROUTES["troche"])
    dosage["route"] = {"coding": [{"system": SNOMED, "code": code, "display": display}], "text": str(step["route"])}
    dosage["doseAndRate"] = [{"doseQuantity": _mg(float(step["dose_mg"]))}]
    if not pd.isna(step["max_per_day"]):
        dosage["maxDosePerPeriod"] = {"numerator": {"value": float(step["max_per_day"]), "unit": "doses",
                                                    "system": UCUM, "code": "{dose}"},
                                      "denominator": {"value": 1, "unit": "day", "system": UCUM, "code": "d"}}
    body = {"status": "active", "intent": "order" if step["status"] == "active" else "proposal",
            "medicationCodeableConcept": KETAMINE, "subject": subject, "authoredOn": start,
            "dosageInstruction": [dosage]}
    if not pd.isna(step["note"]) and step["note"]:
        body["note"] = [{"text": str(step["note"])}]
    return body


def _encounter(visit: dict, subject: dict, today: date) -> dict:
    kind = str(visit["kind"])
    day = _day(visit["date"])
    # The clinic's record says whether the visit happened (held) or is booked, whatever its date:
    # a booked visit whose day has passed is overdue, and stays so after the trip.
    status = visit.get("status") if isinstance(visit.get("status"), str) else None
    body = {"status": {"booked": "planned", "held": "finished"}.get(status) or (
                "finished" if day <= today.isoformat() else "planned"),
            "class": {"system": ACT_CODE, "code": "VR" if kind == "telehealth" else "AMB",
                      "display": "virtual" if kind == "telehealth" else "ambulatory"},
            "type": [{"coding": [{"system": codes.VISIT_KIND_SYSTEM, "code": codes.VISIT_KINDS.get(kind, kind),
                                  "display": kind}]}],
            "subject": subject, "period": {"start": day}}
    if not pd.isna(visit["note"]) and visit["note"]:
        body["extension"] = [{"url": codes.VISIT_NOTE_URL, "valueString": str(visit["note"])}]
    return body


def _medication_statement(med: dict, subject: dict) -> dict:
    concept: dict = {"text": str(med["name"])}
    if not pd.isna(med["rxnorm"]) and med["rxnorm"]:
        concept["coding"] = [{"system": RXNORM, "code": str(med["rxnorm"])}]
    # A partial date goes out as it came in ("2015-03"), never as a made-up first day.
    period = {"start": _at_precision(med["start_date"], med.get("start_precision"))}
    if _day(med["end_date"]):
        period["end"] = _at_precision(med["end_date"], med.get("end_precision"))
    body = {"status": str(med["status"]) if not pd.isna(med["status"]) and med["status"] else "unknown",
            "medicationCodeableConcept": concept, "subject": subject, "effectivePeriod": period}
    if not pd.isna(med["dose_text"]) and med["dose_text"]:
        body["dosage"] = [{"text": str(med["dose_text"])}]
    return body
